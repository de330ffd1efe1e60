"""Mask inpainting with gated convolutions (Yu et al. 2019, DeepFill v2, single stage) and a PatchGAN.

Generator (`Inpainter`): (image [B, H, W, C] in [-1, 1], mask [B, H, W, 1], 1 = missing) -> fill [B, H, W, C]. The
holes are filled by push-pull first; the network sees that guess and the mask and adds a correction: a
`layers/unet.UNet` of gated convolutions (each layer learns a soft validity gate, which plain convolutions on
zero-filled holes lack) with a dilated bottleneck (receptive field for large holes). The result is composited:
known pixels are the input's, exactly (in uint8, bit for bit), generated pixels fill only the holes.
Discriminator: a PatchGAN (`layers/patch_gan`) over the composited image and the mask (spectral norm), hinge loss.
G's loss: adversarial + l1_weight x (hole_weight x mean |G - x| over holes + mean |G - x| over known pixels); the
known-pixel term keeps the raw output consistent near the hole border.
Masks come from `data.masks` (`data/masks.py`): random rectangles and/or brush strokes covering 10-50%, or a folder.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.data.masks import mask_sampler, random_masks
from mmgen_jax.errors import UserError
from mmgen_jax.layers.augment import random_channel_order, random_flip
from mmgen_jax.layers.fill import biharmonic_fill, pyramid_fill
from mmgen_jax.layers.patch_gan import ConditionalPatchGAN
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.unet import UNet, check_unet_size, unet_stride
from mmgen_jax.metrics.batched import batched_sample
from mmgen_jax.metrics.image import image_metrics
from mmgen_jax.state import GANState
from mmgen_jax.train.gan_step import adversarial_step, apply_with_state
from mmgen_jax.train.images import panels
from mmgen_jax.train.optim import make_optimizer

FILLS = {"push_pull": pyramid_fill, "biharmonic": biharmonic_fill}  # model.fill: the first guess in the holes.
EVAL_MASK_SEED = 1234  # The evaluation masks: fixed, so every run and the benchmark fill the same holes.
# Settings that configs of older checkpoints lack, as those checkpoints were trained.
CONFIG_DEFAULTS = {"model.fill": "push_pull", "model.permute_channels": False, "loss.adv_weight": 1.0}


class Inpainter(nn.Module):
  """(image [B, H, W, C] in [-1, 1], mask [B, H, W, 1] float, 1 = missing) -> raw fill [B, H, W, C] (not
  composited: `composite` keeps the known pixels).

  The holes are first filled by a smooth, parameter-free method (`fill`: 'push_pull', `layers/fill.pyramid_fill`,
  or 'biharmonic', `layers/fill.biharmonic_fill`: scikit-image's biharmonic inpainting solved in JAX, better and
  slower); the network sees that guess and the mask and outputs a correction to it, zero-initialised, so it starts
  exactly at that fill and spends its capacity on structure and texture (from scratch, the same network was still
  far below a smooth fill after 600 steps)."""
  channels: int = 3
  widths: tuple = (32, 64, 128)
  dilations: tuple = (2, 4, 8)
  upsample: str = "pixel_shuffle"
  fill: str = "push_pull"

  @nn.compact
  def __call__(self, image, mask, train=True):
    del train  # No train-dependent layers.
    guess = FILLS[self.fill](image * (1.0 - mask), 1.0 - mask)
    x = jnp.concatenate([guess, mask], -1)
    correction = UNet(self.channels, self.widths, gated=True, dilations=self.dilations, upsample=self.upsample,
                      zero_output=True)(x)  # Starts as the fill exactly.
    return guess + correction


def composite(fill, image, mask):
  """The fill inside the holes (mask 1), the image elsewhere; any dtype (exact for uint8)."""
  return jnp.where(mask > 0.5, fill, image)


def make_generator(config):
  m = config.model
  if m.fill not in FILLS:
    raise UserError(f"model.fill={m.fill!r} is not one of {', '.join(FILLS)}: set --set model.fill=push_pull")
  return Inpainter(channels=config.data.channels, widths=tuple(m.widths), dilations=tuple(m.dilations),
                   upsample=m.upsample, fill=m.fill)


def make_discriminator(config):
  return ConditionalPatchGAN(width=config.model.d_width, num_down=config.model.d_num_down, spectral_norm=True)


def input_features(config):
  del config
  return ("image",)


def init_state(config, rng):
  """A GANState; shapes from config.data (image_size, channels)."""
  d, o = config.data, config.optim
  mask_sampler(d.masks, d.image_size, d.image_size)  # A bad data.masks fails here, before any compilation.
  check_unet_size(d.image_size, config.model.widths)
  image = jnp.zeros((1, d.image_size, d.image_size, d.channels))
  mask = jnp.zeros(image.shape[:3] + (1,))
  g_rng, d_rng, state_rng = jax.random.split(rng, 3)
  return GANState.create(
      rng=state_rng, g_variables=make_generator(config).init(g_rng, image, mask),
      d_variables=make_discriminator(config).init(d_rng, image, mask, train=False),
      g_tx=make_optimizer(o, o.g_lr), d_tx=make_optimizer(o, o.d_lr), ema=config.ema)


def train_step(config, state, batch, rng):
  """One D and one G update on batch['image'] (uint8 [B, H, W, C]) with fresh masks (and random flips)."""
  d, m = config.data, config.model
  generator, discriminator = make_generator(config), make_discriminator(config)
  dtype = compute_dtype(config)
  flip_rng, mask_rng, step_rng, colour_rng = jax.random.split(rng, 4)
  images = to_float(batch["image"])
  images = random_flip(flip_rng, images) if m.flip else images
  images = random_channel_order(colour_rng, images) if m.permute_channels else images
  masks = mask_sampler(d.masks, images.shape[1], images.shape[2])(mask_rng, images.shape[0])

  def generate(g_params):
    return apply_with_state(generator, g_params, state.g_model_state, images, masks, train=True, dtype=dtype)

  def discriminate(d_params, model_state, x, condition, train):
    real, mask = condition  # D judges the composite: known pixels are real in both (a real image is unchanged).
    return apply_with_state(discriminator, d_params, model_state, composite(x, real, mask), mask, train=train,
                            dtype=dtype)

  def reconstruction(fill):
    error = jnp.abs(fill - images)
    hole = jnp.mean(masks * error) / jnp.mean(masks)
    valid = jnp.mean((1.0 - masks) * error) / jnp.mean(1.0 - masks)
    return m.l1_weight * (m.hole_weight * hole + valid), {"l1_hole": hole, "l1_valid": valid}

  return adversarial_step(state, images, generate, discriminate, (images, masks), step_rng,
                          loss_name=config.loss.name, gp_weight=config.loss.gp_weight, g_extra_loss=reconstruction,
                          g_adv_weight=config.loss.adv_weight)


def default_conditions(config, n):
  """The eval split's first n images under the fixed evaluation masks, and the originals as `target`."""
  images = tile(eval_arrays(config)["image"], n)
  return {"image": images, "mask": np.asarray(eval_masks(config, n))}, {"target": images}


def sample(config, variables, rng, n, image=None, mask=None):
  """{'images': uint8 [n, H, W, C] inpainted (known pixels exactly the input's), 'masked' (the input with its holes
  grey), 'mask' uint8 [n, H, W, 1] (1 = missing)}.

  image: uint8 [k, H, W, C], any H, W that are multiples of the U-Net's stride; mask: uint8 [k, H, W, 1], nonzero =
  missing (random `data.masks` masks from `rng` when not given). Tiled to n."""
  d = config.data
  if image is None:
    raise UserError("inpainting fills the holes of images: pass image (uint8 [N, H, W, C]) and optionally mask "
                    "(uint8 [N, H, W, 1], nonzero = missing) in --cond")
  image = check_condition("image", image, (None, None, d.channels), multiple_of=unet_stride(config.model.widths))
  if mask is None:
    mask = random_masks(rng, image.shape[0], image.shape[1], image.shape[2], "mixed" if d.masks.startswith(
        "folder:") else d.masks)
  else:
    mask = check_condition("mask", mask, (image.shape[1], image.shape[2], 1), dtype=None,
                           note="one single-channel mask per image, nonzero = missing")
    if len(mask) != len(image):
      raise UserError(f"{len(mask)} masks for {len(image)} images: pass one mask per image")
  image, mask = tile(image, n), tile(mask, n)
  hole = (mask > 0).astype(jnp.float32)
  fill = mixed_apply(make_generator(config), variables, to_float(image), hole, dtype=compute_dtype(config))
  result = composite(to_uint8(fill), image, hole)
  masked = composite(jnp.full_like(image, 128), image, hole)
  return {"images": result, "masked": masked, "mask": hole.astype(jnp.uint8)}


def decode_outputs(config, out):
  """Adds `panels` (masked input | inpainted | original when known) for the sample grids."""
  del config
  columns = [out["masked"], out["images"]] + ([out["target"]] if "target" in out else [])
  return {**out, "panels": panels(*columns)}


def eval_masks(config, n, h=None, w=None):
  """uint8 [n, h, w, 1]: the fixed evaluation masks (mixed rectangles and strokes, 10-50%); traceable."""
  side = config.data.image_size
  return random_masks(jax.random.PRNGKey(EVAL_MASK_SEED), n, h or side, w or side, "mixed").astype(jnp.uint8)


def evaluate(config, state, num=None, seed=0, batch=256):
  """On the eval split's images (the first `num`; all by default) under the fixed evaluation masks: PSNR over the
  holes (`hole_psnr`), whole-image PSNR and SSIM, and how many known pixels changed (must be 0)."""
  from mmgen_jax.metrics.image import masked_psnr

  del seed
  images = np.asarray(eval_arrays(config)["image"][:num or None])
  masks = np.asarray(eval_masks(config, len(images)))
  out = batched_sample(sample, config, state.ema_variables(), {"image": images, "mask": masks}, batch)["images"]
  known = np.broadcast_to(masks == 0, images.shape)
  return {"hole_psnr": float(np.mean(masked_psnr(out, images, masks, max_val=255.0))),
          **image_metrics(out, images), "known_pixels_changed": int(np.sum(out[known] != images[known])),
          "num_images": len(images)}
