"""Helpers shared by the image-to-image families (pix2pix, inpaint): augmentation, batched evaluation with fixed
shapes, condition checks for fully convolutional models, and viewing panels. Not a family (leading underscore)."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.errors import UserError
from mmgen_jax.models.dcgan import make_optimizer
from mmgen_jax.state import GANState


def stride(config):
  """Input sides must be multiples of this: one halving per U-Net width (config.model.widths) after the first."""
  return 2 ** (len(config.model.widths) - 1)


def init_gan_state(config, rng, generator, g_inputs, discriminator, d_inputs):
  """A GANState from generator.init(*g_inputs) and discriminator.init(*d_inputs, train=False), with the Adam
  optimizers and EMA of config.optim / config.ema; first checks data.image_size against the U-Net's stride."""
  d, o = config.data, config.optim
  if d.image_size % stride(config):
    raise UserError(f"data.image_size={d.image_size} must be a multiple of {stride(config)} for "
                    f"{len(config.model.widths)} U-Net widths")
  g_rng, d_rng, state_rng = jax.random.split(rng, 3)
  return GANState.create(
      rng=state_rng, g_variables=generator.init(g_rng, *g_inputs),
      d_variables=discriminator.init(d_rng, *d_inputs, train=False),
      g_tx=make_optimizer(o.g_lr, o), d_tx=make_optimizer(o.d_lr, o), ema_decay=config.ema.decay,
      ema_start_step=config.ema.start_step)


def random_flip(rng, images):
  """Each image of float [B, H, W, C] mirrored left-right with probability 1/2 (the photos' only augmentation)."""
  flip = jax.random.bernoulli(rng, 0.5, (images.shape[0], 1, 1, 1))
  return jnp.where(flip, images[:, :, ::-1], images)


def random_channel_order(rng, *arrays):
  """The same random order of the last (colour) axis for each example of every array [B, ..., C]: one of the C!
  permutations per example (teaches structure, not the training photos' colours)."""
  c = arrays[0].shape[-1]
  orders = jnp.asarray(list(itertools.permutations(range(c))))
  order = orders[jax.random.randint(rng, (arrays[0].shape[0],), 0, len(orders))]  # [B, C]
  shaped = lambda x: order.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (c,))
  out = tuple(jnp.take_along_axis(x, shaped(x), axis=-1) for x in arrays)
  return out if len(out) > 1 else out[0]


def pad_to(x, size):
  """x [k, ...] padded with copies of its last row to [size, ...] (a fixed shape: one compilation)."""
  return np.concatenate([x, np.repeat(x[-1:], size - len(x), 0)]) if len(x) < size else x


def batched(fn, arrays, batch=256):
  """fn(**{name: [batch, ...]}) -> {key: [batch, ...]}, run over equal-length numpy `arrays` in fixed-size chunks
  (the last padded, its padding dropped) -> {key: numpy [N, ...]}."""
  n = len(next(iter(arrays.values())))
  out = []
  for start in range(0, n, batch):
    chunk = {k: pad_to(v[start:start + batch], batch) for k, v in arrays.items()}
    out.append({k: np.asarray(v)[:min(batch, n - start)] for k, v in fn(**chunk).items()})
  return {k: np.concatenate([o[k] for o in out]) for k in out[0]}


def image_metrics(predicted, target):
  """Mean PSNR (dB) and SSIM of uint8 [N, H, W, C] predictions against the true images (metrics/image.py)."""
  from mmgen_jax.metrics.image import psnr, ssim

  predicted, target = np.asarray(predicted, np.float32), np.asarray(target, np.float32)
  return {"psnr": float(np.mean(psnr(predicted, target, max_val=255.0))),
          "ssim": float(np.mean(ssim(predicted, target, max_val=255.0)))}


def check_images(name, value, channels, stride):
  """Checks a user condition's static shape (works on tracers, inside the jitted sampler): uint8 [N, H, W,
  channels], H and W multiples of `stride` (any size: the networks are fully convolutional); a wrong shape is one
  error line."""
  if value.ndim != 4 or value.shape[-1] != channels or not len(value):
    raise UserError(f"{name} has shape {list(value.shape)}, expected uint8 [N, H, W, {channels}]")
  if value.shape[1] % stride or value.shape[2] % stride:
    raise UserError(f"{name} is {value.shape[1]}x{value.shape[2]}: height and width must be multiples of {stride} "
                    f"(the network halves them {int(np.log2(stride))} times); crop or pad it")
  return value


def to_rgb(images):
  """uint8 [..., 1 or 3] -> [..., 3] (grey replicated), so panels of mixed channel counts share one grid."""
  images = np.asarray(images)
  return np.repeat(images, 3, -1) if images.shape[-1] == 1 else images


def panels(*columns):
  """uint8 [n, len(columns), H, W, 3]: one row per example, the given [n, H, W, 1 or 3] images side by side."""
  return np.stack([to_rgb(c) for c in columns], 1)
