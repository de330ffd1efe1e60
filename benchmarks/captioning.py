"""Captioning quality and decoding speed of a trained captioner, greedy and beam side by side.

Quality, on the whole held-out test split: `digit_accuracy` (the caption names the image's digit and no other),
corpus BLEU-4 against the example's own caption (its template was drawn at random, so no model can predict it:
read it as a floor) and against all 20 training renderings of the digit (`bleu4_multi`), and the digits domain
classifier's accuracy on the same images for reference. Speed: captions/s of the jitted decoder at batch 1 and
batch 256 (median of `--repeats` timed calls after one warm-up), and the compile time of each.

  python benchmarks/captioning.py --workdir workdirs/caption_digits [--beams 1,4] [--repeats 5]
"""
import argparse
import json
import time

import jax
import numpy as np

import mmgen_jax
from mmgen_jax.data import digits
from mmgen_jax.metrics.classifier import FeatureExtractor
from mmgen_jax.models import caption
from mmgen_jax.layers.pixels import to_float


def decode_speed(model, beam_size, batch, repeats):
  """(compile seconds, captions/s) of the jitted decoder for `batch` test images."""
  images = np.resize(digits.digits_arrays("test")["image"], (batch, 32, 32, 1))
  run = jax.jit(lambda x: caption.generate(model.config, model.variables, to_float(x), beam_size))
  start = time.perf_counter()
  run(images).block_until_ready()
  compile_s = time.perf_counter() - start
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    run(images).block_until_ready()
    times.append(time.perf_counter() - start)
  return compile_s, batch / float(np.median(times))


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--beams", default="1,4", help="comma-separated beam widths (1 = greedy)")
  p.add_argument("--repeats", type=int, default=5)
  args = p.parse_args()
  model = mmgen_jax.load(args.workdir)
  test = digits.digits_arrays("test")
  _, probs = FeatureExtractor("digits", progress=False)(test["image"])
  report = {"workdir": args.workdir, "step": int(model.step), "device": jax.devices()[0].device_kind,
            "num_test": len(test["label"]),
            "classifier_accuracy": float(np.mean(np.argmax(probs, -1) == test["label"])), "decoders": {}}
  for beam in [int(b) for b in args.beams.split(",")]:
    name = "greedy" if beam == 1 else f"beam{beam}"
    scores = caption.evaluate(model.config, model.state, num=len(test["label"]), beam_size=beam)
    speed = {}
    for batch in (1, 256):
      compile_s, rate = decode_speed(model, beam, batch, args.repeats)
      speed[f"batch{batch}"] = {"captions_per_s": round(rate, 1), "compile_s": round(compile_s, 2)}
    report["decoders"][name] = {**{k: round(v, 4) for k, v in scores.items() if k != "num"}, **speed}
  examples = model.sample(0, 10, image=test["image"][:10])["text"]
  report["examples"] = [f"{l}: {t}" for l, t in zip(test["label"][:10].tolist(), examples.tolist())]
  print(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
