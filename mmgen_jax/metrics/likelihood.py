"""Likelihood bounds for latent-variable models (VAEs): the ELBO and the importance-weighted bound.

With K samples z_k ~ q(z|x) and log-weights log w_k = log p(x, z_k) - log q(z_k|x):
  ELBO    = mean_k log w_k                       (K = 1 is the usual training objective)
  IWAE_K  = logsumexp_k log w_k - log K          (Burda et al. 2016; IWAE_K <= IWAE_{K+1} <= log p(x) in expectation)
NLL estimates reported in papers are -IWAE_K with large K (e.g. 1000 or 5000), in nats.
"""
import jax.numpy as jnp
from jax.scipy.special import logsumexp


def elbo(log_weights):
  """Mean over the K samples of the log-weights: [K, B] -> [B]."""
  return jnp.mean(log_weights, axis=0)


def iwae_bound(log_weights):
  """logsumexp_k log w_k - log K: [K, B] -> [B]. Never below `elbo` of the same log-weights (Jensen)."""
  return logsumexp(log_weights, axis=0) - jnp.log(log_weights.shape[0])


def nll_estimate(log_weights):
  """Importance-weighted negative log-likelihood estimate in nats: [K, B] -> [B]."""
  return -iwae_bound(log_weights)
