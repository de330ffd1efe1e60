"""Conditional GAN: a generator with conditional batch norm, a spectrally normalised projection discriminator,
hinge loss, EMA generator. The condition is a class label here (`cgan_digits`).

Generator: (z [B, Z], labels [B]) -> images [B, R, R, C] in [-1, 1]; the label embedding c [B, D] drives every
conditional batch norm. Discriminator: (images, labels) -> logits [B] with a projection head on the same c.
Family contract as in models/dcgan.py; the adversarial update is train/gan_step.py.
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from mmgen_jax.layers.conditional import ConditionalBatchNorm, ProjectionHead
from mmgen_jax.layers.updown import Upsample2x
from mmgen_jax.models.dcgan import make_optimizer, to_float, to_uint8
from mmgen_jax.state import GANState
from mmgen_jax.train.gan_step import adversarial_step, apply_with_state


class ConditionalGenerator(nn.Module):
  """(z [B, z_dim], labels int [B]) -> images [B, resolution, resolution, channels] in [-1, 1]."""
  num_classes: int = 10
  resolution: int = 32
  channels: int = 1
  width: int = 32
  cond_dim: int = 64
  upsample: str = "pixel_shuffle"

  @nn.compact
  def __call__(self, z, labels, train=True):
    n = int(math.log2(self.resolution)) - 2
    c = nn.Embed(self.num_classes, self.cond_dim, name="label_embedding")(labels)
    features = self.width * 2 ** (n - 1)
    x = nn.Dense(4 * 4 * features)(jnp.concatenate([z, c], -1)).reshape(z.shape[0], 4, 4, features)
    x = nn.relu(ConditionalBatchNorm()(x, c, train))
    for i in range(n):
      features = self.width * 2 ** (n - 2 - i) if i < n - 1 else self.width // 2
      x = Upsample2x(features, self.upsample)(x)
      x = nn.relu(ConditionalBatchNorm()(x, c, train))
    return jnp.tanh(nn.Conv(self.channels, (3, 3))(x))


class ProjectionDiscriminator(nn.Module):
  """(images [B, R, R, C] in [-1, 1], labels int [B]) -> logits [B]; every layer spectrally normalised."""
  num_classes: int = 10
  resolution: int = 32
  width: int = 32

  @nn.compact
  def __call__(self, x, labels, train=True):
    for i in range(int(math.log2(self.resolution)) - 2):
      x = nn.SpectralNorm(nn.Conv(self.width * 2 ** i, (4, 4), strides=(2, 2)))(x, update_stats=train)
      x = nn.leaky_relu(x, 0.2)
    h = x.reshape(x.shape[0], -1)
    c = nn.Embed(self.num_classes, h.shape[-1], name="label_embedding")(labels)
    return ProjectionHead()(h, c, train)


def make_generator(config):
  m = config.model
  return ConditionalGenerator(num_classes=m.num_classes, resolution=config.data.image_size,
                              channels=config.data.channels, width=m.g_width, cond_dim=m.cond_dim,
                              upsample=m.upsample)


def make_discriminator(config):
  m = config.model
  return ProjectionDiscriminator(num_classes=m.num_classes, resolution=config.data.image_size, width=m.d_width)


def init_state(config, rng, example_batch):
  """A GANState for label-conditioned images (shapes from config.data)."""
  del example_batch
  g_rng, d_rng, state_rng = jax.random.split(rng, 3)
  labels = jnp.zeros((1,), jnp.int32)
  z = jnp.zeros((1, config.model.z_dim))
  x = jnp.zeros((1, config.data.image_size, config.data.image_size, config.data.channels))
  o = config.optim
  return GANState.create(
      rng=state_rng, g_variables=make_generator(config).init(g_rng, z, labels, train=False),
      d_variables=make_discriminator(config).init(d_rng, x, labels, train=False),
      g_tx=make_optimizer(o.g_lr, o), d_tx=make_optimizer(o.d_lr, o), ema_decay=config.ema.decay,
      ema_start_step=config.ema.start_step)


def train_step(config, state, batch, rng):
  """One D and one G update on batch['image'] (uint8 [B, R, R, C]) and batch['label'] (int [B]).

  Fakes are generated for the batch's own labels, so both players see the data's class balance.
  """
  generator, discriminator = make_generator(config), make_discriminator(config)
  real, labels = to_float(batch["image"]), batch["label"].astype(jnp.int32)
  z_rng, gp_rng = jax.random.split(rng)
  z = jax.random.normal(z_rng, (real.shape[0], config.model.z_dim))

  def generate(g_params):
    return apply_with_state(generator, g_params, state.g_model_state, z, labels, train=True)

  def discriminate(d_params, model_state, x, condition, train):
    return apply_with_state(discriminator, d_params, model_state, x, condition, train=train)

  return adversarial_step(state, real, generate, discriminate, labels, gp_rng, loss_name=config.loss.name,
                          gp_weight=config.loss.gp_weight)


def sampling_variables(state):
  return state.g_variables(ema=True)


def sample(config, variables, rng, n, labels=None):
  """{'images': uint8 [n, R, R, C], 'labels': int32 [n]}; labels default to 0, 1, ..., K-1, 0, ... and are tiled
  to n when fewer are given."""
  if labels is None:
    labels = jnp.arange(n) % config.model.num_classes
  labels = jnp.resize(jnp.asarray(labels, jnp.int32), (n,))
  z = jax.random.normal(rng, (n, config.model.z_dim))
  images = make_generator(config).apply(variables, z, labels, train=False)
  return {"images": to_uint8(images), "labels": labels}


def evaluate(config, state, num=1000, seed=0):
  """Classifier-feature FID/KID/precision/recall/score, plus `class_accuracy`: the fraction of samples the domain
  classifier assigns to the requested label (labels cycle through the classes)."""
  from mmgen_jax.metrics.evaluate import image_generator_metrics

  variables = sampling_variables(state)
  return image_generator_metrics(jax.jit(lambda rng, n: sample(config, variables, rng, n), static_argnums=1),
                                 config, num, seed)
