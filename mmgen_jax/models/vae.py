"""Variational autoencoder (Kingma & Welling 2014), beta-VAE (Higgins et al. 2017) and the importance-weighted bound
(IWAE, Burda et al. 2016) in one family. Configs: `vae_digits`, `vae_mnist`.

Encoder: images [B, R, R, C] -> Gaussian posterior q(z|x) = N(mean, diag(exp(logvar))) over z [B, latent_dim];
decoder: z -> the parameters of a per-pixel observation model (`layers/likelihoods.py`, `model.likelihood`):
'bernoulli' on dynamically binarised images (each step draws x ~ Bernoulli(pixel / 255), the standard binarised-MNIST
protocol; the eval split uses one fixed draw), 'gaussian' on dequantised images in [-1, 1], or the discretised
'logistic' on the uint8 values. Prior N(0, I).

Objective (`model.iwae_k`, `model.beta`): k = 1 maximises the ELBO E_q[log p(x|z)] - beta KL(q || p) with the KL in
closed form; k > 1 maximises the IWAE bound logsumexp_k log w_k - log k, w_k = p(x, z_k) / q(z_k|x) (beta must be 1).
Evaluation reports the ELBO and the importance-weighted NLL estimate -IWAE_k with k = `eval.nll_k` samples, in nats
per image (and bits per dimension for the discrete models).

Conditional VAE (Sohn et al. 2015; `model.num_classes` = K > 0, config `cvae_digits_fewshot`): the class label, one-hot
[B, K], joins the encoder's flattened features before the posterior and the latent before the decoder, so
q(z|x, y) and p(x|z, y); sampling takes `labels` (default: classes 0..K-1 cycling) and evaluation adds the domain
classifier's class accuracy and FID of the samples.
"""
import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, check_labels, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers import likelihoods
from mmgen_jax.layers.augment import augment_images, check_image_augmentations
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.vision import ConvDecoder, ConvEncoder, bottleneck_size
from mmgen_jax.metrics import likelihood as bounds
from mmgen_jax.metrics.batched import batched, batched_sample
from mmgen_jax.state import TrainState
from mmgen_jax.train.optim import make_optimizer


CONFIG_DEFAULTS = {"model.num_classes": 0, "data.augment": []}


class VAE(nn.Module):
  """encode: images float [B, R, R, C] in [-1, 1] (and labels int [B] when num_classes > 0) -> (mean, logvar)
  [B, latent_dim]; decode: z [N, latent_dim] (and labels int [N]) -> observation-model parameters
  [N, R, R, C * params]."""
  latent_dim: int = 16
  widths: tuple = (16, 32, 64)
  likelihood: str = "bernoulli"
  channels: int = 1
  resolution: int = 32
  num_classes: int = 0

  def setup(self):
    start = bottleneck_size(self.resolution, len(self.widths))
    self.encoder = ConvEncoder(self.widths, self.widths[-1], max_cells=start * start)
    self.to_posterior = nn.Dense(2 * self.latent_dim)
    self.decoder = ConvDecoder(tuple(reversed(self.widths)),
                               self.channels * likelihoods.PARAMS_PER_CHANNEL[self.likelihood], start=start)

  def _with_label(self, h, labels):
    if not self.num_classes:
      return h
    return jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes, dtype=h.dtype)], axis=-1)

  def encode(self, x, labels=None):
    tokens, _ = self.encoder(x)
    h = self._with_label(tokens.reshape(x.shape[0], -1), labels)
    mean, logvar = jnp.split(self.to_posterior(h), 2, axis=-1)
    return mean, jnp.clip(logvar, -12.0, 8.0)

  def decode(self, z, labels=None):
    return self.decoder(self._with_label(z, labels))

  def __call__(self, x, labels=None):
    mean, _ = self.encode(x, labels)
    return self.decode(mean, labels)


def make_model(config):
  m, d = config.model, config.data
  return VAE(m.latent_dim, tuple(m.widths), m.likelihood, d.channels, d.image_size, m.num_classes)


def observe(config, images, rng):
  """(x: what the likelihood scores, x_in: what the encoder reads, float in [-1, 1]) for uint8 images [B, R, R, C].

  bernoulli: x ~ Bernoulli(images / 255) in {0, 1}; gaussian: images + U(0, 1) dequantisation noise, in [-1, 1];
  logistic: the uint8 images themselves.
  """
  kind = config.model.likelihood
  if kind == "bernoulli":
    x = jax.random.bernoulli(rng, images.astype(jnp.float32) / 255.0).astype(jnp.float32)
    return x, 2.0 * x - 1.0
  if kind == "gaussian":
    x = (images.astype(jnp.float32) + jax.random.uniform(rng, images.shape)) / 128.0 - 1.0
    return x, x
  return images, to_float(images)


def _normal_log_prob(z, mean, logvar):
  return jnp.sum(-0.5 * ((z - mean) ** 2 * jnp.exp(-logvar) + logvar + jnp.log(2 * jnp.pi)), axis=-1)


def log_weights(config, variables, x, x_in, rng, k, labels=None):
  """(log w [k, B] = log p(x|z) + log p(z) - log q(z|x) for z_1..k ~ q(z|x), log p(x|z) [k, B], KL [B]); for a
  conditional model every term is also conditioned on labels int [B]."""
  apply = functools.partial(mixed_apply, make_model(config), variables, dtype=compute_dtype(config))
  mean, logvar = apply(x_in, labels, method=VAE.encode)
  z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(rng, (k,) + mean.shape)
  repeated = None if labels is None else jnp.tile(labels, k)  # z is [k, B] flattened k-major.
  outputs = apply(z.reshape((-1, z.shape[-1])), repeated, method=VAE.decode)
  outputs = outputs.reshape((k, x.shape[0]) + outputs.shape[1:])
  log_px = jnp.sum(likelihoods.log_prob(config.model.likelihood, outputs, x[None]), axis=(-3, -2, -1))
  log_w = log_px + _normal_log_prob(z, 0.0, 0.0) - _normal_log_prob(z, mean, logvar)
  return log_w, log_px, likelihoods.gaussian_kl(mean, logvar)


# --- the family contract ---------------------------------------------------------------------------------------------

def input_features(config):
  return ("image", "label") if config.model.num_classes else ("image",)


def encode_inputs(config, arrays):
  """Checks class labels (`labels` to sample, a batch's `label`) lie in 0..num_classes-1 (conditional models)."""
  k = config.model.num_classes
  if k and arrays.get("labels") is not None:
    check_labels("labels condition", arrays["labels"], k)
  if k and arrays.get("label") is not None:
    check_labels("the dataset's label feature", arrays["label"], k,
                 fix="set --set model.num_classes to the dataset's number of classes")
  return arrays


def default_conditions(config, n):
  """Conditional models: labels 0..K-1 cycling (grids read by column); unconditional: none (the prior)."""
  k = config.model.num_classes
  return ({"labels": np.arange(n, dtype=np.int32) % k} if k else {}), {}


def _labels_of(config, labels, n):
  """labels int [k] tiled to n for a conditional model (an error without them), None for an unconditional one."""
  k = config.model.num_classes
  if not k:
    if labels is not None:
      raise UserError(f"this {config.family} model is unconditional: drop --labels (or train with "
                      f"--set model.num_classes=K for a conditional VAE)")
    return None
  if labels is None:
    raise UserError(f"this {config.family} model is conditioned on class labels: pass labels (--labels 0,1,...)")
  return jnp.asarray(tile(check_condition("labels", labels, (), dtype="int32"), n), jnp.int32)


def init_state(config, rng):
  m, d = config.model, config.data
  check_image_augmentations(config.data.augment)
  if m.iwae_k > 1 and m.beta != 1.0:
    raise UserError(f"model.beta={m.beta} with model.iwae_k={m.iwae_k}: the IWAE bound has no beta; set one of "
                    f"them to 1")
  init_rng, state_rng = jax.random.split(rng)
  labels = jnp.zeros((1,), jnp.int32) if m.num_classes else None
  variables = make_model(config).init(init_rng, jnp.zeros((1, d.image_size, d.image_size, d.channels)), labels)
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(config.optim, config.optim.lr),
                           ema=config.ema)


def train_step(config, state, batch, rng):
  """One Adam step on the negative ELBO (beta-weighted KL) or the negative IWAE bound for batch['image'] uint8,
  transformed first per `data.augment` (few-shot training)."""
  m = config.model
  obs_rng, z_rng = jax.random.split(rng)
  images = augment_images(jax.random.fold_in(rng, 2), batch["image"], check_image_augmentations(config.data.augment))
  x, x_in = observe(config, images, obs_rng)

  def loss_fn(params):
    log_w, log_px, kl = log_weights(config, {"params": params}, x, x_in, z_rng, m.iwae_k, batch.get("label"))
    if m.iwae_k > 1:
      loss = -jnp.mean(bounds.iwae_bound(log_w))
    else:
      loss = -jnp.mean(log_px[0] - m.beta * kl)
    return loss, {"elbo": jnp.mean(log_px.mean(0) - kl), "reconstruction": -jnp.mean(log_px), "kl": jnp.mean(kl)}

  (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads, state.model_state), {"loss": loss, **metrics}


def sample(config, variables, rng, n, image=None, labels=None):
  """{'images': uint8 [n, R, R, C]}: the decoder's mean image for z ~ N(0, I), or with `image` (uint8 [k, R, R, C],
  tiled to n) the reconstruction through the posterior mean. Conditional models need `labels` (int [k], tiled to
  n) and also return them as 'labels' int32 [n]."""
  apply = functools.partial(mixed_apply, make_model(config), variables, dtype=compute_dtype(config))
  labels = _labels_of(config, labels, n)
  if image is None:
    z = jax.random.normal(rng, (n, config.model.latent_dim))
  else:
    d = config.data
    image = tile(check_condition("image", image, (d.image_size, d.image_size, d.channels)), n)
    z, _ = apply(encoder_input(config, image), labels, method=VAE.encode)
  outputs = apply(z, labels, method=VAE.decode)
  out = {"images": to_uint8(likelihoods.mean_image(config.model.likelihood, outputs))}
  if labels is not None:
    out["labels"] = labels
  return out


def encoder_input(config, images):
  """What the encoder reads for uint8 images at test time (bernoulli models: the grey levels, not a random draw)."""
  del config
  return to_float(images)


def interpolate(config, variables, a, b, steps=8, labels=None):
  """uint8 [N, steps, R, R, C]: decoder means along the straight line between the posterior means of images a and
  b (uint8 [N, R, R, C]); conditional models: all under labels int [N]."""
  apply = functools.partial(mixed_apply, make_model(config), variables, dtype=compute_dtype(config))
  labels = _labels_of(config, labels, a.shape[0])
  za, _ = apply(encoder_input(config, a), labels, method=VAE.encode)
  zb, _ = apply(encoder_input(config, b), labels, method=VAE.encode)
  t = jnp.linspace(0.0, 1.0, steps)[None, :, None]
  z = (1.0 - t) * za[:, None] + t * zb[:, None]
  path_labels = None if labels is None else jnp.repeat(labels, steps)
  outputs = apply(z.reshape(-1, z.shape[-1]), path_labels, method=VAE.decode)
  images = to_uint8(likelihoods.mean_image(config.model.likelihood, outputs))
  return images.reshape((a.shape[0], steps) + images.shape[1:])


def likelihood_metrics(config, variables, images, k, seed=0, batch=16, chunk=None, labels=None):
  """{'elbo', 'nll', 'nll_k', 'num'} in nats per image over uint8 images [N, R, R, C] (+ 'bits_per_dim' for the
  discretised logistic): the ELBO (mean of the k log-weights) and -IWAE_k, with the k samples drawn `chunk` at a time
  (bounded memory). The binarisation (bernoulli) or dequantisation (gaussian) draw is fixed by `seed`. Conditional
  models score -log p(x | y) for labels int [N]."""
  chunk = chunk or min(k, 100)
  if k % chunk:
    raise UserError(f"nll_k={k} is not a multiple of the sample chunk {chunk}: use a multiple of {chunk}")

  @jax.jit  # The weights as an argument, not closure constants: XLA would constant-fold through them.
  def run(variables, images, labels, rng):
    obs_rng, z_rng = jax.random.split(rng)
    x, x_in = observe(config, images, obs_rng)
    log_w = jax.lax.map(lambda key: log_weights(config, variables, x, x_in, key, chunk, labels)[0],
                        jax.random.split(z_rng, k // chunk))
    log_w = log_w.reshape((k,) + log_w.shape[2:])
    return bounds.elbo(log_w), bounds.iwae_bound(log_w)

  starts = iter(range(0, len(images), batch))

  def score(images, labels=None):  # Each batch's draws: the seed plus the batch's first image index.
    elbo, iwae = run(variables, images, labels, jax.random.PRNGKey(seed + next(starts)))
    return {"elbo": elbo, "iwae": iwae}

  inputs = {"images": images} if labels is None else {"images": images, "labels": np.asarray(labels, np.int32)}
  per_image = batched(score, inputs, batch)
  elbo, iwae = float(np.mean(per_image["elbo"])), float(np.mean(per_image["iwae"]))
  out = {"elbo": elbo, "nll": -iwae, "nll_k": k, "num": len(images)}
  if config.model.likelihood == "logistic":
    out["bits_per_dim"] = -iwae / (math.log(2) * np.prod(images.shape[1:]))
  return out


def reconstruct(config, variables, images, labels=None):
  """uint8 [N, R, R, C] reconstructions (through the posterior mean) of uint8 images (conditional models: given
  labels int [N]), in jitted batches."""
  inputs = {"image": images} if labels is None else {"image": images, "labels": np.asarray(labels, np.int32)}
  return batched_sample(sample, config, variables, inputs)["images"]


def evaluate(config, state, num=1000, seed=0):
  """ELBO and NLL (k = `eval.nll_k`) in nats on the first `num` eval-split images, and the posterior-mean
  reconstruction error `recon_mse` (on [0, 1] grey levels). Conditional models score -log p(x | y) and add the
  sample metrics of `image_generator_metrics` (class accuracy, FID, ...) for classes 0..K-1 cycling."""
  arrays = eval_arrays(config)
  images = arrays["image"][:num or None]
  labels = np.asarray(arrays["label"][:num or None]) if config.model.num_classes else None
  variables = state.ema_variables()
  out = likelihood_metrics(config, variables, images, config.eval.nll_k, seed, labels=labels)
  recon = reconstruct(config, variables, images, labels)
  out["recon_mse"] = float(np.mean((recon / 255.0 - images / 255.0) ** 2))
  if config.model.num_classes:
    from mmgen_jax.metrics.evaluate import image_generator_metrics

    out.update(image_generator_metrics(_class_sampler(config, variables), config, num, seed))
  return out


def _class_sampler(config, variables, batch=500):
  """sample_fn(rng, n) -> {'images', 'labels'} for classes 0..K-1 cycling, one jitted program of `batch` samples."""
  labels = default_conditions(config, batch)[0]["labels"]
  # Weights as arguments, not closure constants: XLA would constant-fold through them (slower compiles).
  jitted = jax.jit(lambda v, rng: sample(config, v, rng, batch, labels=labels))

  def sample_fn(rng, n):
    assert n == batch, n
    return jitted(variables, rng)

  return sample_fn
