"""Metrics of an image generator (unconditional or conditional) against a dataset, on the dataset's
domain-classifier features."""
import jax
import numpy as np

from mmgen_jax.data import split_arrays
from mmgen_jax.metrics import distribution
from mmgen_jax.metrics.classifier import FeatureExtractor


def generated_features(sample, extractor, num, seed, batch_size=500):
  """(features [num, D], probs [num, K], requested labels [num] or None, RunningMoments) of `num` samples.

  sample(rng, n) -> {'images': uint8 [n, H, W, C], optionally 'labels': int [n] (the classes asked for)}, called
  with one fixed batch size. Only features are kept: each batch's images are dropped once featurised, so `num` can
  be 50k.
  """
  rng = jax.random.PRNGKey(seed)
  feats, probs, labels, moments = [], [], [], distribution.RunningMoments()
  for i in range(0, num, batch_size):
    out = sample(jax.random.fold_in(rng, i), batch_size)
    f, p = extractor(np.asarray(out["images"])[:num - i], batch_size)
    moments.update(f)
    feats.append(f)
    probs.append(p)
    if "labels" in out:
      labels.append(np.asarray(out["labels"])[:num - i])
  return (np.concatenate(feats), np.concatenate(probs), np.concatenate(labels) if labels else None, moments)


def image_generator_metrics(sample, config, num=1000, seed=0):
  """{fid, fid_test, kid, kid_std, precision, recall, classifier_score, real_fid_train_vs_test, ...}.

  sample(rng, n) -> {'images': uint8 [n, H, W, C], optionally 'labels': int [n]}; with labels, `class_accuracy` is
  the fraction of samples the domain classifier assigns to the class they were asked for. Features: the domain
  classifier of config.data.source. `fid`, `kid` and precision/recall compare with the train split (the
  distribution the generator learned); `fid_test` with the held-out split; `real_fid_train_vs_test` is the FID of
  the real train split against the real test split, the floor these numbers should be read against (the test split
  is small, so FIDs against it are biased upward).
  """
  d = config.data
  extractor = FeatureExtractor(d.source)
  train = split_arrays(d.source, d.split, d.image_size, d.channels)["image"]
  test = split_arrays(d.source, d.eval_split, d.image_size, d.channels)["image"]
  f_fake, p_fake, requested, fake_moments = generated_features(sample, extractor, num, seed)
  (f_train, _), (f_test, _) = extractor(train), extractor(test)
  fake_stats = fake_moments.mean_cov()
  train_stats, test_stats = distribution.mean_cov(f_train), distribution.mean_cov(f_test)
  kid, kid_std = distribution.kernel_inception_distance(f_train, f_fake, num_subsets=50, subset_size=500, seed=seed)
  m = min(len(f_train), len(f_fake))
  precision, recall = distribution.precision_recall(f_train[:m], f_fake[:m], k=3)
  score, score_std = distribution.inception_score(p_fake, splits=min(10, len(p_fake)))
  scores = {"fid": distribution.frechet_distance(*train_stats, *fake_stats),
            "fid_test": distribution.frechet_distance(*test_stats, *fake_stats),
            "kid": kid, "kid_std": kid_std, "precision": precision, "recall": recall,
            "classifier_score": score, "classifier_score_std": score_std,
            "real_fid_train_vs_test": distribution.frechet_distance(*train_stats, *test_stats),
            "num_samples": int(num), "feature_extractor": f"{d.source}-classifier",
            "classifier_test_accuracy": extractor.test_accuracy}
  if requested is not None:
    scores["class_accuracy"] = float(np.mean(p_fake.argmax(-1) == requested))
  return scores
