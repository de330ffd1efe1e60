"""Metrics of an unconditional image generator against a dataset, on the dataset's domain-classifier features."""
import jax
import numpy as np

from mmgen_jax.data import open_source
from mmgen_jax.metrics import distribution
from mmgen_jax.metrics.classifier import FeatureExtractor


def generate(sample_images, num, seed, batch_size=500):
  """uint8 [num, H, W, C] from sample_images(rng, batch_size), in fixed-size (single-compilation) batches."""
  rng = jax.random.PRNGKey(seed)
  out = []
  for i in range(0, num, batch_size):
    out.append(np.asarray(sample_images(jax.random.fold_in(rng, i), batch_size)))
  return np.concatenate(out)[:num]


def image_generator_metrics(sample_images, config, num=1000, seed=0):
  """{fid, fid_test, kid, kid_std, precision, recall, classifier_score, real_fid_train_vs_test, ...}.

  sample_images(rng, n) -> uint8 [n, H, W, C]. Features: the domain classifier of config.data.source. `fid`, `kid`
  and precision/recall compare with the train split (the distribution the generator learned); `fid_test` with the
  held-out split; `real_fid_train_vs_test` is the FID of the real train split against the real test split, the
  floor these numbers should be read against (the test split is small, so FIDs against it are biased upward).
  """
  d = config.data
  extractor = FeatureExtractor(d.source)
  train = open_source(d.source, d.split, d.image_size, d.channels).arrays["image"]
  test = open_source(d.source, d.eval_split, d.image_size, d.channels).arrays["image"]
  fake = generate(sample_images, num, seed)
  (f_fake, p_fake), (f_train, _), (f_test, _) = extractor(fake), extractor(train), extractor(test)
  kid, kid_std = distribution.kernel_inception_distance(f_train, f_fake, num_subsets=50, subset_size=500, seed=seed)
  m = min(len(f_train), len(f_fake))
  precision, recall = distribution.precision_recall(f_train[:m], f_fake[:m], k=3)
  score, score_std = distribution.inception_score(p_fake, splits=10)
  return {"fid": distribution.fid_from_features(f_train, f_fake),
          "fid_test": distribution.fid_from_features(f_test, f_fake),
          "kid": kid, "kid_std": kid_std, "precision": precision, "recall": recall,
          "classifier_score": score, "classifier_score_std": score_std,
          "real_fid_train_vs_test": distribution.fid_from_features(f_train, f_test),
          "num_samples": int(num), "feature_extractor": f"{d.source}-classifier",
          "classifier_test_accuracy": extractor.test_accuracy}
