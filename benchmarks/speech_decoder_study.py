"""Which speech decoder and target let an any-to-any model speak? A study on the frozen latents of a trained run.

The experts of a trained `any2any` workdir are frozen; only a fresh speech decoder is trained (Adam, unit-Gaussian
log-likelihood) on codes z drawn from the posteriors the model trains on (the joint and each single modality, over
the training split). Each variant is then judged as the model is: z from one held-out test modality (image, text,
speech, video), the decoder's log-mel through fast Griffin-Lim, the spoken-digit judge's accuracy on the waveform.
Variants: the decoder (`conv`: `any2any.SpeechDecoder`, template by upsampling convolutions, its delivery code held
at 0; `dense`: `any2any.DenseSpeechDecoder`) x the target (`shifted`: the log-mel relative to the peak, noise and
onset included; `dense`: the word above the noise floor, centred; `stretchedN`: the same stretched in time so that
the word spans N frames, `model.speech_word_span`; `any2any.speech_target`) x the dense decoder's
hidden width and output frame stride. Also prints how much of the target's variance the digit explains (the class
means' error against the global mean's). For a model whose speech decoder reads the word form
(`model.speech_word_form`), every variant reads it too: the clip's own in training, drawn from the training
frequencies at test time, as the sampler does.

  python benchmarks/speech_decoder_study.py --workdir workdirs/any2any_digits [--steps 1000]
      [--variants dense/dense/1024,dense/dense/2048/2] [--lr 1e-3]   # decoder/target/hidden width[/frame stride]
"""
import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import mmgen_jax
from mmgen_jax.data import speech, split_arrays
from mmgen_jax.layers.experts import product_of_experts
from mmgen_jax.metrics.speech_classifier import SpeechJudge
from mmgen_jax.models import any2any

SOURCES = ("image", "text", "speech", "video")
VARIANTS = "dense/shifted/1024,conv/dense/1024,dense/dense/1024"  # decoder/target/hidden width


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
  span = int(kind[len("stretched"):]) if kind.startswith("stretched") else 0
  kind = "dense" if span else kind
  return jnp.concatenate([any2any.speech_target(jnp.asarray(waves[i:i + 256]), kind, span)
                          for i in range(0, len(waves), 256)])


def decoder(kind, frames, hidden, stride):
  if kind == "dense":
    return any2any.DenseSpeechDecoder(frames, hidden=hidden, frame_stride=stride)
  return _ZeroDelivery(any2any.SpeechDecoder(frames, gain=False))


class _ZeroDelivery:
  """The convolutional decoder with its delivery code held at 0 (no shift, no colour): the word from z alone."""

  def __init__(self, net):
    self.net = net

  def init(self, rng, z):
    return self.net.init(rng, z, jnp.zeros((z.shape[0], 8)))

  def apply(self, params, z):
    return self.net.apply(params, z, jnp.zeros((z.shape[0], 8)))


def train(net, experts, target, forms, steps, batch=64, lr=1e-3, seed=0):
  """The decoder's params after `steps` of Adam on codes [z, one-hot word form] (forms [N, F], F = 0 for none)."""
  params = net.init(jax.random.PRNGKey(seed), jnp.zeros((1, experts["image"][0].shape[1] + forms.shape[1])))
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
    z = jnp.concatenate([z, jnp.tile(forms[idx], (len(subsets), 1))], axis=1)
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
  p.add_argument("--lr", type=float, default=1e-3, help="Adam's peak learning rate (cosine decay to 0)")
  p.add_argument("--variants", default=VARIANTS, help="comma-separated decoder/target/hidden width[/frame stride]")
  args = p.parse_args()
  model = mmgen_jax.load(args.workdir)
  train_experts, train_arrays = frozen_experts(model, "train")
  test_experts, test_arrays = frozen_experts(model, "test")
  labels, train_labels = np.asarray(test_arrays["label"]), np.asarray(train_arrays["label"])
  hear = SpeechJudge(progress=False)
  to_wave = jax.jit(lambda t: any2any.speech_waveform(t, 32))
  rows = []
  variants = [(d, t, int(h), int((rest or ["1"])[0])) for d, t, h, *rest in (v.split("/")
                                                                               for v in args.variants.split(","))]
  by_kind = {kind: targets(train_arrays["speech"], kind) for kind in {v[1] for v in variants}}
  forms, test_forms = np.zeros((len(train_labels), 0), np.float32), np.zeros((len(labels), 0), np.float32)
  if any2any.reads_word_form(model.config):  # The clip's own form in training; drawn as the sampler draws it.
    eye = np.eye(any2any.NUM_WORD_FORMS, dtype=np.float32)
    forms = eye[np.asarray(train_arrays["word_form"])]
    test_forms = eye[np.random.default_rng(0).choice(any2any.NUM_WORD_FORMS, len(labels),
                                                     p=speech.word_form_probabilities())]
  for decoder_kind, target_kind, hidden, stride in variants:
    start = time.perf_counter()
    target = by_kind[target_kind]
    t = np.asarray(target)
    class_means = np.stack([t[train_labels == d].mean(0) for d in range(10)])
    explained = 1 - np.mean((t - class_means[train_labels]) ** 2) / np.mean((t - t.mean(0)) ** 2)
    net = decoder(decoder_kind, target.shape[1], hidden, stride)
    params, loss = train(net, train_experts, target, jnp.asarray(forms), args.steps, lr=args.lr)
    row = {"decoder": decoder_kind, "target": target_kind, "hidden": hidden, "stride": stride,
           "digit_explains": explained, "final_mse": loss}
    for source in SOURCES:
      mean, logvar = product_of_experts(test_experts, {k: jnp.full(len(labels), k == source) for k in SOURCES})
      z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(jax.random.PRNGKey(5), mean.shape)
      log_mel = net.apply(params, jnp.concatenate([z, test_forms], axis=1))
      waves = np.concatenate([np.asarray(to_wave(log_mel[i:i + 64])) for i in range(0, len(labels), 64)])
      row[source] = float(np.mean(hear(waves) == labels))
    row["seconds"] = time.perf_counter() - start
    rows.append(row)
    print(row, flush=True)
  print(f"\n{len(labels)} held-out examples, {args.steps} steps of 64 x 5 posteriors, lr {args.lr}; "
        "judge accuracy (%) of X -> speech")
  print("| decoder | target | hidden | frame stride | digit explains | "
        + " | ".join(f"{s} → speech" for s in SOURCES) + " |")
  print("|---|---|---|---|---|" + "---|" * len(SOURCES))
  for r in rows:
    print(f"| {r['decoder']} | {r['target']} | {r['hidden']} | {r['stride']} | {100 * r['digit_explains']:.1f}% | "
          + " | ".join(f"{100 * r[s]:.1f}" for s in SOURCES) + " |")


if __name__ == "__main__":
  main()
