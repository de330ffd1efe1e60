"""Heard voices against unseen ones: every direction of a trained any2any model on examples of the training split
(voices and digits it trained on) beside the held-out test split, the same evaluation as `benchmarks/any_to_any.py`.
A direction out of speech far better on the training voices than on the test voices tells an expert that learnt
the training clips rather than the words.

  python benchmarks/any_to_any_voices.py --workdir workdirs/any2any_digits [--workdir ...] [--num 269] [--seed 0]
      [--splits train,test]

Prints one JSON line per workdir and split, then a markdown table of the directions (train / test, in %). With
the same seed and all 269 test examples, the test split's figures are `benchmarks/any_to_any.py`'s.
"""
import argparse
import json

import numpy as np

import mmgen_jax
from mmgen_jax.data import split_arrays
from mmgen_jax.metrics.any_to_any import coherence_report
from mmgen_jax.models import any2any


def split_report(model, split, num, seed):
  """The model's coherence report on `num` examples of `split`, drawn at random with a fixed seed (the training
  split's order groups its voices)."""
  c = model.config
  arrays = split_arrays(c.data.source, split, c.data.image_size, c.data.channels, c.data.get("frames"))
  rows = np.random.default_rng(seed).permutation(len(arrays["label"]))[:num]
  arrays = {k: np.asarray(v)[rows] for k, v in arrays.items()}
  return coherence_report(c, model.state.ema_variables(), any2any.sample_masked, any2any.encode_inputs,
                          any2any.decode_outputs, arrays, any2any.INPUT_KEY, any2any._modalities(c), num, seed)


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", action="append", required=True, help="a trained any2any workdir (repeatable)")
  p.add_argument("--num", type=int, default=269, help="examples per split (the test split has 269)")
  p.add_argument("--seed", type=int, default=0, help="the examples' draw and the sampling seed")
  p.add_argument("--splits", default="train,test", help="comma-separated: train, test or both")
  args = p.parse_args()
  splits, lines = args.splits.split(","), []
  for workdir in args.workdir:
    model = mmgen_jax.load(workdir)
    scores = {}
    for split in splits:
      scores[split] = split_report(model, split, args.num, args.seed)
      print(json.dumps({"workdir": workdir, "split": split, **scores[split]}), flush=True)
    modalities = any2any._modalities(model.config)
    directions = [f"{s}_to_{t}" for s in modalities for t in modalities if s != t]
    if not lines:
      lines = ["| workdir | " + " | ".join(d.replace("_to_", " → ") for d in directions) + " |",
               "|---|" + "---|" * len(directions)]
    lines.append(f"| `{workdir}` | " + " | ".join(
        " / ".join(f"{100 * scores[split][d]:.1f}" for split in splits) for d in directions) + " |")
  print(f"\nEach cell: {' / '.join(splits)} split, % of examples whose generated modality is the digit.\n")
  print("\n".join(lines))


if __name__ == "__main__":
  main()
