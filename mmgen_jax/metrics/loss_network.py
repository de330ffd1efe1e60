"""Loss networks for style transfer, trained in this project (pretrained VGG weights cannot be fetched here).

`FeatureNet` is a small VGG-like CNN (one 3x3 conv per scale, widths 16/32/64/128, average pooling as Gatys et al.
recommend; small enough to train and run on a CPU) whose ReLU at each of four scales gives the feature maps that
style and content losses compare; the style family's encoder is the same network (up to `model.adain_depth`).
Recipes (`RECIPES`):

- 'patches': trained to tell which training image (photos and style images of the train splits) a random 64x64
  patch comes from, with flips and brightness jitter: a task that needs colour, texture and local structure.
- 'autoencoder': trained so that a small decoder rebuilds the patch from the deepest map (L1 in pixels).
- 'random': He-initialised weights, never trained (random networks give usable texture statistics, Ustyuzhaninov
  et al. 2017).

Weights are .npz (no pickle) in the package (`metrics/weights/loss-net-RECIPE-vN.npz`: 'patches' and 'autoencoder'
ship), else trained once per machine into the cache (`python -m mmgen_jax.metrics.loss_network RECIPE`), as the
digits classifier is.
"""
import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm

from mmgen_jax.checkpoint import write_json
from mmgen_jax.errors import UserError
from mmgen_jax.files import atomic_write
from mmgen_jax.layers.conv import Conv
from mmgen_jax.locks import file_lock
from mmgen_jax.metrics.classifier import cache_dir, flatten_params, unflatten_params

RECIPES = ("patches", "autoencoder", "random")
VERSION = 1
STEPS = 800
BATCH = 32
PATCH = 64


class FeatureNet(nn.Module):
  """images float [B, H, W, 3] in [-1, 1] (any size divisible by 8) -> the ReLU of each scale, `depth` of them:
  [B, H, W, 16], [B, H/2, W/2, 32], [B, H/4, W/4, 64], [B, H/8, W/8, 128]."""
  widths: tuple = (16, 32, 64, 128)

  @nn.compact
  def __call__(self, x, depth=4):
    features = []
    for i, width in enumerate(self.widths[:depth]):
      if i:
        x = nn.avg_pool(x, (2, 2), (2, 2))
      x = nn.relu(Conv(width, (3, 3), name=f"conv{i + 1}")(x))
      features.append(x)
    return features


class _Trainer(nn.Module):
  """FeatureNet plus the head of a training recipe: class logits ('patches') or a rebuilt patch ('autoencoder')."""
  recipe: str
  num_classes: int = 1

  @nn.compact
  def __call__(self, x):
    deepest = FeatureNet(name="net")(x)[-1]
    if self.recipe == "patches":
      mean, std = jnp.mean(deepest, (1, 2)), jnp.std(deepest, (1, 2))
      return nn.Dense(self.num_classes)(jnp.concatenate([mean, std], -1))
    y = deepest
    for width in (64, 32, 16):
      y = jax.image.resize(y, (y.shape[0], y.shape[1] * 2, y.shape[2] * 2, y.shape[3]), "nearest")
      y = nn.relu(Conv(width, (3, 3))(y))
    return Conv(3, (3, 3))(y)


def training_patches():
  """(patches float32 [N, 64, 64, 3] in [-1, 1], source image index int [N]): the train splits' photos and style
  images cut into overlapping windows (at two scales), never the test photos or test styles."""
  from mmgen_jax.data import photos, styles

  images = photos.split_photos("train", grey=True) + styles.split_styles("train")
  patches, labels = [], []
  for i, image in enumerate(images):
    for short_side in (128, 256):
      cut = photos.cut_patches(styles.resize_short_side(image, short_side), PATCH, 32)
      patches.append(cut)
      labels.append(np.full(len(cut), i))
  return np.concatenate(patches) * 2.0 - 1.0, np.concatenate(labels)


def train(recipe, steps=STEPS, progress=True):
  """FeatureNet params trained by `recipe` (fixed seed and batch order)."""
  from mmgen_jax.data import batch_indices

  if recipe == "random":
    return _random_params()
  patches, labels = training_patches()
  model = _Trainer(recipe, int(labels.max()) + 1)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), patches[:1])
  tx = optax.adam(optax.cosine_decay_schedule(1e-3, steps))
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, x, y, rng):
    flip_rng, jitter_rng = jax.random.split(rng)
    flip = jax.random.bernoulli(flip_rng, 0.5, (x.shape[0], 1, 1, 1))
    x = jnp.where(flip, x[:, :, ::-1], x)
    x = jnp.clip(x + jax.random.uniform(jitter_rng, (x.shape[0], 1, 1, 1), minval=-0.2, maxval=0.2), -1, 1)

    def loss_fn(p):
      out = model.apply(p, x)
      if recipe == "patches":
        return optax.softmax_cross_entropy_with_integer_labels(out, y).mean()
      return jnp.mean(jnp.abs(out - x))

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  for s in tqdm.trange(steps, desc=f"training the {recipe} loss network (once)", disable=not progress, leave=False):
    idx = batch_indices(len(labels), BATCH, 0, s)
    params, opt_state, _ = step(params, opt_state, patches[idx], labels[idx], jax.random.PRNGKey(s))
  return params["params"]["net"]


def _random_params():
  with jax.ensure_compile_time_eval():  # Concrete even when the caller is tracing (a jitted init).
    return FeatureNet().init(jax.random.PRNGKey(0), jnp.zeros((1, PATCH, PATCH, 3)))["params"]


def shipped_path(recipe):
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", f"loss-net-{recipe}-v{VERSION}")


def cached_path(recipe, progress=True):
  """The machine's cached weights of `recipe` (trained first if absent), without the .npz suffix."""

  path = os.path.join(cache_dir(), "loss_networks", f"loss-net-{recipe}-v{VERSION}")
  with file_lock(path + ".lock"):  # One process trains; the others wait and load its cache.
    if not os.path.exists(path + ".npz"):
      params = train(recipe, progress=progress)
      with atomic_write(path + ".npz", "wb") as f:
        np.savez(f, **flatten_params(params))
      write_json(path + ".json", {"recipe": recipe, "version": VERSION, "steps": STEPS})
  return path


def load(recipe, progress=True):
  """FeatureNet params of `recipe`: the package's shipped weights, else the machine's cache (trained if absent)."""
  if recipe not in RECIPES:
    raise UserError(f"unknown loss network {recipe!r}: use one of {', '.join(RECIPES)}")
  if recipe == "random":  # Nothing to train or store: a fixed seed.
    return _random_params()
  template = jax.eval_shape(FeatureNet().init, jax.random.PRNGKey(0), jnp.zeros((1, PATCH, PATCH, 3)))["params"]
  path = shipped_path(recipe)
  if not os.path.exists(path + ".npz"):
    with jax.ensure_compile_time_eval():  # Callers may be tracing (a jitted init): train concretely all the same.
      path = cached_path(recipe, progress)
  with np.load(path + ".npz", allow_pickle=False) as f:
    flat = dict(f)
  return unflatten_params(flat, template)


if __name__ == "__main__":
  import sys
  print(json.dumps({"path": cached_path(sys.argv[1]) + ".npz"}))
