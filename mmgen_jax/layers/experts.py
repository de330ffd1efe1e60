"""Latent fusion of modality experts and mixture priors for multimodal VAEs (`mvae`, `any2any`)."""
import jax
import jax.numpy as jnp


def product_of_experts(experts, present):
  """Gaussian product of the prior N(0, I) and the present experts: ([B, L], [B, L]) (mean, logvar).

  experts: {name: (mean [B, L], logvar [B, L])}; present: {name: bool [B]} (absent experts drop out).
  """
  precision = 1.0
  weighted = 0.0
  for name, (mean, logvar) in experts.items():
    p = jnp.exp(-logvar) * present[name].astype(mean.dtype)[:, None]
    precision = precision + p
    weighted = weighted + p * mean
  return weighted / precision, -jnp.log(precision)


def diagonal_log_prob(z, mean, logvar):
  """log N(z; mean, diag(exp(logvar))) summed over the last axis (broadcasting)."""
  return -0.5 * jnp.sum(logvar + (z - mean) ** 2 * jnp.exp(-logvar) + jnp.log(2 * jnp.pi), axis=-1)


def prior_log_prob(prior, z):
  """log p(z) [N] under a mixture prior (log weights [K], means [K, L], logvars [K, L]) for z [N, L]."""
  log_weights, means, logvars = prior
  return jax.nn.logsumexp(log_weights + diagonal_log_prob(z[:, None], means, logvars), axis=1)


def sample_prior(prior, rng, n):
  """z [n, L] drawn from a mixture prior (log weights [K], means [K, L], logvars [K, L])."""
  log_weights, means, logvars = prior
  pick, noise = jax.random.split(rng)
  k = jax.random.categorical(pick, log_weights, shape=(n,))
  return means[k] + jnp.exp(0.5 * logvars[k]) * jax.random.normal(noise, (n, means.shape[1]))
