"""Feature-extraction throughput (images/s) of each extractor on this machine, after compilation.

  python benchmarks/feature_throughput.py [--batch 200] [--inception-batch 16]

The Inception runs with random weights (throughput does not depend on the values). Prints one JSON line each.
"""
import argparse
import json
import time

import jax
import numpy as np

from mmgen_jax.metrics import inception
from mmgen_jax.metrics.classifier import FeatureExtractor


def throughput(fn, images, reps):
  jax.block_until_ready(fn(images))  # Compile.
  t = time.perf_counter()
  for _ in range(reps):
    out = fn(images)
  jax.block_until_ready(out)
  return reps * len(images) / (time.perf_counter() - t)


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--batch", type=int, default=500)
  p.add_argument("--inception-batch", type=int, default=16)
  args = p.parse_args()
  device = jax.devices()[0].device_kind
  rng = np.random.default_rng(0)

  digits = FeatureExtractor("digits", progress=False)
  images = rng.integers(0, 256, (args.batch, 32, 32, 1), dtype=np.uint8)
  rate = throughput(lambda x: digits._apply(digits.params, x), images, reps=10)
  print(json.dumps({"extractor": "digits-classifier", "input": "32x32x1", "batch": args.batch,
                    "images_per_s": round(rate, 1), "device": device}))

  variables = inception.init_variables()
  apply = jax.jit(inception.FIDInceptionV3().apply)
  images = rng.random((args.inception_batch, 32, 32, 3), dtype=np.float32)
  rate = throughput(lambda x: apply(variables, x), images, reps=3)
  print(json.dumps({"extractor": "fid-inception-v3", "input": "32x32x3 -> 299x299", "batch": args.inception_batch,
                    "images_per_s": round(rate, 1), "device": device}))


if __name__ == "__main__":
  main()
