"""Latent fusion of modality experts and mixture priors for multimodal VAEs (`mvae`, `any2any`)."""
import jax
import jax.numpy as jnp


def product_of_experts(experts, present):
  """Gaussian product of the prior N(0, I) and the present experts: ([B, L], [B, L]) (mean, logvar).

  experts: {name: (mean [B, L], logvar [B, L])}; present: {name: bool [B]} (absent experts drop out).
  """
  precision, weighted = _present_precisions(experts, present)
  precision = 1.0 + precision  # The prior's.
  return weighted / precision, -jnp.log(precision)


def _present_precisions(experts, present):
  """(sum of the present experts' precisions [B, L], their precision-weighted means summed [B, L])."""
  precision, weighted = 0.0, 0.0
  for name, (mean, logvar) in experts.items():
    p = jnp.exp(-logvar) * present[name].astype(mean.dtype)[:, None]
    precision = precision + p
    weighted = weighted + p * mean
  return precision, weighted


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


def product_with_mixture(experts, present, mixture):
  """The present experts' Gaussian product with a mixture prior in place of N(0, I): per row, the mixture
  p(z) prod_m q_m(z) / Z, which is again a mixture of diagonal Gaussians, returned as (log weights [B, K],
  means [B, K, L], logvars [B, K, L]).

  experts: {name: (mean [B, L], logvar [B, L])}; present: {name: bool [B]}; mixture: (log weights [K],
  means [K, L], logvars [K, L]). Component k becomes the product of N(mu_k, var_k) with the experts' product
  N(mu_e, var_e), weighted by pi_k N(mu_e; mu_k, var_e + var_k). A row with no expert present gets the mixture
  itself. Written in precisions, so that no expert (precision 0) needs no special case."""
  precision, weighted = _present_precisions(experts, present)
  log_weights, means, logvars = mixture
  p_e = jnp.maximum(precision, 1e-12)[:, None]  # [B, 1, L]
  mu_e = (weighted / jnp.maximum(precision, 1e-12))[:, None]
  p_k = jnp.exp(-logvars)[None]  # [1, K, L]
  total = p_e + p_k
  out_means = (p_e * mu_e + p_k * means[None]) / total
  # log N(mu_e; mu_k, 1/p_e + 1/p_k) up to terms that do not depend on k (log 2 pi, -log p_e).
  log_evidence = -0.5 * jnp.sum(jnp.log(total) - jnp.log(p_k) + (mu_e - means[None]) ** 2 * p_e * p_k / total, -1)
  return jax.nn.log_softmax(log_weights[None] + log_evidence, -1), out_means, -jnp.log(total)


def sample_mixtures(mixtures, rng):
  """z [B, L]: one draw from each row's mixture (log weights [B, K], means [B, K, L], logvars [B, K, L])."""
  log_weights, means, logvars = mixtures
  pick, noise = jax.random.split(rng)
  k = jax.random.categorical(pick, log_weights, axis=-1)[:, None, None]  # [B, 1, 1]
  mean = jnp.take_along_axis(means, k, axis=1)[:, 0]
  logvar = jnp.take_along_axis(logvars, k, axis=1)[:, 0]
  return mean + jnp.exp(0.5 * logvar) * jax.random.normal(noise, mean.shape)
