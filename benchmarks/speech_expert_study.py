"""Which speech expert hears the digit from voices it never heard? A proxy study for the any-to-any model's speech
expert, whose reading of the word bounds every direction out of speech.

Each variant is the expert's network (`layers/audio.AudioEncoder` as `any2any` builds it, pooled by mean and max
over time) with a linear digit readout, trained as a classifier (Adam, cosine decay from 1e-3, batches of 32) on the
`any_digits` training split only (the data the any-to-any model trains on: the first `--takes` takes of its 1,528
digits, each take another clip of each digit) and scored on the test split's held-out voices. Variants: takes (1:
1,528 clips; 4: all 6,112) x `narrow` (16 ms hops, 3-tap convolutions: a 7-frame view; the config) or `wide`
(`model.speech_wide`: 10 ms hops, 5-tap convolutions, two halvings: ~0.5 s, a word's length) x random time shifts of
the clips in training (up to 0.2 s, wrapping around) or none; or, with `--augment`, sets of the model's own
augmentations (`any2any.augment_inputs`: `speech_shift`, `speech_masks`) in place of the shifts. A label-trained
readout is an upper bound on what the ELBO teaches the same network, not the model's figure; it ranks the networks
on the same data.

  python benchmarks/speech_expert_study.py [--steps 1500] [--seeds 2] [--takes 1,4] [--experts narrow,wide]
      [--shifts none,0.2] [--augment speech_shift,speech_shift+speech_masks]
"""
import argparse
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mmgen_jax.config import Config
from mmgen_jax.data import any_digits, batch_indices, split_arrays
from mmgen_jax.layers.augment import random_roll
from mmgen_jax.models import any2any

MAX_SHIFT = 3200  # 0.2 s at 16 kHz, as the spoken-digit judge trains with.


class ExpertProbe(nn.Module):
  """The any2any speech expert's network and pooling, then logits [B, 10]."""
  wide: bool

  @nn.compact
  def __call__(self, waves):
    tokens, _ = any2any.speech_encoder(self.wide, dim=64)(waves)  # The config's text_dim, 64.
    return nn.Dense(10)(jnp.concatenate([tokens.mean(1), tokens.max(1)], -1))


def run(wide, shift, train, test, steps, seed, batch=32, augment=None):
  """Held-out accuracy of one variant: `shift` (bool) rolls clips by up to MAX_SHIFT, `augment` (a tuple of
  any2any.AUGMENTATIONS, or None) applies the model's augmentations instead."""
  model = ExpertProbe(wide)
  params = model.init(jax.random.PRNGKey(seed), train["speech"][:1])
  tx = optax.adam(optax.cosine_decay_schedule(1e-3, steps))
  opt = tx.init(params)

  @jax.jit
  def step(params, opt, waves, labels, rng):
    if augment is not None:
      waves = any2any.augment_inputs(Config({"data": {"augment": list(augment)}}), {"speech": waves}, rng)["speech"]
    elif shift:
      waves = random_roll(rng, waves, MAX_SHIFT)

    def loss_fn(p):
      return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, waves), labels).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt = tx.update(grads, opt, params)
    return optax.apply_updates(params, updates), opt, loss

  labels = np.asarray(train["label"])
  for s in range(steps):
    idx = batch_indices(len(labels), batch, seed, s)
    params, opt, _ = step(params, opt, train["speech"][idx], labels[idx], jax.random.PRNGKey(1000 * seed + s))
  predict = jax.jit(model.apply)
  logits = np.concatenate([np.asarray(predict(params, test["speech"][i:i + 128]))
                           for i in range(0, len(test["label"]), 128)])
  return float(np.mean(logits.argmax(-1) == np.asarray(test["label"])))


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--steps", type=int, default=1500)
  p.add_argument("--seeds", type=int, default=2)
  p.add_argument("--takes", default="1,4", help="comma-separated: train on the first N takes of each digit")
  p.add_argument("--experts", default="narrow,wide", help="comma-separated: narrow, wide")
  p.add_argument("--shifts", default="none,0.2", help="comma-separated: none, 0.2 (s, random time shifts)")
  p.add_argument("--augment", default=None, help="comma-separated sets of any2any.AUGMENTATIONS joined by '+' "
                 "('none' for no augmentation), in place of --shifts")
  args = p.parse_args()
  if args.augment is not None:
    augments = [() if a == "none" else tuple(a.split("+")) for a in args.augment.split(",")]
    unknown = sorted({x for a in augments for x in a} - set(any2any.AUGMENTATIONS))
    if unknown:
      p.error(f"--augment {unknown[0]!r}: use sets of {', '.join(any2any.AUGMENTATIONS)} joined by '+', or none")
  full, test = split_arrays("any_digits", "train"), split_arrays("any_digits", "test")
  rows = []
  for takes in [int(t) for t in args.takes.split(",")]:
    first = np.asarray(full["id"]) < takes * any_digits.TAKE_ID_STRIDE
    train = {k: np.asarray(full[k])[first] for k in ("speech", "label")}
    for expert in args.experts.split(","):
      variants = ([(False, a) for a in augments] if args.augment is not None else
                  [(s == "0.2", None) for s in args.shifts.split(",")])
      for shift, augment in variants:
        start = time.perf_counter()
        scores = [run(expert == "wide", shift, train, test, args.steps, seed, augment=augment)
                  for seed in range(args.seeds)]
        how = ("+".join(augment) or "none") if augment is not None else ("up to 0.2 s" if shift else "none")
        rows.append((len(train["label"]), expert, how, scores, (time.perf_counter() - start) / args.seeds))
        print(rows[-1], flush=True)
  print(f"\n{len(test['label'])} test clips (held-out voices), {args.steps} steps of 32; test accuracy (%) per seed")
  varied = "augmentation" if args.augment is not None else "time shifts"
  print(f"| training clips | expert | {varied} in training | " + " | ".join(f"seed {s}" for s in range(args.seeds))
        + " | mean | s per run |")
  print("|---|---|---|" + "---|" * (args.seeds + 2))
  for clips, expert, how, scores, seconds in rows:
    print(f"| {clips:,} | {expert} | {how} | "
          + " | ".join(f"{100 * s:.1f}" for s in scores) + f" | {100 * np.mean(scores):.1f} | {seconds:.0f} |")


if __name__ == "__main__":
  main()
