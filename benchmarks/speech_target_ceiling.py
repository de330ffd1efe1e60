"""How well can a speech decoder that draws an average be heard? The ceiling of any2any's directions into speech.

A decoder trained under a unit Gaussian (`any2any.DenseSpeechDecoder`) draws, for a code that names a digit, the mean
of the target spectrograms (`any2any.speech_target`) of the clips that code stands for. This script judges such means
directly, with no model in between: the training split's targets of each digit are split into K clusters (k-means,
K = 1: the digit's mean), each cluster's mean goes through the sampler's phase reconstruction (mel pseudo-inverse,
32 iterations of fast Griffin-Lim), and the spoken-digit judge hears it; accuracy is the share of clips whose
cluster's mean is heard as their digit. Beside it, the judge on single clips' targets through the same path (what a
decoder that drew one voice sharply could reach), and on the means of each (digit, word form) group (`word_form`:
"seven", "number seven", ...; what a decoder that is told the form and draws an average can reach).

With `--workdir`, also a global-variance postfilter (statistical speech synthesis's fix for over-smoothed
spectrograms, Toda & Tokuda 2007) on the model's X -> speech for the held-out split: each mel band's deviation from
its mean over time scaled so that its variance over time is the training targets' average.

`--span N` judges the target stretched in time so that the word spans N frames (`model.speech_word_span`) in place
of the centred one.

  python benchmarks/speech_target_ceiling.py [--workdir workdirs/any2any_digits] [--clusters 1 2 4 8 16] [--span 70]
"""
import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.cluster import KMeans

from mmgen_jax.data import split_arrays
from mmgen_jax.layers import audio
from mmgen_jax.metrics.speech_classifier import SpeechJudge
from mmgen_jax.models import any2any
from speech_decoder_study import targets  # benchmarks/, beside this script.

SOURCES = {"image": "image", "text": "caption_ids", "video": "video"}  # X -> speech: the condition's batch key.


def heard(judge, to_wave, log_mels):
  """Digits the judge hears in scaled log-mels [N, frames, mels] after phase reconstruction."""
  waves = np.concatenate([np.asarray(to_wave(jnp.asarray(log_mels[i:i + 64]))) for i in range(0, len(log_mels), 64)])
  return judge(waves)


def judge_means(judge, to_wave, name, means, digits, sizes):
  """Hears the group means [G, frames, mels] of digits [G] and groups of sizes [G]; prints and returns the share
  of clips whose group's mean is heard right, and the means heard as another digit."""
  said = heard(judge, to_wave, means)
  right = said == digits
  weighted = float(np.sum(right * sizes) / np.sum(sizes))
  wrong = ", ".join(f"{d} -> {h}" for d, h in zip(digits.tolist(), said.tolist()) if d != h) or "none"
  print(f"{name}: {int(right.sum())} of {len(right)} heard right, {100 * weighted:.1f}% of clips by group size; "
        f"misheard (digit -> heard): {wrong}", flush=True)
  return {"weighted": weighted, "means heard right": int(right.sum()), "means": len(right)}


def cluster_means(target, labels, k, seed=0):
  """(means [10 K, frames, mels], their digits [10 K], their clusters' sizes [10 K])."""
  means, digits, sizes = [], [], []
  for d in range(10):
    x = target[labels == d].reshape(int(np.sum(labels == d)), -1)
    fit = KMeans(k, n_init=3, random_state=seed).fit(x)
    means.append(fit.cluster_centers_.reshape((k,) + target.shape[1:]))
    digits += [d] * k
    sizes.append(np.bincount(fit.labels_, minlength=k))
  return np.concatenate(means).astype(np.float32), np.array(digits), np.concatenate(sizes)


def form_means(target, labels, forms):
  """(means [G, frames, mels], their digits [G], their groups' sizes [G]) of the (digit, word form) groups."""
  groups = sorted({(d, f) for d, f in zip(labels.tolist(), forms.tolist())})
  means = np.stack([target[(labels == d) & (forms == f)].mean(0) for d, f in groups]).astype(np.float32)
  sizes = np.array([np.sum((labels == d) & (forms == f)) for d, f in groups])
  return means, np.array([d for d, _ in groups]), sizes


def global_variance(log_mel, band_variance):
  """Scaled log-mels [N, frames, mels] with each band's variance over time set to band_variance [mels], its mean
  over time kept, clipped to the target's range."""
  mean = log_mel.mean(1, keepdims=True)
  scale = np.sqrt(band_variance[None, None] / np.maximum(log_mel.var(1, keepdims=True), 1e-6))
  return np.clip(mean + (log_mel - mean) * scale, -any2any.SPEECH_RANGE / any2any.SPEECH_SCALE, 0.0)


def postfilter_rows(workdir, judge, to_wave, band_variance):
  import mmgen_jax

  model = mmgen_jax.load(workdir)
  config, variables = model.config, model.variables
  test = split_arrays("any_digits", "test")
  labels = np.asarray(test["label"])
  encoded = any2any.encode_inputs(config, {k: test[k] for k in ("image", "text", "video")})
  generate = jax.jit(lambda rng, given: any2any.sample_given(config, variables, rng, 64, given)["speech_log_mel"])
  rows = {}
  for source, key in SOURCES.items():
    chunks = []
    for i in range(0, len(labels), 64):
      given = np.asarray(encoded[key][i:i + 64])
      n = len(given)
      given = np.concatenate([given, np.repeat(given[-1:], 64 - n, 0)])  # One program: pad the last chunk.
      chunks.append(np.asarray(generate(jax.random.PRNGKey(i), {key: given}))[:n])
    log_mel = np.concatenate(chunks)
    rows[source] = {
        "as sampled": float(np.mean(heard(judge, to_wave, log_mel) == labels)),
        "global variance": float(np.mean(heard(judge, to_wave, global_variance(log_mel, band_variance)) == labels)),
        "variance over time, output / targets": float(log_mel.var(1).mean() / band_variance.mean())}
  return rows


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--clusters", type=int, nargs="+", default=[1, 2, 4, 8, 16])
  p.add_argument("--workdir", help="a trained any2any workdir: also the global-variance postfilter on its samples")
  p.add_argument("--span", type=int, default=0, help="the target stretched so the word spans this many frames (0: "
                 "centred only)")
  args = p.parse_args()
  train = split_arrays("any_digits", "train")
  labels = np.asarray(train["label"])
  centred = targets(train["speech"], "dense")
  first, last = audio.word_extent(centred + any2any.SPEECH_RANGE / any2any.SPEECH_SCALE)
  length = np.asarray(last - first)
  print(f"the training words' length (frames, layers/audio.word_extent): median {np.median(length):.1f}, 5th-95th "
        f"percentile {np.percentile(length, 5):.1f}-{np.percentile(length, 95):.1f}", flush=True)
  target = np.asarray(targets(train["speech"], f"stretched{args.span}") if args.span else centred)
  judge = SpeechJudge(progress=False)
  to_wave = jax.jit(lambda t: any2any.speech_waveform(t, 32))
  single = float(np.mean(heard(judge, to_wave, target) == labels))
  out = {"single clips": single, "cluster means": {}}
  print(f"single training clips' targets through Griffin-Lim: {100 * single:.1f}%", flush=True)
  for k in args.clusters:
    out["cluster means"][k] = judge_means(judge, to_wave, f"K = {k} cluster means per digit",
                                          *cluster_means(target, labels, k))
  out["word form means"] = judge_means(judge, to_wave, "(digit, word form) means",
                                       *form_means(target, labels, np.asarray(train["word_form"])))
  if args.workdir:
    out["postfilter"] = postfilter_rows(args.workdir, judge, to_wave, target.var(1).mean(0))
    for source, row in out["postfilter"].items():
      print(f"{source} -> speech (held-out): {100 * row['as sampled']:.1f}% as sampled, "
            f"{100 * row['global variance']:.1f}% with the global-variance postfilter (output variance "
            f"{row['variance over time, output / targets']:.2f}x the targets')", flush=True)
  print(json.dumps(out))


if __name__ == "__main__":
  main()
