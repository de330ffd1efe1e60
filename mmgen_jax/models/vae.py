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
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers import likelihoods
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.vision import ConvDecoder, ConvEncoder, bottleneck_size
from mmgen_jax.metrics import likelihood as bounds
from mmgen_jax.metrics.batched import batched, batched_sample
from mmgen_jax.state import TrainState
from mmgen_jax.train.optim import make_optimizer


class VAE(nn.Module):
  """encode: images float [B, R, R, C] in [-1, 1] -> (mean, logvar) [B, latent_dim]; decode: z [N, latent_dim] ->
  observation-model parameters [N, R, R, C * params]."""
  latent_dim: int = 16
  widths: tuple = (16, 32, 64)
  likelihood: str = "bernoulli"
  channels: int = 1
  resolution: int = 32

  def setup(self):
    start = bottleneck_size(self.resolution, len(self.widths))
    self.encoder = ConvEncoder(self.widths, self.widths[-1], max_cells=start * start)
    self.to_posterior = nn.Dense(2 * self.latent_dim)
    self.decoder = ConvDecoder(tuple(reversed(self.widths)),
                               self.channels * likelihoods.PARAMS_PER_CHANNEL[self.likelihood], start=start)

  def encode(self, x):
    tokens, _ = self.encoder(x)
    mean, logvar = jnp.split(self.to_posterior(tokens.reshape(x.shape[0], -1)), 2, axis=-1)
    return mean, jnp.clip(logvar, -12.0, 8.0)

  def decode(self, z):
    return self.decoder(z)

  def __call__(self, x):
    mean, _ = self.encode(x)
    return self.decode(mean)


def make_model(config):
  m, d = config.model, config.data
  return VAE(m.latent_dim, tuple(m.widths), m.likelihood, d.channels, d.image_size)


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


def log_weights(config, variables, x, x_in, rng, k):
  """(log w [k, B] = log p(x|z) + log p(z) - log q(z|x) for z_1..k ~ q(z|x), log p(x|z) [k, B], KL [B])."""
  model = make_model(config)
  mean, logvar = model.apply(variables, x_in, method=VAE.encode)
  z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(rng, (k,) + mean.shape)
  outputs = model.apply(variables, z.reshape((-1, z.shape[-1])), method=VAE.decode)
  outputs = outputs.reshape((k, x.shape[0]) + outputs.shape[1:])
  log_px = jnp.sum(likelihoods.log_prob(config.model.likelihood, outputs, x[None]), axis=(-3, -2, -1))
  log_w = log_px + _normal_log_prob(z, 0.0, 0.0) - _normal_log_prob(z, mean, logvar)
  return log_w, log_px, likelihoods.gaussian_kl(mean, logvar)


# --- the family contract ---------------------------------------------------------------------------------------------

def input_features(config):
  del config
  return ("image",)


def init_state(config, rng):
  m, d = config.model, config.data
  if m.iwae_k > 1 and m.beta != 1.0:
    raise UserError(f"model.beta={m.beta} with model.iwae_k={m.iwae_k}: the IWAE bound has no beta; set one of "
                    f"them to 1")
  init_rng, state_rng = jax.random.split(rng)
  variables = make_model(config).init(init_rng, jnp.zeros((1, d.image_size, d.image_size, d.channels)))
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(config.optim, config.optim.lr),
                           ema=config.ema)


def train_step(config, state, batch, rng):
  """One Adam step on the negative ELBO (beta-weighted KL) or the negative IWAE bound for batch['image'] uint8."""
  m = config.model
  obs_rng, z_rng = jax.random.split(rng)
  x, x_in = observe(config, batch["image"], obs_rng)

  def loss_fn(params):
    log_w, log_px, kl = log_weights(config, {"params": params}, x, x_in, z_rng, m.iwae_k)
    if m.iwae_k > 1:
      loss = -jnp.mean(bounds.iwae_bound(log_w))
    else:
      loss = -jnp.mean(log_px[0] - m.beta * kl)
    return loss, {"elbo": jnp.mean(log_px.mean(0) - kl), "reconstruction": -jnp.mean(log_px), "kl": jnp.mean(kl)}

  (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads, state.model_state), {"loss": loss, **metrics}


def sample(config, variables, rng, n, image=None):
  """{'images': uint8 [n, R, R, C]}: the decoder's mean image for z ~ N(0, I), or with `image` (uint8 [k, R, R, C],
  tiled to n) the reconstruction through the posterior mean."""
  model = make_model(config)
  if image is None:
    z = jax.random.normal(rng, (n, config.model.latent_dim))
  else:
    d = config.data
    image = tile(check_condition("image", image, (d.image_size, d.image_size, d.channels)), n)
    z, _ = model.apply(variables, encoder_input(config, image), method=VAE.encode)
  outputs = model.apply(variables, z, method=VAE.decode)
  return {"images": to_uint8(likelihoods.mean_image(config.model.likelihood, outputs))}


def encoder_input(config, images):
  """What the encoder reads for uint8 images at test time (bernoulli models: the grey levels, not a random draw)."""
  del config
  return to_float(images)


def interpolate(config, variables, a, b, steps=8):
  """uint8 [N, steps, R, R, C]: decoder means along the straight line between the posterior means of images a and
  b (uint8 [N, R, R, C])."""
  model = make_model(config)
  za, _ = model.apply(variables, encoder_input(config, a), method=VAE.encode)
  zb, _ = model.apply(variables, encoder_input(config, b), method=VAE.encode)
  t = jnp.linspace(0.0, 1.0, steps)[None, :, None]
  z = (1.0 - t) * za[:, None] + t * zb[:, None]
  outputs = model.apply(variables, z.reshape(-1, z.shape[-1]), method=VAE.decode)
  images = to_uint8(likelihoods.mean_image(config.model.likelihood, outputs))
  return images.reshape((a.shape[0], steps) + images.shape[1:])


def likelihood_metrics(config, variables, images, k, seed=0, batch=16, chunk=None):
  """{'elbo', 'nll', 'nll_k', 'num'} in nats per image over uint8 images [N, R, R, C] (+ 'bits_per_dim' for the
  discretised logistic): the ELBO (mean of the k log-weights) and -IWAE_k, with the k samples drawn `chunk` at a time
  (bounded memory). The binarisation (bernoulli) or dequantisation (gaussian) draw is fixed by `seed`."""
  chunk = chunk or min(k, 100)
  if k % chunk:
    raise UserError(f"nll_k={k} is not a multiple of the sample chunk {chunk}: use a multiple of {chunk}")

  @jax.jit  # The weights as an argument, not closure constants: XLA would constant-fold through them.
  def run(variables, images, rng):
    obs_rng, z_rng = jax.random.split(rng)
    x, x_in = observe(config, images, obs_rng)
    log_w = jax.lax.map(lambda key: log_weights(config, variables, x, x_in, key, chunk)[0],
                        jax.random.split(z_rng, k // chunk))
    log_w = log_w.reshape((k,) + log_w.shape[2:])
    return bounds.elbo(log_w), bounds.iwae_bound(log_w)

  starts = iter(range(0, len(images), batch))

  def score(images):  # Each batch's draws: the seed plus the batch's first image index.
    elbo, iwae = run(variables, images, jax.random.PRNGKey(seed + next(starts)))
    return {"elbo": elbo, "iwae": iwae}

  per_image = batched(score, {"images": images}, batch)
  elbo, iwae = float(np.mean(per_image["elbo"])), float(np.mean(per_image["iwae"]))
  out = {"elbo": elbo, "nll": -iwae, "nll_k": k, "num": len(images)}
  if config.model.likelihood == "logistic":
    out["bits_per_dim"] = -iwae / (math.log(2) * np.prod(images.shape[1:]))
  return out


def reconstruct(config, variables, images):
  """uint8 [N, R, R, C] reconstructions (through the posterior mean) of uint8 images, in jitted batches."""
  return batched_sample(sample, config, variables, {"image": images})["images"]


def evaluate(config, state, num=1000, seed=0):
  """ELBO and NLL (k = `eval.nll_k`) in nats on the first `num` eval-split images, and the posterior-mean
  reconstruction error `recon_mse` (on [0, 1] grey levels)."""
  images = eval_arrays(config)["image"][:num or None]
  variables = state.ema_variables()
  out = likelihood_metrics(config, variables, images, config.eval.nll_k, seed)
  out["recon_mse"] = float(np.mean((reconstruct(config, variables, images) / 255.0 - images / 255.0) ** 2))
  return out
