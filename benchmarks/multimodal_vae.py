"""Cross-modal coherence of a trained multimodal VAE, with picture grids.

On the whole held-out test split, one input modality at a time:
- text -> image, audio -> image: the digits domain classifier's call on the generated image (z drawn from the
  product-of-experts posterior; the classifier scores 97.8% on the real test images);
- image -> text: the greedy caption from the posterior mean names the digit and no other;
- image -> audio: a plain DTMF decoder (`data/dtmf.detect_keys`, 100% on the real clips) dials the digit from the
  generated log-mel, and again after additive synthesis to a waveform and re-analysis;
- joint: from the prior, how often the three generated modalities agree on one digit.
Grids in --out: for digits 0..9 (columns), images generated from 8 test captions / clips per digit (rows).

  python benchmarks/multimodal_vae.py --workdir workdirs/mvae_digits
"""
import argparse
import json
import os

import jax
import numpy as np

import mmgen_jax
from mmgen_jax.data import dtmf, split_arrays
from mmgen_jax.data.captions import named_digits
from mmgen_jax.layers.audio import standardized_log_mel
from mmgen_jax.metrics.classifier import FeatureExtractor
from mmgen_jax.models import mvae
from mmgen_jax.train.images import save_captioned_grid, save_grid


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--out", default="docs/results/mvae")
  p.add_argument("--joint", type=int, default=1000, help="prior samples for the joint-coherence check")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  model = mmgen_jax.load(args.workdir)
  config, variables = model.config, model.variables
  report = {"workdir": args.workdir, "step": int(model.step)}
  report.update(mvae.cross_modal_coherence(config, variables))
  test = split_arrays(config.data.source, config.data.eval_split)
  labels = np.asarray(test["label"])
  classify = FeatureExtractor("digits", progress=False)

  def generate(seed, n, mean=False, **conditions):
    """`mvae.sample_given` (jitted; `mean` static) with host-side text encoding and decoding."""
    conditions = mvae.encode_inputs(config, conditions)
    run = jax.jit(lambda rng, c: mvae.sample_given(config, variables, rng, n, c, mean))
    return mvae.decode_outputs(config, run(jax.random.PRNGKey(seed), conditions))

  # image -> audio through the waveform: synthesise, re-analyse, decode the key.
  out = generate(0, len(labels), mean=True, image=test["image"])
  resynth = np.asarray(standardized_log_mel(out["audio"], dtmf.SAMPLE_RATE))
  report["image_to_audio_waveform"] = float(np.mean(dtmf.detect_keys(resynth) == labels))

  # Joint generation from the prior: do the three modalities name the same digit?
  joint = generate(1, args.joint)
  image_digit = np.argmax(classify(np.asarray(joint["images"]))[1], -1)
  text_digit = np.asarray([next(iter(d)) if len(d) == 1 else -2 for d in map(named_digits, joint["text"])])
  audio_digit = dtmf.detect_keys(np.asarray(joint["log_mel"]))
  report["joint_image_text_agree"] = float(np.mean(image_digit == text_digit))
  report["joint_image_audio_agree"] = float(np.mean(image_digit == audio_digit))
  report["joint_all_agree"] = float(np.mean((image_digit == text_digit) & (image_digit == audio_digit)))

  # Grids: column c = digit c, 8 rows of different test inputs of that digit.
  index = np.asarray([np.flatnonzero(labels == c)[r] for r in range(8) for c in range(10)])
  for name, cond in (("text", {"text": test["text"][index]}), ("audio", {"audio": test["audio"][index]})):
    images = np.asarray(generate(2, len(index), **cond)["images"])
    save_grid(os.path.join(args.out, f"{name}_to_image.png"), images, cols=10)
  captions = generate(3, 20, mean=True, image=test["image"][index[:20]])["text"]
  save_captioned_grid(os.path.join(args.out, "image_to_text.png"), test["image"][index[:20]], captions, cols=10)
  report["grids"] = args.out
  print(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
