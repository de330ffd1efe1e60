"""Which speech decoder and target let an any-to-any model speak? A study on the frozen latents of a trained run.

The experts of a trained `any2any` workdir are frozen; only a fresh speech decoder is trained (Adam, unit-Gaussian
log-likelihood) on codes z drawn from the posteriors the model trains on (the joint and each single modality, over
the training split). Each variant is then judged as the model is: z from one held-out test modality (image, text,
speech, video), the decoder's log-mel through fast Griffin-Lim, the spoken-digit judge's accuracy on the waveform.
Variants: the decoder (`conv`: `any2any.SpeechDecoder`, template by upsampling convolutions, its delivery code held
at 0; `dense`: `any2any.DenseSpeechDecoder`) x the target (`shifted`: the log-mel relative to the peak, noise and
onset included; `dense`: the word above the noise floor, centred; `any2any.speech_target`). Also prints how much of
the target's variance the digit explains (the class means' error against the global mean's).

  python benchmarks/speech_decoder_study.py --workdir workdirs/any2any_digits [--steps 1000]
"""
import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import mmgen_jax
from mmgen_jax.data import split_arrays
from mmgen_jax.layers.experts import product_of_experts
from mmgen_jax.metrics.speech_classifier import SpeechJudge
from mmgen_jax.models import any2any

SOURCES = ("image", "text", "speech", "video")
VARIANTS = (("dense", "shifted"), ("conv", "dense"), ("dense", "dense"))  # (decoder, target)


def frozen_experts(model, split):
  """{modality: (mean, logvar) [N, L]} of the shared latent on a split, and its arrays."""
  config, variables = model.config, model.variables
  arrays = split_arrays("any_digits", split)
  inputs = any2any._model_inputs(any2any.encode_inputs(config, {k: arrays[k] for k in SOURCES}))
  net = any2any.make_model(config)
  run = jax.jit(lambda v, x: net.apply(v, x, method=any2any.AnyToAnyVAE.experts))
  chunks = [run(variables, {k: x[i:i + 128] for k, x in inputs.items()}) for i in range(0, len(arrays["label"]), 128)]
  latent = config.model.latent_dim
  experts = {k: tuple(jnp.concatenate([c[k][j][:, :latent] for c in chunks]) for j in (0, 1)) for k in SOURCES}
  return experts, arrays


def targets(waves, kind):
  return jnp.concatenate([any2any.speech_target(jnp.asarray(waves[i:i + 256]), kind) for i in range(0, len(waves), 256)])


def decoder(kind, frames):
  if kind == "dense":
    return any2any.DenseSpeechDecoder(frames)
  return _ZeroDelivery(any2any.SpeechDecoder(frames, gain=False))


class _ZeroDelivery:
  """The convolutional decoder with its delivery code held at 0 (no shift, no colour): the word from z alone."""

  def __init__(self, net):
    self.net = net

  def init(self, rng, z):
    return self.net.init(rng, z, jnp.zeros((z.shape[0], 8)))

  def apply(self, params, z):
    return self.net.apply(params, z, jnp.zeros((z.shape[0], 8)))


def train(net, experts, target, steps, batch=64, lr=1e-3, seed=0):
  params = net.init(jax.random.PRNGKey(seed), jnp.zeros((1, experts["image"][0].shape[1])))
  tx = optax.adam(optax.cosine_decay_schedule(lr, steps))
  subsets = (SOURCES,) + tuple((k,) for k in SOURCES)

  @jax.jit
  def step(params, opt, rng):
    pick_rng, z_rng = jax.random.split(rng)
    idx = jax.random.randint(pick_rng, (batch,), 0, target.shape[0])
    picked = {k: (mu[idx], lv[idx]) for k, (mu, lv) in experts.items()}
    posteriors = [product_of_experts(picked, {k: jnp.full(batch, k in s) for k in SOURCES}) for s in subsets]
    mean, logvar = (jnp.concatenate([p[j] for p in posteriors]) for j in (0, 1))
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(z_rng, mean.shape)
    goal = jnp.tile(target[idx], (len(subsets), 1, 1))
    loss, grads = jax.value_and_grad(lambda p: jnp.mean((net.apply(p, z) - goal) ** 2))(params)
    updates, opt = tx.update(grads, opt, params)
    return optax.apply_updates(params, updates), opt, loss

  opt, rng = tx.init(params), jax.random.PRNGKey(seed + 1)
  for _ in range(steps):
    rng, key = jax.random.split(rng)
    params, opt, loss = step(params, opt, key)
  return params, float(loss)


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True, help="a trained any2any workdir (only its experts are used)")
  p.add_argument("--steps", type=int, default=1000)
  args = p.parse_args()
  model = mmgen_jax.load(args.workdir)
  train_experts, train_arrays = frozen_experts(model, "train")
  test_experts, test_arrays = frozen_experts(model, "test")
  labels, train_labels = np.asarray(test_arrays["label"]), np.asarray(train_arrays["label"])
  hear = SpeechJudge(progress=False)
  to_wave = jax.jit(lambda t: any2any.speech_waveform(t, 32))
  rows = []
  by_kind = {kind: targets(train_arrays["speech"], kind) for kind in {t for _, t in VARIANTS}}
  for decoder_kind, target_kind in VARIANTS:
    start = time.perf_counter()
    target = by_kind[target_kind]
    t = np.asarray(target)
    class_means = np.stack([t[train_labels == d].mean(0) for d in range(10)])
    explained = 1 - np.mean((t - class_means[train_labels]) ** 2) / np.mean((t - t.mean(0)) ** 2)
    net = decoder(decoder_kind, target.shape[1])
    params, loss = train(net, train_experts, target, args.steps)
    row = {"decoder": decoder_kind, "target": target_kind, "digit_explains": explained, "final_mse": loss}
    for source in SOURCES:
      mean, logvar = product_of_experts(test_experts, {k: jnp.full(len(labels), k == source) for k in SOURCES})
      z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(jax.random.PRNGKey(5), mean.shape)
      log_mel = net.apply(params, z)
      waves = np.concatenate([np.asarray(to_wave(log_mel[i:i + 64])) for i in range(0, len(labels), 64)])
      row[source] = float(np.mean(hear(waves) == labels))
    row["seconds"] = time.perf_counter() - start
    rows.append(row)
    print(row, flush=True)
  print(f"\n{len(labels)} held-out examples, {args.steps} steps of 64 x 5 posteriors; judge accuracy (%) of X -> speech")
  print("| decoder | target | digit explains | " + " | ".join(f"{s} → speech" for s in SOURCES) + " |")
  print("|---|---|---|" + "---|" * len(SOURCES))
  for r in rows:
    print(f"| {r['decoder']} | {r['target']} | {100 * r['digit_explains']:.1f}% | "
          + " | ".join(f"{100 * r[s]:.1f}" for s in SOURCES) + " |")


if __name__ == "__main__":
  main()
