"""Distribution metrics over features of real and generated samples: FID, KID, precision/recall, Inception Score.

Features come from any extractor (`mmgen_jax.metrics.features`): a function images -> [B, D] features. FID only
needs running first and second moments (`RunningMoments`), so any number of samples streams through in batches.
References: Heusel et al. 2017 (FID), Binkowski et al. 2018 (KID), Kynkaanniemi et al. 2019 (precision/recall),
Salimans et al. 2016 (IS).
"""
import numpy as np


class RunningMoments:
  """Accumulates the mean [D] and covariance [D, D] of features in float64, one batch at a time."""

  def __init__(self):
    self.n, self._sum, self._outer = 0, None, None

  def update(self, features):
    """features: [B, D]."""
    f = np.asarray(features, np.float64)
    if self._sum is None:
      self._sum, self._outer = np.zeros(f.shape[1]), np.zeros((f.shape[1], f.shape[1]))
    self.n += len(f)
    self._sum += f.sum(0)
    self._outer += f.T @ f

  def mean_cov(self):
    """(mu [D], sigma [D, D]) with the unbiased (n - 1) covariance, as in the reference FID code (np.cov)."""
    mu = self._sum / self.n
    sigma = (self._outer - self.n * np.outer(mu, mu)) / (self.n - 1)
    return mu, sigma


def _sqrt_psd(a):
  """Symmetric square root of a symmetric PSD matrix by eigendecomposition (negative round-off clipped to 0)."""
  w, v = np.linalg.eigh((a + a.T) / 2)
  return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2):
  """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) in float64.

  tr((S1 S2)^(1/2)) = tr((S1^(1/2) S2 S1^(1/2))^(1/2)): the inner matrix is symmetric PSD, so both square roots are
  symmetric eigendecompositions. This is stable for singular covariances (fewer samples than dimensions), where
  scipy's general `sqrtm` of the non-symmetric S1 S2 needs the reference code's eps-on-the-diagonal retry.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  root1 = _sqrt_psd(s1)
  eig = np.linalg.eigvalsh(root1 @ s2 @ root1)
  tr_covmean = np.sum(np.sqrt(np.clip(eig, 0, None)))
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def mean_cov(features):
  """(mu [D], sigma [D, D]) of features [N, D], as RunningMoments computes them."""
  m = RunningMoments()
  m.update(features)
  return m.mean_cov()


def fid_from_features(real, fake):
  """FID between two feature sets [N, D] and [M, D]."""
  return frechet_distance(*mean_cov(real), *mean_cov(fake))


def kernel_inception_distance(real, fake, num_subsets=100, subset_size=1000, seed=0):
  """(mean, std) over subsets of the unbiased MMD^2 with the kernel k(x, y) = (x.y / D + 1)^3."""
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  d = real.shape[1]
  m = min(subset_size, len(real), len(fake))
  rng = np.random.default_rng(seed)
  values = []
  for _ in range(num_subsets):
    x = real[rng.choice(len(real), m, replace=False)]
    y = fake[rng.choice(len(fake), m, replace=False)]
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                  - 2 * kxy.mean())
  return float(np.mean(values)), float(np.std(values))


def _pairwise_sq_dists(a, b):
  return np.maximum((a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None], 0)


def _in_manifold(ref, query, k):
  """For each query row: is it within the k-NN radius of some reference point?"""
  d_ref = _pairwise_sq_dists(ref, ref)
  radii = np.sort(d_ref, axis=1)[:, k]  # Column 0 is the point itself.
  return (_pairwise_sq_dists(query, ref) <= radii[None]).any(1)


def precision_recall(real, fake, k=3):
  """(precision, recall): the fraction of fakes inside the real k-NN manifold, and of reals inside the fake one."""
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  return float(_in_manifold(real, fake, k).mean()), float(_in_manifold(fake, real, k).mean())


def inception_score(probs, splits=10):
  """(mean, std) over splits of exp(E_x KL(p(y|x) || p(y))) for class probabilities [N, K]."""
  probs = np.asarray(probs, np.float64)
  scores = []
  for part in np.array_split(probs, splits):
    marginal = part.mean(0, keepdims=True)
    kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))
