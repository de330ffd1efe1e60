"""Are a trained digits generator's samples recognisable digits? Checked by an independent classifier.

The judge is scikit-learn's SVC (RBF, probability outputs) trained on the real `digits` train split at the
dataset's native 8x8 resolution: nothing of mmgen_jax's own models is involved. It reports the judge's accuracy on
the real test split (for scale), then for N generated samples: the class histogram, the number of classes covered,
the mean top-class probability, and the fraction of samples the judge calls with probability >= 0.8 (the same
numbers for the real test images are printed beside them).

  python benchmarks/digits_sample_quality.py --workdir workdirs/dcgan_digits [--num 1000]
"""
import argparse
import json

import jax
import numpy as np
from skimage.transform import resize
from sklearn.svm import SVC

import mmgen_jax
from mmgen_jax.data import digits


def to_8x8(images):
  """uint8 [N, 32, 32, 1] -> float [N, 64] on scikit-learn's 0..16 scale (area-averaged downsampling)."""
  small = np.stack([resize(im[..., 0] / 255.0, (8, 8), anti_aliasing=True) for im in images])
  return small.reshape(len(images), -1) * 16.0


def judge_stats(clf, images):
  probs = clf.predict_proba(to_8x8(images))
  pred, conf = probs.argmax(1), probs.max(1)
  return {"class_counts": np.bincount(pred, minlength=10).tolist(), "classes_covered": int(len(set(pred))),
          "mean_confidence": float(conf.mean()), "frac_confident_0.8": float((conf >= 0.8).mean())}


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--workdir", required=True)
  p.add_argument("--num", type=int, default=1000)
  p.add_argument("--seed", type=int, default=0)
  args = p.parse_args()
  train, test = digits.digits_arrays("train"), digits.digits_arrays("test")
  clf = SVC(gamma="scale", C=10, probability=True, random_state=0).fit(to_8x8(train["image"]), train["label"])
  model = mmgen_jax.load(args.workdir)
  fake = np.asarray(model.sample(jax.random.PRNGKey(args.seed), args.num)["images"])
  print(json.dumps({"workdir": args.workdir, "step": int(model.step),
                    "judge_test_accuracy": float((clf.predict(to_8x8(test["image"])) == test["label"]).mean()),
                    "real_test": judge_stats(clf, test["image"]), "generated": judge_stats(clf, fake)}, indent=1))


if __name__ == "__main__":
  main()
