"""Metrics against independent references: scipy's sqrtm, scikit-image's PSNR/SSIM, closed forms."""
import math

import jax
import numpy as np
import pytest
import scipy.linalg
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mmgen_jax import metrics


def _random_cov(rng, d, n):
  x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
  return np.cov(x, rowvar=False)


def _fid_scipy(mu1, s1, mu2, s2):
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  return np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)


@pytest.mark.parametrize("d,n", [(8, 100), (64, 500)])
def test_frechet_distance_matches_scipy_sqrtm(d, n):
  rng = np.random.default_rng(d)
  mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
  s1, s2 = _random_cov(rng, d, n), _random_cov(rng, d, n)
  np.testing.assert_allclose(metrics.frechet_distance(mu1, s1, mu2, s2), _fid_scipy(mu1, s1, mu2, s2), rtol=1e-6)
  assert abs(metrics.frechet_distance(mu1, s1, mu1, s1)) < 1e-6


def test_frechet_distance_is_stable_for_singular_covariances():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(10, 50)), rng.normal(size=(10, 50))  # 10 samples in 50-D: rank-deficient covariances.
  fid = metrics.fid_from_features(a, b)
  assert np.isfinite(fid) and fid > 0


def test_running_moments_equal_numpy_over_batches():
  x = np.random.default_rng(1).normal(size=(1000, 16))
  m = metrics.RunningMoments()
  for chunk in np.array_split(x, 7):
    m.update(chunk)
  mu, sigma = m.mean_cov()
  np.testing.assert_allclose(mu, x.mean(0), atol=1e-12)
  np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), atol=1e-10)


def test_kid_is_near_zero_for_same_distribution_and_positive_for_shifted():
  rng = np.random.default_rng(2)
  a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
  same, _ = metrics.kernel_inception_distance(a, b, num_subsets=20, subset_size=300)
  shifted, _ = metrics.kernel_inception_distance(a, b + 1.0, num_subsets=20, subset_size=300)
  assert abs(same) < 0.01 < shifted


def test_precision_recall_detect_mode_dropping():
  rng = np.random.default_rng(3)
  real = np.concatenate([rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 10])
  half = rng.normal(size=(600, 2))  # Covers only the first mode: precise, but recall ~ 0.5.
  precision, recall = metrics.precision_recall(real, half, k=3)
  assert precision > 0.9 and 0.4 < recall < 0.6


def test_inception_score_bounds():
  k = 10
  assert metrics.inception_score(np.full((100, k), 1 / k), splits=5)[0] == pytest.approx(1.0)
  confident_diverse = np.eye(k)[np.arange(100) % k]
  assert metrics.inception_score(confident_diverse, splits=5)[0] == pytest.approx(k, rel=1e-6)


def _image_pairs(channels):
  rng = np.random.default_rng(channels)
  a = rng.random((3, 32, 40, channels)).astype(np.float32)
  b = np.clip(a + rng.normal(scale=0.1, size=a.shape), 0, 1).astype(np.float32)
  return a, b


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_ssim_match_scikit_image(channels):
  a, b = _image_pairs(channels)
  ours_psnr = np.asarray(jax.jit(metrics.psnr)(a, b))
  ours_ssim = np.asarray(jax.jit(metrics.ssim)(a, b))
  for i in range(len(a)):
    ref_psnr = peak_signal_noise_ratio(a[i], b[i], data_range=1.0)
    ref_ssim = structural_similarity(a[i], b[i], data_range=1.0, channel_axis=-1, gaussian_weights=True,
                                     sigma=1.5, use_sample_covariance=False)
    assert abs(ours_psnr[i] - ref_psnr) < 1e-4
    assert abs(ours_ssim[i] - ref_ssim) < 1e-4


def test_psnr_ssim_y_channel_and_border_crop_match_scikit_image_on_y():
  a, b = _image_pairs(3)
  a255, b255 = a * 255, b * 255
  ya, yb = (np.asarray(metrics.rgb_to_y(x, 255.0))[:, 4:-4, 4:-4, 0] for x in (a255, b255))
  ours_p = metrics.psnr(a255, b255, max_val=255.0, crop_border=4, y_channel=True)
  ours_s = metrics.ssim(a255, b255, max_val=255.0, crop_border=4, y_channel=True)
  for i in range(len(a)):
    assert abs(ours_p[i] - peak_signal_noise_ratio(ya[i], yb[i], data_range=255.0)) < 1e-4
    assert abs(ours_s[i] - structural_similarity(ya[i], yb[i], data_range=255.0, gaussian_weights=True, sigma=1.5,
                                                 use_sample_covariance=False)) < 1e-4
  # Y of pure white is 235 (BT.601 studio range), of black 16.
  np.testing.assert_allclose(metrics.rgb_to_y(np.array([[255.0, 255, 255], [0, 0, 0]]), 255.0)[:, 0], [235, 16],
                             rtol=1e-5)


def _gaussian_log_weights(x, k, rng):
  """Model p(z) = N(0,1), p(x|z) = N(z,1) (so p(x) = N(0,2)); a deliberately imperfect q(z|x) = N(x/2 + .5, .5^2)."""
  z = x / 2 + 0.5 + 0.5 * rng.normal(size=(k, len(x)))
  norm = lambda v, m, s: -0.5 * ((v - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
  return norm(z, 0, 1) + norm(x, z, 1) - norm(z, x / 2 + 0.5, 0.5), norm(x, 0, np.sqrt(2))


def test_iwae_is_never_below_elbo_and_tightens_toward_log_px():
  rng = np.random.default_rng(0)
  x = rng.normal(scale=np.sqrt(2), size=64)
  log_w, log_px = _gaussian_log_weights(x, 10000, rng)
  assert np.all(np.asarray(metrics.iwae_bound(log_w[:10])) >= np.asarray(metrics.elbo(log_w[:10])) - 1e-6)

  def expected_nll(k):  # Averaged over 10000 / k independent groups of k samples: the expectation, not one draw.
    groups = log_w.reshape(10000 // k, k, -1).transpose(1, 0, 2).reshape(k, -1)
    return float(np.mean(metrics.nll_estimate(groups)))

  nll = [expected_nll(k) for k in (1, 10, 100, 1000)]
  assert nll[0] > nll[1] > nll[2] > nll[3]
  assert abs(nll[3] - (-np.mean(log_px))) < 0.01  # Converges to the true NLL.


def test_corpus_bleu_hand_computed_and_exact_match():
  assert metrics.corpus_bleu(["a b c d e"], [["a b c d e"]]) == pytest.approx(1.0)
  # Hypothesis 'a b c d x' vs 'a b c d e': precisions 4/5, 3/4, 2/3, 1/2, equal lengths (no brevity penalty).
  expected = math.exp((math.log(4 / 5) + math.log(3 / 4) + math.log(2 / 3) + math.log(1 / 2)) / 4)
  assert metrics.corpus_bleu(["a b c d x"], [["a b c d e"]]) == pytest.approx(expected)
  # Brevity penalty: 4 tokens against a 5-token reference (all n-grams match): exp(1 - 5/4).
  assert metrics.corpus_bleu(["a b c d"], [["a b c d e"]]) == pytest.approx(math.exp(1 - 5 / 4))
  # Clipping: 'the the the the' against 'the cat' has unigram precision 1/4 and no bigram match.
  assert metrics.corpus_bleu(["the the the the"], [["the cat"]]) == 0.0
  assert metrics.exact_match(["a  b", "c"], [["a b"], ["d", "e"]]) == 0.5
