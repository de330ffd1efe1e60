import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mmgen_jax import parallel
from mmgen_jax.config import apply_overrides
from mmgen_jax.layers.pixels import to_float
from mmgen_jax.layers.updown import UPSAMPLE_METHODS, depth_to_space
from mmgen_jax.models import dcgan
from mmgen_jax.train import trainer


def _batch(config, n=None):
  n = n or config.data.batch_size
  rng = np.random.default_rng(0)
  return {"image": rng.integers(0, 256, (n, 32, 32, 1), dtype=np.uint8), "label": np.zeros(n, np.int64)}


@pytest.mark.parametrize("method,resolution", [(m, 16) for m in UPSAMPLE_METHODS] + [("pixel_shuffle", 64)])
def test_generator_and_discriminator_shapes(method, resolution):
  g = dcgan.Generator(resolution=resolution, channels=3, width=8, upsample=method)
  d = dcgan.Discriminator(resolution=resolution, width=8, norm="spectral")

  @jax.jit  # One compilation instead of hundreds of eager ops.
  def run(z):
    images = g.apply(g.init(jax.random.PRNGKey(0), z, train=False), z, train=False)
    return images, d.apply(d.init(jax.random.PRNGKey(1), images, train=False), images, train=False)

  images, logits = run(jnp.ones((2, 5)))
  assert images.shape == (2, resolution, resolution, 3)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  assert logits.shape == (2,)


def test_depth_to_space_matches_definition():
  x = np.arange(2 * 3 * 3 * 8).reshape(2, 3, 3, 8).astype(np.float32)
  y = np.asarray(depth_to_space(jnp.asarray(x)))
  # Output pixel (2i+a, 2j+b), channel c comes from input (i, j), channel (a*2 + b)*C + c.
  for a in range(2):
    for b in range(2):
      np.testing.assert_array_equal(y[:, a::2, b::2, :], x[..., (a * 2 + b) * 2:(a * 2 + b) * 2 + 2])


def test_generator_inside_users_own_jax_code_under_vmap_and_grad():
  """The zoo module is a plain linen module: no mmgen_jax machinery around it."""
  g = dcgan.Generator(resolution=16, channels=1, width=8, norm="layer")
  params = jax.jit(lambda rng: g.init(rng, jnp.zeros((1, 4)), train=False))(jax.random.PRNGKey(0))

  def mean_brightness(params, z):  # z [4] -> scalar
    return jnp.mean(g.apply(params, z[None], train=False))

  zs = jax.random.normal(jax.random.PRNGKey(1), (6, 4))
  per_z = jax.jit(jax.vmap(mean_brightness, in_axes=(None, 0)))(params, zs)
  assert per_z.shape == (6,)
  grads = jax.jit(jax.grad(lambda p: jnp.sum(jax.vmap(mean_brightness, in_axes=(None, 0))(p, zs))))(params)
  norms = [float(jnp.linalg.norm(x)) for x in jax.tree.leaves(grads)]
  assert all(np.isfinite(norms)) and sum(n > 0 for n in norms) == len(norms)


@pytest.mark.parametrize("loss,d_norm", [("ns", "batch"), ("hinge", "none"), ("ls", "spectral"),
                                         ("wgan-gp", "layer")])
def test_train_step_updates_both_players_and_ema(smoke_config, loss, d_norm):
  config = apply_overrides(smoke_config, [f"loss.name={loss}", f"model.d_norm={d_norm}", "ema.start_step=0"])
  mesh = parallel.make_mesh(jax.devices()[:1])
  init, _ = trainer.build_state(dcgan, config, mesh)
  state0 = init()
  before = jax.device_get(state0)
  step = trainer.make_train_step(dcgan, config, mesh)
  state, metrics = step(state0, parallel.to_global(_batch(config), mesh))
  after = jax.device_get(state)
  assert int(after.step) == 1
  assert all(np.isfinite(float(v)) for v in metrics.values())
  changed = lambda a, b: any(not np.allclose(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
  assert changed(before.g_params, after.g_params) and changed(before.d_params, after.d_params)
  # EMA with decay 0.999 moved 0.1% of the way from the old params to the new ones.
  g0, g1, e1 = (jax.tree.leaves(t)[0] for t in (before.g_params, after.g_params, after.g_ema_params))
  np.testing.assert_allclose(e1, 0.999 * g0 + 0.001 * g1, rtol=1e-5, atol=1e-7)


def test_d_step_gradients_touch_only_d(smoke_config):
  """The D loss must not depend on G's params (fakes are stop-gradient'ed), and vice versa for the G update."""
  config = smoke_config
  state = trainer.build_state(dcgan, config, parallel.make_mesh(jax.devices()[:1]))[0]()
  g = dcgan.make_generator(config)
  d = dcgan.make_discriminator(config)
  z = jax.random.normal(jax.random.PRNGKey(0), (4, config.model.z_dim))
  real = to_float(_batch(config, 4)["image"])

  def d_loss(g_params, d_params):
    fake = jax.lax.stop_gradient(g.apply({"params": g_params, **state.g_model_state}, z, train=False))
    dv = {"params": d_params, **state.d_model_state}
    return jnp.mean(d.apply(dv, fake, train=False)) - jnp.mean(d.apply(dv, real, train=False))

  gg, dg = jax.jit(jax.grad(d_loss, argnums=(0, 1)))(state.g_params, state.d_params)
  assert all(float(jnp.abs(x).max()) == 0 for x in jax.tree.leaves(gg))
  assert any(float(jnp.abs(x).max()) > 0 for x in jax.tree.leaves(dg))


def test_sampler_is_deterministic_uint8(smoke_config):
  state = trainer.build_state(dcgan, smoke_config, parallel.make_mesh(jax.devices()[:1]))[0]()
  sample = jax.jit(functools.partial(dcgan.sample, smoke_config), static_argnums=2)
  a = sample(state.ema_variables(), jax.random.PRNGKey(3), 5)["images"]
  b = sample(state.ema_variables(), jax.random.PRNGKey(3), 5)["images"]
  assert a.shape == (5, 32, 32, 1) and a.dtype == jnp.uint8
  np.testing.assert_array_equal(a, b)
