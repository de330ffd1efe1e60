import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mmgen_jax.train import losses


@pytest.mark.parametrize("name", losses.GAN_LOSSES)
def test_discriminator_loss_prefers_correct_logits(name):
  good = losses.discriminator_loss(name, jnp.full(8, 1.0), jnp.full(8, -1.0))
  bad = losses.discriminator_loss(name, jnp.full(8, -1.0), jnp.full(8, 1.0))
  assert good < bad
  # G wants D to call its samples real: higher fake logits lower G's loss.
  assert losses.generator_loss(name, jnp.full(8, 1.0)) < losses.generator_loss(name, jnp.full(8, -1.0))


def test_known_values():
  r, f = jnp.array([2.0, 0.5]), jnp.array([-0.5, 0.0])
  np.testing.assert_allclose(losses.discriminator_loss("hinge", r, f), np.mean([0, 0.5]) + np.mean([0.5, 1.0]))
  np.testing.assert_allclose(losses.discriminator_loss("ns", r, f),
                             np.mean(np.log1p(np.exp(-np.array(r)))) + np.mean(np.log1p(np.exp(np.array(f)))),
                             rtol=1e-6)
  np.testing.assert_allclose(losses.discriminator_loss("ls", r, f), 0.5 * (np.mean([1.0, 0.25]) + np.mean([0.25, 0])))


def test_gradient_penalty_of_linear_critic_is_analytic():
  w = jnp.array([3.0, 4.0])  # ||w|| = 5 everywhere, so the penalty is (5 - 1)^2 = 16 for any interpolate.
  critic = lambda x: x @ w
  real, fake = jax.random.normal(jax.random.PRNGKey(0), (2, 16, 2))
  np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, jax.random.PRNGKey(1)), 16.0, rtol=1e-5)


def test_interleave_pairs_each_real_with_its_fake_and_splits_back():
  from mmgen_jax.train.gan_step import deinterleave, interleave
  real, fake = jnp.arange(6.0).reshape(3, 2), -jnp.arange(6.0).reshape(3, 2) - 1
  both = interleave(real, fake)
  np.testing.assert_array_equal(both[:, 0], [0, -1, 2, -3, 4, -5])
  back = deinterleave(both)
  np.testing.assert_array_equal(back[0], real)
  np.testing.assert_array_equal(back[1], fake)
