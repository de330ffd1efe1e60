"""pix2pix (Isola et al. 2017): paired image-to-image translation with a U-Net generator, a conditional PatchGAN
discriminator, and adversarial + L1 losses.

The paired input is computed from each training image inside the jitted step (`model.input`):
- 'edges': the Sobel edge magnitude of the grey image (`layers/image_features.sobel`, x EDGE_GAIN, clipped), as in
  edges -> photo;
- 'gray': the grey image (BT.709 luma), i.e. colourisation.
Generator (`Translator`): input [B, H, W, 1] in [-1, 1] -> image [B, H, W, C] in [-1, 1], a `layers/unet.UNet` with
a tanh; no noise input (Isola et al. found it ignored; the L1 term makes the output the conditional median).
Discriminator (`ConditionalPatchGAN`): (image, input) stacked as channels -> one logit per patch, spectral norm
optional (`model.spectral_norm`). Loss: `loss.name` GAN loss (hinge by default) + `model.l1_weight` x L1.
Every network is fully convolutional: inference runs at any size whose sides divide by 2^(len(widths) - 1).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers.augment import random_flip
from mmgen_jax.layers.image_features import sobel, to_gray
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

# Settings that configs of older checkpoints lack, as those checkpoints were trained.
CONFIG_DEFAULTS = {"model.residual": False}

INPUTS = ("edges", "gray")
EDGE_GAIN = 4.0  # Sobel magnitudes of photo patches are mostly below 0.25: x4 spreads them over [0, 1].


def translation_input(kind, images):
  """The paired input of float images [B, H, W, C] in [-1, 1] -> [B, H, W, 1] in [-1, 1] ('edges' or 'gray')."""
  gray = to_gray((images + 1.0) / 2.0)
  if kind == "gray":
    x = gray
  elif kind == "edges":
    x = jnp.clip(sobel(gray) * EDGE_GAIN, 0.0, 1.0)
  else:
    check_input(kind)
  return x * 2.0 - 1.0


def check_input(kind):
  if kind not in INPUTS:
    raise UserError(f"model.input={kind!r} is not one of {', '.join(INPUTS)}: set --set model.input=edges")


class Translator(nn.Module):
  """input [B, H, W, 1] -> image [B, H, W, channels], both in [-1, 1].

  residual: the output is the input copied to every channel plus the network's correction (clipped to [-1, 1]),
  for inputs that already carry most of the answer (the grey image in colourisation: the network only adds colour;
  trained directly, the same network stayed below the grey image's PSNR after 1,000 steps)."""
  channels: int = 3
  widths: tuple = (32, 64, 128, 256)
  upsample: str = "pixel_shuffle"
  residual: bool = False

  @nn.compact
  def __call__(self, x, train=True):
    del train  # GroupNorm only: nothing depends on train mode; the argument keeps the GAN step's convention.
    y = UNet(self.channels, self.widths, upsample=self.upsample)(x)
    if self.residual:
      return jnp.clip(x + y, -1.0, 1.0)
    return jnp.tanh(y)


def make_generator(config):
  m = config.model
  return Translator(channels=config.data.channels, widths=tuple(m.widths), upsample=m.upsample,
                    residual=m.residual)


def make_discriminator(config):
  m = config.model
  return ConditionalPatchGAN(width=m.d_width, num_down=m.d_num_down, spectral_norm=m.spectral_norm)


def input_features(config):
  del config
  return ("image",)


def init_state(config, rng):
  """A GANState; shapes from config.data (image_size, channels)."""
  d, o = config.data, config.optim
  check_input(config.model.input)
  check_unet_size(d.image_size, config.model.widths)
  image = jnp.zeros((1, d.image_size, d.image_size, d.channels))
  source = jnp.zeros(image.shape[:3] + (1,))
  g_rng, d_rng, state_rng = jax.random.split(rng, 3)
  return GANState.create(
      rng=state_rng, g_variables=make_generator(config).init(g_rng, source),
      d_variables=make_discriminator(config).init(d_rng, image, source, train=False),
      g_tx=make_optimizer(o, o.g_lr), d_tx=make_optimizer(o, o.d_lr), ema=config.ema)


def train_step(config, state, batch, rng):
  """One D and one G update on batch['image'] (uint8 [B, H, W, C]), each image flipped at random first."""
  generator, discriminator = make_generator(config), make_discriminator(config)
  dtype = compute_dtype(config)
  flip_rng, step_rng = jax.random.split(rng)
  images = random_flip(flip_rng, to_float(batch["image"])) if config.model.flip else to_float(batch["image"])
  source = translation_input(config.model.input, images)

  def generate(g_params):
    return apply_with_state(generator, g_params, state.g_model_state, source, train=True, dtype=dtype)

  def discriminate(d_params, model_state, x, condition, train):
    return apply_with_state(discriminator, d_params, model_state, x, condition, train=train, dtype=dtype)

  def l1(fake):
    loss = jnp.mean(jnp.abs(fake - images))
    return config.model.l1_weight * loss, {"l1": loss}

  return adversarial_step(state, images, generate, discriminate, source, step_rng, loss_name=config.loss.name,
                          gp_weight=config.loss.gp_weight, g_extra_loss=l1)


def default_conditions(config, n):
  """The eval split's first n images (fewer when the split is smaller); `sample` returns them as `target`."""
  return {"image": eval_arrays(config)["image"][:n]}, {}


def sample(config, variables, rng, n, image=None, source=None):
  """{'images': uint8 [n, H, W, C] translations, 'source': uint8 [n, H, W, 1] their inputs (+ 'target')}.

  image: uint8 [k, H, W, C] photos of the output domain; their input (edges or grey) is computed as in training
  and the photos come back as `target`. source: uint8 [k, H, W, 1] inputs given directly (your own edge map or grey
  image). Conditions are tiled to n; any H, W that are multiples of the U-Net's stride."""
  del rng  # Deterministic generator (no noise input).
  if (image is None) == (source is None):
    raise UserError("pass either image (photos, translated from their computed input) or source (the inputs "
                    "themselves), exactly one of them")
  out = {}
  stride = unet_stride(config.model.widths)
  if image is not None:
    image = tile(check_condition("image", image, (None, None, config.data.channels), multiple_of=stride), n)
    source = to_uint8(translation_input(config.model.input, to_float(image)))
    out["target"] = image
  else:
    source = tile(check_condition("source", source, (None, None, 1), multiple_of=stride), n)
  fake = mixed_apply(make_generator(config), variables, to_float(source), dtype=compute_dtype(config))
  return {"images": to_uint8(fake), "source": source, **out}


def decode_outputs(config, out):
  """Adds `panels` (input | translation | target when known) for the sample grids."""
  del config
  columns = [out["source"], out["images"]] + ([out["target"]] if "target" in out else [])
  return {**out, "panels": panels(*columns)}


def evaluate(config, state, num=None, seed=0, batch=256):
  """PSNR / SSIM of the translations of the eval split's images (the first `num`; all by default) against the
  originals, and of the baseline that copies the input to every channel (the grey image, for colourisation)."""
  del seed
  images = np.asarray(eval_arrays(config)["image"][:num or None])
  out = batched_sample(sample, config, state.ema_variables(), {"image": images}, batch)
  scores = image_metrics(out["images"], images)
  baseline = image_metrics(np.repeat(out["source"], config.data.channels, -1), images)
  return {**scores, "input_copy_psnr": baseline["psnr"], "input_copy_ssim": baseline["ssim"],
          "num_images": len(images)}
