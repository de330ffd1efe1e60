"""Deterministic convolutional autoencoder: the VAE's encoder and decoder without the posterior noise or the KL,
trained on reconstruction error. Its encoder is reusable as a feature extractor (`features`). Config: `cae_digits`.

Encoder: images [B, R, R, C] in [-1, 1] -> code [B, latent_dim]; decoder: code -> images in [-1, 1] (tanh).
Loss: mean squared error ('mse') or per-pixel binary cross-entropy on grey levels in [0, 1] ('bce'), `model.loss`.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.vision import ConvDecoder, ConvEncoder, bottleneck_size
from mmgen_jax.metrics.batched import batched_sample
from mmgen_jax.state import TrainState
from mmgen_jax.train.optim import make_optimizer


class ConvAutoencoder(nn.Module):
  """encode: images float [B, R, R, C] in [-1, 1] -> code [B, latent_dim]; decode: code -> logits [B, R, R, C]
  (tanh gives the image in [-1, 1]; sigmoid the [0, 1] grey level for the BCE loss)."""
  latent_dim: int = 16
  widths: tuple = (16, 32, 64)
  channels: int = 1
  resolution: int = 32

  def setup(self):
    start = bottleneck_size(self.resolution, len(self.widths))
    self.encoder = ConvEncoder(self.widths, self.widths[-1], max_cells=start * start)
    self.to_code = nn.Dense(self.latent_dim)
    self.decoder = ConvDecoder(tuple(reversed(self.widths)), self.channels, start=start)

  def encode(self, x):
    tokens, _ = self.encoder(x)
    return self.to_code(tokens.reshape(x.shape[0], -1))

  def decode(self, code):
    return self.decoder(code)

  def __call__(self, x):
    return self.decode(self.encode(x))


def make_model(config):
  m, d = config.model, config.data
  return ConvAutoencoder(m.latent_dim, tuple(m.widths), d.channels, d.image_size)


def _image(logits):
  """Decoder logits -> image in [-1, 1]: tanh(l / 2) = 2 sigmoid(l) - 1, so MSE and BCE read the same outputs."""
  return jnp.tanh(logits / 2.0)


def reconstruction_loss(kind, logits, images):
  """Mean per-pixel loss of decoder logits against uint8 images: 'mse' on [-1, 1] or 'bce' on [0, 1] levels."""
  if kind == "mse":
    return jnp.mean((_image(logits) - to_float(images)) ** 2)
  target = images.astype(jnp.float32) / 255.0
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, target))


def input_features(config):
  del config
  return ("image",)


def init_state(config, rng):
  d = config.data
  init_rng, state_rng = jax.random.split(rng)
  variables = make_model(config).init(init_rng, jnp.zeros((1, d.image_size, d.image_size, d.channels)))
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(config.optim, config.optim.lr),
                           ema=config.ema)


def train_step(config, state, batch, rng):
  """One Adam step on the reconstruction loss of batch['image'] (uint8 [B, R, R, C])."""
  del rng
  model, images = make_model(config), batch["image"]

  def loss_fn(params):
    logits = mixed_apply(model, {"params": params}, to_float(images), dtype=compute_dtype(config))
    return reconstruction_loss(config.model.loss, logits, images), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  mse = jnp.mean(((_image(logits) + 1.0) / 2.0 - images / 255.0) ** 2)
  return state.apply_gradients(grads, state.model_state), {"loss": loss, "recon_mse": mse}


def features(config, variables, images):
  """The encoder as a feature extractor: uint8 images [N, R, R, C] -> codes float32 [N, latent_dim]."""
  return mixed_apply(make_model(config), variables, to_float(jnp.asarray(images)), method=ConvAutoencoder.encode,
                     dtype=compute_dtype(config))


def default_conditions(config, n):
  """An autoencoder has no prior to sample: by default the eval split's first images are reconstructed."""
  return {"image": tile(eval_arrays(config)["image"], n)}, {}


def sample(config, variables, rng, n, image=None):
  """{'images': uint8 [n, R, R, C] reconstructions of `image` (uint8 [k, R, R, C], tiled to n), 'inputs': the
  images reconstructed}."""
  del rng
  d = config.data
  if image is None:
    raise UserError("an autoencoder reconstructs images: pass image (uint8 [N, R, R, C]) in --cond")
  image = tile(check_condition("image", image, (d.image_size, d.image_size, d.channels)), n)
  logits = mixed_apply(make_model(config), variables, to_float(image), dtype=compute_dtype(config))
  return {"images": to_uint8(_image(logits)), "inputs": image}


def evaluate(config, state, num=1000, seed=0):
  """`recon_mse` (on [0, 1] grey levels) and `psnr` (dB, peak 1) of reconstructions of the first `num` eval images."""
  del seed
  images = eval_arrays(config)["image"][:num or None]
  recon = batched_sample(sample, config, state.ema_variables(), {"image": images})["images"]
  mse = float(np.mean((recon / 255.0 - images / 255.0) ** 2))
  return {"recon_mse": mse, "psnr": float(10 * np.log10(1.0 / max(mse, 1e-12))), "num": len(images)}
