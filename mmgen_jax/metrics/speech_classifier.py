"""The spoken-digit judge: a log-mel CNN trained on eSpeak clips of the **training voices** only, so its accuracy on
the test split is on voices it never heard. It judges generated speech (after phase reconstruction) the way the
digits classifier judges generated images; it shares nothing with any generator.

Training clips are synthesised afresh (`data/speech.spoken_digits` over ids no dataset uses, the train voices, a
fixed seed): 8,000 clips, ~1.3x the `any_digits` training split's 6,112. The weights ship in `metrics/weights/`
like the digits classifier's; without them they are trained once per machine and cached. `python -m
mmgen_jax.metrics.speech_classifier` trains one into the cache and prints its test accuracy.
"""
import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm

from mmgen_jax.checkpoint import write_json
from mmgen_jax.data import batch_indices, speech
from mmgen_jax.files import atomic_write
from mmgen_jax.layers.augment import random_roll
from mmgen_jax.layers.audio import standardized_log_mel
from mmgen_jax.locks import file_lock
from mmgen_jax.metrics.batched import batched
from mmgen_jax.metrics.classifier import cache_dir, flatten_params, unflatten_params

NAME, VERSION = "speech-digits", 1
N_FFT, HOP, N_MELS = 512, 160, 64
TRAIN_CLIPS, TRAIN_SEED, FIRST_ID = 8000, 7, 10_000_000  # Ids far above any dataset's.
STEPS, BATCH = 1500, 64


class SpeechClassifier(nn.Module):
  """float32 waveforms [B, 16000] at 16 kHz -> logits [B, 10]. Temporal convolutions over standardised log-mel
  frames (mels as channels), pooled by mean and max over time (a word sits anywhere in the clip)."""
  width: int = 128

  @nn.compact
  def __call__(self, waves):
    x = standardized_log_mel(waves, speech.SAMPLE_RATE, N_FFT, HOP, N_MELS)  # [B, 101, 64]
    x = nn.Dense(self.width)(x)
    for _ in range(2):
      for _ in range(2):
        x = x + nn.Conv(self.width, (5,))(nn.gelu(nn.LayerNorm()(x)))
      x = nn.max_pool(x, (2,), (2,))
    x = nn.LayerNorm()(x)
    return nn.Dense(10)(nn.gelu(nn.Dense(self.width)(jnp.concatenate([x.mean(1), x.max(1)], -1))))


def training_clips(num=TRAIN_CLIPS):
  """(float32 [num, 16000], labels int64 [num]): fresh clips of the train voices only, digits cycling 0-9."""
  labels = np.arange(num, dtype=np.int64) % 10
  clips, _, _ = speech.spoken_digits(labels, FIRST_ID + np.arange(num), "train", TRAIN_SEED)
  return clips, labels


def fit(clips, labels, steps=STEPS, progress=True, seed=0):
  """Params trained with Adam (cosine decay from 2e-3) on batches of clips, each rolled by a random shift of up to
  0.2 s (onsets vary) -> params."""
  model = SpeechClassifier()
  params = jax.jit(model.init)(jax.random.PRNGKey(seed), clips[:1])
  tx = optax.adam(optax.cosine_decay_schedule(2e-3, steps))
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, waves, labels, rng):
    waves = random_roll(rng, waves, 3200)

    def loss_fn(p):
      return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, waves), labels).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  for s in tqdm.trange(steps, desc="training the spoken-digit judge (once)", disable=not progress, leave=False):
    idx = batch_indices(len(labels), BATCH, seed, s)
    params, opt_state, _ = step(params, opt_state, clips[idx], labels[idx], jax.random.PRNGKey(s))
  return params


class SpeechJudge:
  """`judge(waves float32 [N, 16000])` -> int [N] digits heard; `probs(waves)` -> [N, 10]. Jitted, batched."""

  def __init__(self, progress=True):
    model = SpeechClassifier()
    template = jax.eval_shape(model.init, jax.random.PRNGKey(0), np.zeros((1, speech.CLIP_SAMPLES), np.float32))
    path = _shipped_path()
    if not os.path.exists(path + ".npz"):
      path = _trained_path(progress)
    with np.load(path + ".npz", allow_pickle=False) as f:
      self.params = unflatten_params(dict(f), template)
    with open(path + ".json") as f:
      self.test_accuracy = json.load(f)["test_accuracy"]
    self._apply = jax.jit(lambda p, w: jax.nn.softmax(model.apply(p, w)))

  def probs(self, waves, batch_size=256):
    if not len(waves):
      return np.zeros((0, 10), np.float32)
    # Fixed-size chunks (one compilation per size); 8 clips are not padded to 256.
    return batched(lambda w: {"p": self._apply(self.params, w)}, {"w": np.asarray(waves, np.float32)},
                   batch_size)["p"]

  def __call__(self, waves):
    return np.argmax(self.probs(waves), -1)


def test_accuracy(params):
  """Accuracy on the `any_digits` test split: voices never heard in training."""
  from mmgen_jax.data.sources import split_arrays

  test = split_arrays("any_digits", "test")
  logits = jax.jit(SpeechClassifier().apply)(params, test["speech"])
  return float(np.mean(np.argmax(logits, -1) == test["label"]))


def _shipped_path():
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", f"{NAME}-v{VERSION}")


def _trained_path(progress=True):
  path = os.path.join(cache_dir(), "classifiers", f"{NAME}-v{VERSION}")
  with file_lock(path + ".lock"):  # One process trains; the others wait and load its cache.
    if not (os.path.exists(path + ".npz") and os.path.exists(path + ".json")):
      params = fit(*training_clips(), progress=progress)
      with atomic_write(path + ".npz", "wb") as f:
        np.savez(f, **flatten_params(params))
      write_json(path + ".json", {"test_accuracy": test_accuracy(params), "train_clips": TRAIN_CLIPS,
                                  "version": VERSION})
  return path


def main():
  """Trains the judge into the cache (once) and prints where it is and its test accuracy; with --clips N, a study:
  the same training on N fresh clips of the training voices, not cached (how much speech a spoken-digit reader
  needs: `any_digits` trains its generators on 6,112 clips, four takes of its 1,528 training digits)."""
  import argparse

  parser = argparse.ArgumentParser(description=main.__doc__.split(";")[0])
  parser.add_argument("--clips", type=int, help="train on this many clips instead (a study; nothing is cached)")
  args = parser.parse_args()
  if args.clips:
    accuracy = test_accuracy(fit(*training_clips(args.clips)))
    print(f"{args.clips} training clips: {100 * accuracy:.1f}% on the test voices")
    return
  path = _trained_path()
  with open(path + ".json") as f:
    print(path + ".npz", json.load(f))


if __name__ == "__main__":
  main()
