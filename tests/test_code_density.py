"""The mixture fitted online to a model's codes (`layers/code_density.py`), against scikit-learn's EM."""
import jax
import jax.numpy as jnp
import numpy as np
from sklearn.mixture import GaussianMixture

from mmgen_jax.layers import code_density
from mmgen_jax.layers.experts import prior_log_prob


def clusters(n=600, dim=4, k=3, seed=0):
  """n codes [n, dim] from k well-separated diagonal Gaussians with unequal weights and scales."""
  rs = np.random.RandomState(seed)
  centres = rs.randn(k, dim) * 6.0
  scales = rs.uniform(0.3, 1.5, (k, dim))
  pick = rs.choice(k, n, p=np.linspace(1.0, 2.0, k) / np.linspace(1.0, 2.0, k).sum())
  return (centres[pick] + scales[pick] * rs.randn(n, dim)).astype(np.float32)


def fit(codes, k, iterations=50, seed=0):
  x = jnp.asarray(codes)
  mixture = code_density.seed_mixture(jax.random.PRNGKey(seed), x, k)
  for _ in range(iterations):
    mixture, _ = code_density.em_step(mixture, x, jnp.int32(len(x)))
  return mixture


def test_em_reaches_sklearns_likelihood():
  codes = clusters()
  mixture = fit(codes, 3)
  ours = float(jnp.mean(prior_log_prob(mixture, jnp.asarray(codes))))
  reference = GaussianMixture(3, covariance_type="diag", random_state=0).fit(codes).score(codes)
  assert abs(ours - reference) < 0.02, (ours, reference)
  assert np.isclose(float(jnp.sum(jnp.exp(mixture[0]))), 1.0, atol=1e-5)


def test_bank_wraps_around_keeping_the_newest_codes():
  codes, count = jnp.zeros((4, 2)), jnp.int32(0)
  rows = np.arange(18, dtype=np.float32).reshape(9, 2)
  for batch in np.split(rows, 3):
    codes, count = code_density.update_bank(codes, count, jnp.asarray(batch))
  assert int(count) == 9
  assert sorted(map(tuple, np.asarray(codes).tolist())) == sorted(map(tuple, rows[-4:].tolist()))


def test_unwritten_rows_do_not_count():
  codes = clusters(200)
  bank = np.full((300, codes.shape[1]), 1e4, np.float32)  # Rows 200.. hold garbage that must be ignored.
  bank[:200] = codes
  start = code_density.seed_mixture(jax.random.PRNGKey(0), jnp.asarray(codes), 3)
  from_bank, ll_bank = code_density.em_step(start, jnp.asarray(bank), jnp.int32(200))
  from_codes, ll_codes = code_density.em_step(start, jnp.asarray(codes), jnp.int32(200))
  for a, b in zip(from_bank, from_codes):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)
  assert np.isclose(float(ll_bank), float(ll_codes), rtol=1e-5)


def test_nothing_written_leaves_the_mixture_as_it_was():
  start = code_density.init_mixture(jax.random.PRNGKey(0), 3, 4)
  after, _ = code_density.em_step(start, jnp.zeros((8, 4)), jnp.int32(0))
  for a, b in zip(after, start):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_starved_component_is_moved_onto_the_data():
  codes = jnp.asarray(clusters())
  log_weights, means, logvars = fit(np.asarray(codes), 3)
  means = means.at[0].set(1e3)  # Far from every code: no responsibility at all.
  (log_weights, means, _), _ = code_density.em_step((log_weights, means, logvars), codes, jnp.int32(len(codes)))
  assert float(jnp.min(jnp.linalg.norm(codes - means[0], axis=1))) < 1e-4  # Re-seeded on a code.
  assert float(jnp.exp(log_weights[0])) > 0.01


def test_tracking_a_stream_matches_a_batch_fit():
  """Fed batch after batch, the tracker fits the bank as well as scikit-learn's EM fits it in one go."""
  codes = clusters(2000)
  tracker = code_density.init_tracker(jax.random.PRNGKey(0), 512, 3, codes.shape[1])
  step = jax.jit(lambda t, new, rng, i: code_density.track(t, new, rng, i, refit_every=1000))
  for i, batch in enumerate(np.split(codes, 50)):
    tracker, _ = step(tracker, jnp.asarray(batch), jax.random.PRNGKey(i), i + 1)
  assert int(tracker["count"]) == 2000
  bank = np.asarray(tracker["codes"])
  ours = float(jnp.mean(prior_log_prob(code_density.mixture_of(tracker), jnp.asarray(bank))))
  reference = GaussianMixture(3, covariance_type="diag", random_state=0).fit(bank).score(bank)
  assert ours > reference - 0.05, (ours, reference)
