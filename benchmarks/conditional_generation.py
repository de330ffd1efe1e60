"""Does a conditional digits generator draw the digit its condition encodes, with variety?

For the workdir's condition kind it builds condition sets from the held-out test split and from inputs no training
example used, samples `--per-condition` images for each condition, and reports:
- accuracy: the fraction of samples the digits domain classifier (97.8% on real test images) calls as the digit of
  their condition; per set:
    label    test-split labels
    text     test-split captions; captions from NOVEL_TEMPLATES (wordings no training caption uses)
    audio    test-split DTMF clips; freshly synthesised clips (a new seed: new onsets, loudness, noise, phases)
    features test-split reference images (their edges/texture/colour)
- diversity: per class, the mean over pixels of the per-pixel standard deviation across that class's samples,
  divided by the same for the real train images of the class (>= 0.5 required; 1 = as varied as the data).

  python benchmarks/conditional_generation.py --workdir workdirs/text2img_digits [--per-condition 4]
"""
import argparse
import json

import jax
import numpy as np

import mmgen_jax
from mmgen_jax.data import captions, digits, dtmf
from mmgen_jax.metrics.classifier import FeatureExtractor
from mmgen_jax.models.cgan import SAMPLE_KEYWORD


def condition_sets(kind, seed=12345):
  """{set name: (conditions for Sampler.sample, digit labels int [N])}."""
  test = digits.digits_arrays("test")
  labels = test["label"]
  if kind == "label":
    return {"test labels": ({"labels": labels.astype(np.int32)}, labels)}
  if kind == "text":
    novel = captions.digit_captions(labels, test["id"], seed, captions.NOVEL_TEMPLATES)
    return {"test captions": ({"text": test["text"]}, labels), "novel wordings": ({"text": novel}, labels)}
  if kind == "audio":
    fresh = np.arange(300) % 10
    clips = dtmf.digit_clips(fresh, np.arange(300), seed)
    return {"test clips": ({"audio": test["audio"]}, labels), "fresh DTMF clips": ({"audio": clips}, fresh)}
  if kind == "features":
    return {"test references": ({"image": test["image"]}, labels)}
  raise ValueError(kind)


def class_diversity(images, labels, num_classes=10):
  """float [K]: mean over pixels of the per-pixel std across the images of each class (images in [0, 1])."""
  x = images.astype(np.float64) / 255.0
  return np.asarray([x[labels == c].std(axis=0).mean() for c in range(num_classes)])


def evaluate_set(model, extractor, conditions, labels, per_condition, seed):
  images, wanted = [], []
  for r in range(per_condition):
    out = model.sample(jax.random.PRNGKey(seed + r), len(labels), **conditions)
    images.append(np.asarray(out["images"]))
    wanted.append(labels)
  images, wanted = np.concatenate(images), np.concatenate(wanted)
  _, probs = extractor(images)
  real = digits.digits_arrays("train")
  ratio = class_diversity(images, wanted) / class_diversity(real["image"], real["label"])
  per_class = [float(np.mean(probs.argmax(-1)[wanted == c] == c)) for c in range(10)]
  return {"accuracy": float(np.mean(probs.argmax(-1) == wanted)), "num_samples": int(len(images)),
          "per_class_accuracy": [round(a, 3) for a in per_class],
          "diversity_ratio_min": float(ratio.min()), "diversity_ratio_mean": float(ratio.mean())}


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--per-condition", type=int, default=4)
  p.add_argument("--seed", type=int, default=0)
  args = p.parse_args()
  model = mmgen_jax.load(args.workdir)
  kind = model.config.model.condition
  extractor = FeatureExtractor(model.config.data.source)
  report = {"workdir": args.workdir, "step": model.step, "condition": kind, "fusion": model.config.model.fusion,
            "sample_keyword": SAMPLE_KEYWORD[kind], "classifier_test_accuracy": extractor.test_accuracy}
  for name, (conditions, labels) in condition_sets(kind).items():
    report[name] = evaluate_set(model, extractor, conditions, labels, args.per_condition, args.seed)
  print(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
