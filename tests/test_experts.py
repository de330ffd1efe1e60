"""The product of Gaussian experts with a mixture prior (`layers/experts.product_with_mixture`) and draws from
per-row mixtures, against the densities they stand for."""
import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import multivariate_normal

from mmgen_jax.layers.experts import (diagonal_log_prob, prior_log_prob, product_of_experts, product_with_mixture,
                                      sample_mixtures)


def _problem(seed=0, b=3, k=4, dim=2):
  rng = np.random.default_rng(seed)
  experts = {name: (jnp.asarray(rng.normal(0, 2, (b, dim)), jnp.float32),
                    jnp.asarray(rng.normal(0, 0.7, (b, dim)), jnp.float32)) for name in ("a", "b")}
  mixture = (jax.nn.log_softmax(jnp.asarray(rng.normal(size=k), jnp.float32)),
             jnp.asarray(rng.normal(0, 3, (k, dim)), jnp.float32),
             jnp.asarray(rng.normal(0, 0.5, (k, dim)), jnp.float32))
  return experts, mixture


def test_the_product_is_the_prior_times_the_experts_up_to_a_constant():
  """log[p(z) q_a(z) q_b(z)] - log r(z) takes one value over z in each row, r being the returned mixture: r is the
  normalised product. The densities come from scipy, not from the code under test."""
  experts, (log_w, means, logvars) = _problem()
  present = {"a": jnp.array([True, True, False]), "b": jnp.array([True, False, False])}
  out_w, out_means, out_logvars = map(np.asarray, product_with_mixture(experts, present, (log_w, means, logvars)))
  np.testing.assert_allclose(np.exp(out_w).sum(-1), 1.0, rtol=1e-5)
  z = np.random.default_rng(1).normal(0, 3, (50, 2))

  def mixture_pdf(w, mu, lv):
    return sum(np.exp(w[j]) * multivariate_normal(mu[j], np.diag(np.exp(lv[j]))).pdf(z) for j in range(len(w)))

  for row in range(3):
    target = np.log(mixture_pdf(np.asarray(log_w), np.asarray(means), np.asarray(logvars)))
    for name, (mu, lv) in experts.items():
      if present[name][row]:
        target += multivariate_normal(np.asarray(mu[row]), np.diag(np.exp(np.asarray(lv[row])))).logpdf(z)
    ratio = target - np.log(mixture_pdf(out_w[row], out_means[row], out_logvars[row]))
    assert np.ptp(ratio) < 1e-3, (row, np.ptp(ratio))
  # No expert present (the last row): the mixture itself.
  np.testing.assert_allclose(out_w[2], np.asarray(log_w), atol=1e-5)
  np.testing.assert_allclose(out_means[2], np.asarray(means), atol=1e-5)
  np.testing.assert_allclose(out_logvars[2], np.asarray(logvars), atol=1e-5)


def test_with_one_standard_normal_component_it_is_the_product_of_experts():
  experts, _ = _problem(dim=3)
  present = {"a": jnp.array([True, False, True]), "b": jnp.array([True, True, False])}
  normal = (jnp.zeros(1), jnp.zeros((1, 3)), jnp.zeros((1, 3)))
  log_w, out_means, out_logvars = product_with_mixture(experts, present, normal)
  mean, logvar = product_of_experts(experts, present)
  np.testing.assert_allclose(np.asarray(log_w), 0.0, atol=1e-6)
  np.testing.assert_allclose(np.asarray(out_means[:, 0]), np.asarray(mean), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(out_logvars[:, 0]), np.asarray(logvar), rtol=1e-5, atol=1e-6)


def test_a_sharp_expert_picks_the_component_it_lies_in():
  """Two far-apart components of equal weight; an expert near one of them leaves (almost) only that one."""
  mixture = (jnp.log(jnp.array([0.5, 0.5])), jnp.array([[-5.0, 0.0], [5.0, 0.0]]), jnp.zeros((2, 2)))
  expert = {"a": (jnp.array([[4.0, 1.0], [-4.5, 0.0]]), jnp.full((2, 2), -1.0))}
  log_w, _, _ = product_with_mixture(expert, {"a": jnp.array([True, True])}, mixture)
  assert float(jnp.exp(log_w[0, 1])) > 0.999 and float(jnp.exp(log_w[1, 0])) > 0.999


def test_draws_follow_each_rows_mixture():
  """Row 0 puts 80% on a component at -10, row 1 all on one at +10; draws land there at those rates, with the
  components' spread."""
  log_w = jnp.log(jnp.array([[0.8, 0.2], [1e-9, 1.0]]))
  means = jnp.array([[[-10.0], [10.0]], [[-10.0], [10.0]]])
  logvars = jnp.log(jnp.full((2, 2, 1), 0.25))
  keys = jax.random.split(jax.random.PRNGKey(0), 4000)
  draws = np.asarray(jax.vmap(lambda key: sample_mixtures((log_w, means, logvars), key))(keys))  # [4000, 2, 1]
  assert abs(np.mean(draws[:, 0, 0] < 0) - 0.8) < 0.03
  assert np.all(draws[:, 1, 0] > 0)
  np.testing.assert_allclose(np.std(draws[draws[:, 0, 0] < 0, 0, 0]), 0.5, rtol=0.1)


def test_the_mixture_log_density_helpers_agree_with_scipy():
  _, (log_w, means, logvars) = _problem(k=3, dim=2)
  z = jnp.asarray(np.random.default_rng(2).normal(0, 3, (5, 2)), jnp.float32)
  pdf = sum(np.exp(np.asarray(log_w)[j]) * multivariate_normal(np.asarray(means[j]),
                                                                np.diag(np.exp(np.asarray(logvars[j])))).pdf(z)
            for j in range(3))
  np.testing.assert_allclose(np.asarray(prior_log_prob((log_w, means, logvars), z)), np.log(pdf), rtol=1e-5)
  first = multivariate_normal(np.asarray(means[0]), np.diag(np.exp(np.asarray(logvars[0]))))
  np.testing.assert_allclose(np.asarray(diagonal_log_prob(z, means[0], logvars[0])), first.logpdf(z), rtol=1e-5)
