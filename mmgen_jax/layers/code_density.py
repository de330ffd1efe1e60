"""A diagonal Gaussian mixture fitted, while a model trains, to the codes its encoder gives: the density to draw
unconditional samples from when the prior the ELBO trains against is not where the codes are (ex-post density
estimation, as in Ghosh et al. 2020's regularised autoencoders, done online inside the jitted step).

The codes seen last sit in a ring buffer (`bank`); each step runs one EM iteration on the buffer, started from the
previous step's mixture, so the fit follows the encoder as it trains at a fixed cost per step (for 2,048 codes,
20 components and 32 dimensions, about 8 MFLOP by count); now and then a fresh k-means++-seeded fit (`track`). Everything is a pure function of arrays: the step stays one
`jax.jit`, and the mixture is saved with the rest of the train state.

A mixture is (log weights [K], means [K, L], logvars [K, L]), the layout `layers.experts.sample_prior` draws from.
"""
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.layers.experts import diagonal_log_prob

MIN_LOGVAR = -7.0  # Variance floor (std ~0.03): a component on a few identical codes must not collapse to a spike.
DEAD_WEIGHT = 0.1  # A component whose weight falls below DEAD_WEIGHT / K is moved onto the worst-explained codes.


def equal_log_weights(components):
  """log(1 / K) [K], strongly typed float32: a Python scalar's fill is weakly typed, the train step returns the
  weights strongly typed, and a state whose types change between steps compiles its step twice."""
  return jnp.full((components,), -np.log(components), jnp.float32)


def init_mixture(rng, components, dim):
  """A mixture of `components` unit Gaussians with N(0, I) means (distinct, so EM can tell them apart)."""
  return equal_log_weights(components), jax.random.normal(rng, (components, dim)), jnp.zeros((components, dim))


def update_bank(codes, count, new):
  """The buffer codes [M, L] with the rows new [B, L] written after the `count` (int32 []) written so far, wrapping
  around; returns (codes, count + B). B <= M."""
  rows = (count + jnp.arange(new.shape[0])) % codes.shape[0]
  return codes.at[rows].set(new.astype(codes.dtype)), count + new.shape[0]


def em_step(mixture, codes, count):
  """One EM iteration of the diagonal mixture on the first min(count, M) rows of codes [M, L]: (the new mixture,
  the old one's mean log-density of those codes).

  Components left with (almost) no codes are re-seeded, one each, on the codes the mixture explains worst, with
  the codes' overall variance: without that, a component that starts far from the data keeps its weight at zero
  and the fit uses fewer components than it has. Before any code is written the mixture is returned unchanged."""
  log_weights, means, logvars = mixture
  k = means.shape[0]
  valid = (jnp.arange(codes.shape[0]) < count).astype(codes.dtype)  # [M]
  n = jnp.maximum(jnp.sum(valid), 1.0)
  joint = log_weights + diagonal_log_prob(codes[:, None], means, logvars)  # [M, K]
  log_p = jax.nn.logsumexp(joint, axis=1)
  resp = jnp.exp(joint - log_p[:, None]) * valid[:, None]  # [M, K] responsibilities.
  mass = jnp.sum(resp, axis=0)  # [K]
  safe = jnp.maximum(mass, 1e-6)[:, None]
  new_means = resp.T @ codes / safe
  new_vars = resp.T @ (codes ** 2) / safe - new_means ** 2
  data_mean = valid @ codes / n
  data_var = valid @ (codes ** 2) / n - data_mean ** 2
  # Re-seed the starved components on the worst-explained codes (the i-th starved one on the i-th worst).
  dead = mass < DEAD_WEIGHT * n / k
  worst = jnp.argsort(jnp.where(valid > 0, log_p, jnp.inf))[:k]  # Rows, worst first.
  seat = jnp.clip(jnp.cumsum(dead) - 1, 0, k - 1)
  new_means = jnp.where(dead[:, None], codes[worst[seat]], new_means)
  new_vars = jnp.where(dead[:, None], data_var, new_vars)
  new_mass = jnp.where(dead, n / k, mass)
  fitted = (jnp.log(new_mass / jnp.sum(new_mass)), new_means,
            jnp.maximum(jnp.log(jnp.maximum(new_vars, 1e-12)), MIN_LOGVAR))
  return jax.tree.map(lambda new, old: jnp.where(count > 0, new, old), fitted, mixture), jnp.sum(log_p * valid) / n


def seed_mixture(rng, codes, components):
  """A mixture with its means on `components` of the codes [M, L] picked by k-means++ (each next one with
  probability proportional to its squared distance from those picked), every component with the codes' variance
  and equal weights: EM from here finds the clusters that N(0, I) starting means, all near the origin, share out.
  Every row of codes counts: call it on a full bank."""
  first, rest = jax.random.split(rng)
  centres = jnp.zeros((components, codes.shape[1]), codes.dtype).at[0].set(
      codes[jax.random.randint(first, (), 0, codes.shape[0])])

  def pick(i, centres):
    d2 = jnp.min(jnp.sum((codes[:, None] - centres[None]) ** 2, -1) + jnp.where(jnp.arange(components) < i, 0,
                                                                                   jnp.inf), axis=1)
    row = jax.random.categorical(jax.random.fold_in(rest, i), jnp.log(jnp.maximum(d2, 1e-12)))
    return centres.at[i].set(codes[row])

  centres = jax.lax.fori_loop(1, components, pick, centres)
  var = jnp.var(codes, axis=0)
  return (equal_log_weights(components), centres,
          jnp.broadcast_to(jnp.log(jnp.maximum(var, 1e-12)), centres.shape))


def init_tracker(rng, bank, components, dim):
  """The state `track` carries: a bank of `bank` codes of `dim` values (none written yet) and a mixture of
  `components` (`init_mixture`). A dict of arrays, e.g. a collection of a flax train state."""
  log_weights, means, logvars = init_mixture(rng, components, dim)
  return {"codes": jnp.zeros((bank, dim)), "count": jnp.zeros((), jnp.int32), "log_weights": log_weights,
          "means": means, "logvars": logvars}


def mixture_of(tracker):
  """The tracker's mixture (log weights [K], means [K, L], logvars [K, L])."""
  return tracker["log_weights"], tracker["means"], tracker["logvars"]


def track(tracker, new, rng, step, refit_every, refit_iterations=30):
  """The tracker after writing the codes new [B, L] into its bank and fitting its mixture to the bank: a fresh
  fit (`seed_mixture`, then `refit_iterations` EM iterations) when the bank has just filled and at every
  `refit_every`-th step (k-means++ seeding finds clusters a fit that only follows the codes can miss as they form),
  one EM iteration from the last mixture otherwise. Returns (tracker, mean log-density of the bank's codes under
  the mixture before this step's last EM iteration)."""
  size = tracker["codes"].shape[0]
  codes, count = update_bank(tracker["codes"], tracker["count"], new)
  mixture = mixture_of(tracker)
  just_filled = (tracker["count"] < size) & (count >= size)
  refit = just_filled | ((count >= size) & (step % refit_every == 0))

  def fresh(mixture):
    del mixture
    start = seed_mixture(rng, codes, mixture_of(tracker)[1].shape[0])
    fitted = jax.lax.fori_loop(0, refit_iterations - 1, lambda i, m: em_step(m, codes, count)[0], start)
    return em_step(fitted, codes, count)

  mixture, log_density = jax.lax.cond(refit, fresh, lambda m: em_step(m, codes, count), mixture)
  log_weights, means, logvars = mixture
  return {"codes": codes, "count": count, "log_weights": log_weights, "means": means,
          "logvars": logvars}, log_density
