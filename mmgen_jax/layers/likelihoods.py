"""Per-pixel observation models of image decoders: log p(x | decoder output), element-wise, in nats.

Each model says how many decoder channels it needs per image channel (`PARAMS_PER_CHANNEL`), how to read its log
density from those outputs and the data, and what image its mean is:
- 'bernoulli': logits; data binarised to {0, 1} (the binarised-MNIST convention);
- 'gaussian': mean and log-scale of a Gaussian on images scaled to [-1, 1] (a density: not comparable with the two
  discrete models' probabilities);
- 'logistic': discretised logistic over the 256 uint8 values (Salimans et al. 2017, one component): a proper
  discrete likelihood, so its NLL converts to bits per dimension.
"""
import jax
import jax.numpy as jnp

LIKELIHOODS = ("bernoulli", "gaussian", "logistic")
PARAMS_PER_CHANNEL = {"bernoulli": 1, "gaussian": 2, "logistic": 2}
MIN_LOG_SCALE = -7.0


def bernoulli_log_prob(logits, x):
  """log Bernoulli(x | sigmoid(logits)), x in {0, 1}: -softplus(-l) x - softplus(l) (1 - x)."""
  return -jax.nn.softplus(-logits) * x - jax.nn.softplus(logits) * (1.0 - x)


def gaussian_log_prob(mean, log_scale, x):
  """log N(x | mean, exp(log_scale)^2)."""
  log_scale = jnp.maximum(log_scale, MIN_LOG_SCALE)
  return -0.5 * ((x - mean) * jnp.exp(-log_scale)) ** 2 - log_scale - 0.5 * jnp.log(2 * jnp.pi)


def discretized_logistic_log_prob(mean, log_scale, x_uint8):
  """log P(x) of uint8 values x under a logistic(mean, exp(log_scale)) on [-1, 1] discretised into 256 bins; the
  edge bins take the tails. Stable in the tails (the PixelCNN++ formulation)."""
  x = x_uint8.astype(jnp.float32) / 127.5 - 1.0
  log_scale = jnp.maximum(log_scale, MIN_LOG_SCALE)
  inv_s = jnp.exp(-log_scale)
  centred = x - mean
  plus, minus = inv_s * (centred + 1.0 / 255.0), inv_s * (centred - 1.0 / 255.0)
  log_cdf_plus = plus - jax.nn.softplus(plus)  # log sigmoid(plus): for x = 0.
  log_one_minus_cdf_min = -jax.nn.softplus(minus)  # log(1 - sigmoid(minus)): for x = 255.
  cdf_delta = jax.nn.sigmoid(plus) - jax.nn.sigmoid(minus)
  mid = inv_s * centred
  log_pdf_mid = mid - log_scale - 2.0 * jax.nn.softplus(mid)  # Density at the bin centre, for tiny bins.
  inner = jnp.where(cdf_delta > 1e-5, jnp.log(jnp.maximum(cdf_delta, 1e-12)), log_pdf_mid + jnp.log(2.0 / 255.0))
  return jnp.where(x_uint8 == 0, log_cdf_plus, jnp.where(x_uint8 == 255, log_one_minus_cdf_min, inner))


def log_prob(kind, outputs, x):
  """Element-wise log p(x | outputs) [..., H, W, C] for decoder outputs [..., H, W, C * PARAMS_PER_CHANNEL[kind]];
  x is {0, 1} floats (bernoulli), floats in [-1, 1] (gaussian) or uint8 (logistic)."""
  if kind == "bernoulli":
    return bernoulli_log_prob(outputs, x)
  mean, log_scale = jnp.split(outputs, 2, axis=-1)
  if kind == "gaussian":
    return gaussian_log_prob(mean, log_scale, x)
  if kind == "logistic":
    return discretized_logistic_log_prob(mean, log_scale, x)
  raise ValueError(f"unknown likelihood {kind!r}; one of {LIKELIHOODS}")


def mean_image(kind, outputs):
  """The observation model's mean as an image in [-1, 1]: [..., H, W, C]."""
  if kind == "bernoulli":
    return 2.0 * jax.nn.sigmoid(outputs) - 1.0
  return jnp.clip(jnp.split(outputs, 2, axis=-1)[0], -1.0, 1.0)


def gaussian_kl(mean, logvar):
  """KL(N(mean, exp(logvar)) || N(0, I)) summed over the latent: [B, L] -> [B]."""
  return 0.5 * jnp.sum(jnp.exp(logvar) + mean ** 2 - 1.0 - logvar, axis=-1)
