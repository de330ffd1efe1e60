"""Where speech -> image fails on the held-out voices, and whether the speech expert knew the digit there.

For each trained any2any workdir whose speech expert reads the label (`model.labelled_experts` with "speech"): the
share of the test split's clips whose label readout (the expert's own, or the shared readout of z) names the digit;
speech -> image (an image drawn from the clip alone by `any2any.sample_given`, judged by the digits classifier; a
draw of its own, so the share differs from `benchmarks/any_to_any.py`'s by a point or so); how many clips the readout
reads right where the image is wrong (z did not carry what the expert knew), and the test voices with the most
wrong images.

  python benchmarks/any_to_any_speech_errors.py --workdir workdirs/any2any_digits [--workdir ...] [--seed 0]
"""
import argparse
import collections
import json

import jax
import jax.numpy as jnp
import numpy as np

import mmgen_jax
from mmgen_jax.data import split_arrays
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.metrics.any_to_any import Judges
from mmgen_jax.models import any2any


def speech_errors(model, test, judges, seed):
  """{readout, speech_to_image, readout_right_image_wrong, both_wrong, worst_voices} on the test split."""
  config, variables = model.config, model.variables
  if "speech" not in config.model.labelled_experts:
    raise SystemExit(f"model.labelled_experts={list(config.model.labelled_experts)}: this workdir's speech expert "
                     f"reads no label; pass a workdir trained with 'speech' among them")
  labels, n = np.asarray(test["label"]), len(test["label"])
  net = any2any.make_model(config)
  clips = jnp.asarray(test["speech"])
  _, logits = jax.jit(lambda v, x: mixed_apply(net, v, {"speech": x}, method=any2any.AnyToAnyVAE.experts_and_labels,
                                               dtype=compute_dtype(config)))(variables, clips)
  readout = np.argmax(np.asarray(logits["speech"]), -1) == labels
  out = jax.jit(lambda v, r, x: any2any.sample_given(config, v, r, n, {"speech": x}))(
      variables, jax.random.PRNGKey(seed), clips)
  image = judges.calls("image", out) == labels
  wrong = collections.Counter(np.asarray(test["voice"])[~image])
  clips_of = collections.Counter(np.asarray(test["voice"]))
  return {"readout": float(readout.mean()), "speech_to_image": float(image.mean()),
          "readout_right_image_wrong": int(np.sum(readout & ~image)), "both_wrong": int(np.sum(~readout & ~image)),
          "worst_voices": [f"{v}: {k} of {clips_of[v]}" for v, k in wrong.most_common(4)]}


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", action="append", required=True, help="a trained any2any workdir (repeatable)")
  p.add_argument("--seed", type=int, default=0, help="the sampling seed")
  args = p.parse_args()
  test = split_arrays("any_digits", "test")
  judges = Judges()
  for workdir in args.workdir:
    print(workdir, json.dumps(speech_errors(mmgen_jax.load(workdir), test, judges, args.seed)), flush=True)


if __name__ == "__main__":
  main()
