"""DCGAN (Radford et al. 2016) with four losses: non-saturating, hinge, least-squares and WGAN-GP.

Generator: z [B, Z] -> dense 4x4 -> (upsample x2, norm, ReLU) x log2(R/4) -> 3x3 conv -> tanh, images [B, R, R, C]
in [-1, 1]. Discriminator: (4x4 conv stride 2, norm, LeakyReLU 0.2) x log2(R/4) -> dense, logits [B].
The adversarial update itself is `train/gan_step.py`; the trunks are `layers/trunks.py`. The functions below
`make_discriminator` are the family contract (`mmgen_jax/family.py`).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.trunks import downsampling_trunk, upsampling_widths
from mmgen_jax.layers.updown import Upsample2x, make_norm
from mmgen_jax.state import GANState
from mmgen_jax.train.gan_step import adversarial_step, apply_with_state
from mmgen_jax.train.optim import make_optimizer


class Generator(nn.Module):
  """z [B, z_dim] -> images [B, resolution, resolution, channels] in [-1, 1]."""
  resolution: int = 32
  channels: int = 1
  width: int = 64
  norm: str = "batch"
  upsample: str = "pixel_shuffle"
  dtype: jnp.dtype | None = None  # None: inferred from z and the parameters (layers/precision.py).

  @nn.compact
  def __call__(self, z, train=True):
    start, widths = upsampling_widths(self.resolution, self.width)
    x = nn.Dense(4 * 4 * start, dtype=self.dtype)(z).reshape(z.shape[0], 4, 4, start)
    x = nn.relu(make_norm(self.norm, train, self.dtype)(x))
    for features in widths:
      x = Upsample2x(features, self.upsample, dtype=self.dtype)(x)
      x = nn.relu(make_norm(self.norm, train, self.dtype)(x))
    x = Conv(self.channels, (3, 3), dtype=self.dtype)(x)
    return jnp.tanh(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """images [B, R, R, C] in [-1, 1] -> logits [B]."""
  resolution: int = 32
  width: int = 64
  norm: str = "none"
  dtype: jnp.dtype | None = None

  @nn.compact
  def __call__(self, x, train=True):
    x = downsampling_trunk(x, self.resolution, self.width, train, self.norm, self.dtype)
    return nn.Dense(1, dtype=self.dtype)(x).astype(jnp.float32)[:, 0]


def make_generator(config):
  m = config.model
  return Generator(resolution=config.data.image_size, channels=config.data.channels, width=m.g_width, norm=m.g_norm,
                   upsample=m.upsample, dtype=compute_dtype(config))


def make_discriminator(config):
  m = config.model
  return Discriminator(resolution=config.data.image_size, width=m.d_width, norm=m.d_norm, dtype=compute_dtype(config))


# --- the family contract ---------------------------------------------------------------------------------------------

def input_features(config):
  del config
  return ("image",)


def init_state(config, rng):
  """A GANState for images [B, data.image_size, data.image_size, data.channels]."""
  channels = config.data.channels
  g_rng, d_rng, state_rng = jax.random.split(rng, 3)
  z = jnp.zeros((1, config.model.z_dim), jnp.float32)
  x = jnp.zeros((1, config.data.image_size, config.data.image_size, channels), jnp.float32)
  o = config.optim
  return GANState.create(
      rng=state_rng,
      g_variables=make_generator(config).init(g_rng, z, train=False),
      d_variables=make_discriminator(config).init(d_rng, x, train=False),
      g_tx=make_optimizer(o, o.g_lr), d_tx=make_optimizer(o, o.d_lr), ema=config.ema)


def train_step(config, state, batch, rng):
  """One D update then one G update on batch['image'] (uint8 [B, R, R, C]); returns (state, metrics)."""
  generator, discriminator = make_generator(config), make_discriminator(config)
  dtype = compute_dtype(config)
  real = to_float(batch["image"])
  z_rng, gp_rng = jax.random.split(rng)
  z = jax.random.normal(z_rng, (real.shape[0], config.model.z_dim))

  def generate(g_params):
    return apply_with_state(generator, g_params, state.g_model_state, z, train=True, dtype=dtype)

  def discriminate(d_params, model_state, x, condition, train):
    del condition  # Unconditional.
    return apply_with_state(discriminator, d_params, model_state, x, train=train, dtype=dtype)

  return adversarial_step(state, real, generate, discriminate, None, gp_rng, loss_name=config.loss.name,
                          gp_weight=config.loss.gp_weight, separate_passes=config.model.d_norm == "batch")


def sample(config, variables, rng, n):
  """{'images': uint8 [n, R, R, C]} from the (EMA) generator in inference mode."""
  z = jax.random.normal(rng, (n, config.model.z_dim))
  images = mixed_apply(make_generator(config), variables, z, train=False, dtype=compute_dtype(config))
  return {"images": to_uint8(images)}


def evaluate(config, state, num=1000, seed=0):
  """Classifier-feature FID/KID/precision/recall/score of `num` EMA samples (see metrics/evaluate.py)."""
  from mmgen_jax.metrics.evaluate import image_generator_metrics

  variables = state.ema_variables()
  # Weights as arguments, not closure constants: XLA would constant-fold through them (slower compiles).
  jitted = jax.jit(lambda v, rng, n: sample(config, v, rng, n), static_argnums=2)
  return image_generator_metrics(lambda rng, n: jitted(variables, rng, n), config, num, seed)
