"""VAE / IWAE / CAE: likelihoods against scipy, bounds ordering, NLL in k, reconstruction of CAE vs VAE."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from conftest import init_state
from mmgen_jax.config import get_config
from mmgen_jax.data import split_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers import likelihoods
from mmgen_jax.metrics import likelihood as bounds
from mmgen_jax.metrics.batched import batched_sample
from mmgen_jax.models import cae, vae


def test_discretized_logistic_is_a_distribution_over_256_levels():
  levels = jnp.arange(256, dtype=jnp.uint8)
  for mean, log_scale in [(0.0, -2.0), (0.9, -4.0), (-1.2, 0.5), (0.3, -7.0)]:
    lp = likelihoods.discretized_logistic_log_prob(jnp.full(256, mean), jnp.full(256, log_scale), levels)
    np.testing.assert_allclose(jnp.exp(lp).sum(), 1.0, rtol=2e-3)


def test_gaussian_and_bernoulli_match_scipy():
  x, mean, log_scale = np.asarray([-0.5, 0.1, 0.9]), np.asarray([0.0, 0.2, -0.3]), np.asarray([-1.0, 0.0, 0.5])
  np.testing.assert_allclose(likelihoods.gaussian_log_prob(mean, log_scale, x),
                             scipy.stats.norm.logpdf(x, mean, np.exp(log_scale)), rtol=1e-5)
  logits, bits = np.asarray([-3.0, 0.0, 2.5, 10.0]), np.asarray([1.0, 0.0, 1.0, 0.0])
  np.testing.assert_allclose(likelihoods.bernoulli_log_prob(logits, bits),
                             scipy.stats.bernoulli.logpmf(bits, 1 / (1 + np.exp(-logits))), rtol=1e-5)
  # Where float64 probabilities round to 1 (scipy gives -inf), the logit form stays exact: log(1 - sigmoid(40)).
  np.testing.assert_allclose(likelihoods.bernoulli_log_prob(np.float32(40.0), np.float32(0.0)), -40.0, rtol=1e-6)


@pytest.fixture(scope="module")
def vae_setup():
  config = get_config("vae_digits", smoke=True)
  images = jnp.asarray(split_arrays("digits", "test")["image"][:16])
  state = init_state(vae, config)
  return config, state.variables(ema=False), images


def test_iwae_bound_is_never_below_the_elbo_on_the_same_batch(vae_setup):
  config, variables, images = vae_setup
  x, x_in = vae.observe(config, images, jax.random.PRNGKey(1))
  log_w, _, _ = jax.jit(lambda v: vae.log_weights(config, v, x, x_in, jax.random.PRNGKey(2), 8))(variables)
  assert log_w.shape == (8, 16)
  assert np.all(np.asarray(bounds.iwae_bound(log_w)) >= np.asarray(bounds.elbo(log_w)) - 1e-4)
  # k = 1: the two bounds coincide.
  np.testing.assert_allclose(bounds.iwae_bound(log_w[:1]), bounds.elbo(log_w[:1]), rtol=1e-6)


def test_nll_estimate_decreases_with_k_toward_a_limit(vae_setup):
  config, variables, images = vae_setup
  images = images[:8]  # k = 1,000 decodes each image 1,000 times.
  nll = {k: vae.likelihood_metrics(config, variables, images, k, chunk=min(k, 50))["nll"] for k in (1, 10, 100, 1000)}
  assert nll[1] > nll[10] > nll[100] > nll[1000], nll
  assert nll[10] - nll[100] > nll[100] - nll[1000] > 0, nll  # Gains shrink: the estimate converges.


def test_analytic_kl_matches_monte_carlo():
  mean, logvar = jnp.asarray([[0.5, -1.0, 2.0]]), jnp.asarray([[0.0, -1.0, 0.7]])
  z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(jax.random.PRNGKey(0), (200000, 3))
  q = scipy.stats.norm.logpdf(z, mean, np.exp(0.5 * logvar)).sum(-1)
  p = scipy.stats.norm.logpdf(z).sum(-1)
  np.testing.assert_allclose(likelihoods.gaussian_kl(mean, logvar)[0], np.mean(q - p), rtol=2e-2)


def test_every_likelihood_trains_and_a_28px_model_decodes_28px():
  for kind in ("gaussian", "logistic"):  # bernoulli, the default, trains in the zoo smoke test.
    config = get_config("vae_digits", smoke=True)
    config.model.likelihood = kind
    state = init_state(vae, config)
    batch = {"image": jnp.asarray(split_arrays("digits", "train")["image"][:8])}
    _, metrics = jax.jit(lambda s, b: vae.train_step(config, s, b, jax.random.PRNGKey(1)))(state, batch)
    assert np.isfinite(float(metrics["loss"])), kind
  config = get_config("vae_mnist", smoke=True)
  model = vae.make_model(config)
  variables = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((2, 28, 28, 1)))
  assert jax.jit(model.apply)(variables, jnp.zeros((2, 28, 28, 1))).shape == (2, 28, 28, 1)


def test_beta_with_iwae_is_one_clear_error():
  config = get_config("vae_digits", smoke=True)
  config.model.update(beta=4.0, iwae_k=8)
  with pytest.raises(UserError, match="beta"):
    vae.init_state(config, jax.random.PRNGKey(0))


def test_interpolation_ends_at_the_reconstructions(vae_setup):
  config, variables, images = vae_setup
  path = jax.jit(lambda v, a, b: vae.interpolate(config, v, a, b, steps=5))(variables, images[:2], images[2:4])
  assert path.shape == (2, 5, 32, 32, 1)
  recon = jax.jit(lambda v, x: vae.sample(config, v, None, 4, image=x))(variables, images[:4])["images"]
  # Equal up to float rounding at the uint8 boundary (the batch shapes differ).
  np.testing.assert_allclose(path[:, 0], recon[:2], atol=1)
  np.testing.assert_allclose(path[:, -1], recon[2:4], atol=1)


def _fit(family, config, steps=60):
  """`steps` jitted updates (batch 32) on the digits train split; returns the EMA-free variables."""
  from mmgen_jax.data import batch_indices
  train = split_arrays("digits", "train")["image"]
  state = init_state(family, config)
  step = jax.jit(lambda s, b, r: family.train_step(config, s, b, r))
  for i in range(steps):
    state, _ = step(state, {"image": train[batch_indices(len(train), 32, 0, i)]}, jax.random.PRNGKey(i))
  return state.variables(ema=False)


def test_cae_reconstructs_better_than_the_vae_posterior_mean():
  """Same encoder/decoder, same steps: without the KL and the posterior noise, reconstructions are closer."""
  test = split_arrays("digits", "test")["image"]
  errors = {}
  for name, family in (("vae", vae), ("cae", cae)):
    config = get_config(f"{name}_digits", smoke=True)
    config.model.update(latent_dim=8, widths=[8, 16, 16])
    recon = batched_sample(family.sample, config, _fit(family, config, steps=30), {"image": test})["images"]
    errors[name] = float(np.mean((recon / 255.0 - test / 255.0) ** 2))
  assert errors["cae"] < errors["vae"], errors


def test_cae_features_are_codes(vae_setup):
  config = get_config("cae_digits", smoke=True)
  _, _, images = vae_setup
  state = init_state(cae, config)
  assert cae.features(config, state.variables(), images).shape == (16, config.model.latent_dim)
