"""The domain classifier (trained once, cached) and `mmgen-jax eval` on a trained workdir."""
import json

import numpy as np
import pytest

from conftest import run_cli
from mmgen_jax.data import digits
from mmgen_jax.metrics.classifier import FeatureExtractor


def test_domain_classifier_is_accurate_and_cached():
  first = FeatureExtractor("digits", progress=False)
  assert first.test_accuracy >= 0.95
  again = FeatureExtractor("digits", progress=False)  # From the on-disk cache: identical outputs.
  images = digits.digits_arrays("test")["image"][:50]
  f1, p1 = first(images)
  f2, p2 = again(images)
  assert f1.shape == (50, 128) and p1.shape == (50, 10)
  np.testing.assert_array_equal(f1, f2)
  np.testing.assert_allclose(p1.sum(1), 1.0, rtol=1e-5)


@pytest.mark.xdist_group("dcgan_digits")
def test_eval_cli_prints_one_json_object(smoke_workdir):
  wd = smoke_workdir("dcgan_digits")
  r = run_cli("eval", "--workdir", wd, "--num", 200)
  assert r.returncode == 0, r.stderr
  scores = json.loads(r.stdout.strip().splitlines()[-1])
  for key in ("fid", "kid", "precision", "recall", "real_fid_train_vs_test", "classifier_score"):
    assert np.isfinite(scores[key]), key
  # An untrained generator is far from the data; real train vs real test is close.
  assert scores["fid"] > 5 * scores["real_fid_train_vs_test"]
