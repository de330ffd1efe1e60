"""The domain classifier (trained once, cached) and `mmgen-jax eval` on a trained workdir."""
import json
import os

import numpy as np

from conftest import run_main
from mmgen_jax.data import digits
from mmgen_jax.metrics import classifier
from mmgen_jax.metrics.classifier import FeatureExtractor


def test_shipped_domain_classifier_is_accurate_on_the_held_out_digits():
  """The package's weights (behind every published FID) classify the test split as their JSON says."""
  assert os.path.exists(classifier.shipped_path("digits") + ".npz")
  extractor = FeatureExtractor("digits", progress=False)
  test = digits.digits_arrays("test")
  features, probs = extractor(test["image"])
  assert features.shape == (len(test["label"]), 128) and probs.shape == (len(test["label"]), 10)
  np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
  accuracy = float(np.mean(probs.argmax(1) == test["label"]))
  assert accuracy >= 0.95
  assert abs(accuracy - extractor.test_accuracy) < 1e-6


def test_a_classifier_without_shipped_weights_is_trained_once_and_cached(tmp_path, monkeypatch):
  monkeypatch.setenv("MMGEN_CACHE_DIR", str(tmp_path))
  monkeypatch.setitem(classifier.CLASSIFIERS, "digits", ("digits", 10, 60))  # A short recipe: the path, not the score.
  monkeypatch.setattr(classifier, "shipped_path", lambda name: str(tmp_path / "none"))
  first = FeatureExtractor("digits", progress=False)
  cached = classifier.trained_path("digits") + ".npz"
  assert cached.startswith(str(tmp_path)) and first.test_accuracy > 0.25  # Chance is 0.1: it learnt in 60 steps.
  stamp = os.path.getmtime(cached)
  again = FeatureExtractor("digits", progress=False)  # From the on-disk cache: identical outputs, no retraining.
  assert os.path.getmtime(cached) == stamp
  images = digits.digits_arrays("test")["image"][:50]
  np.testing.assert_array_equal(first(images)[0], again(images)[0])


def test_eval_cli_prints_one_json_object(smoke_workdir, capsys):
  wd = smoke_workdir("dcgan_digits")
  r = run_main(capsys, "eval", "--workdir", wd, "--num", 200)
  assert r.returncode == 0, r.stderr
  scores = json.loads(r.stdout.strip().splitlines()[-1])
  for key in ("fid", "kid", "precision", "recall", "real_fid_train_vs_test", "classifier_score"):
    assert np.isfinite(scores[key]), key
  # An untrained generator is far from the data; real train vs real test is close.
  assert scores["fid"] > 5 * scores["real_fid_train_vs_test"]
