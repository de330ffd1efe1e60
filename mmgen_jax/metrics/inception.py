"""The FID Inception-v3 (the 2015-12-05 TensorFlow graph used by every published FID) as a Flax module.

Module and parameter names mirror pytorch-fid's `FIDInceptionA/C/E_1/E_2` port so its weight file converts key by
key (`inception_convert.py`). Without weights nothing is downloaded: `load_fid_inception` says which file is needed
and how to convert it. Input: images [B, H, W, 3] in [0, 1] (any size; resized to 299x299 bilinearly);
output: pool features [B, 2048] and logits [B, 1008].
"""
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.errors import UserError

WEIGHTS_ENV = "MMGEN_INCEPTION_WEIGHTS"
TORCH_FILE = "pt_inception-2015-12-05-6726825d.pth"


class BasicConv(nn.Module):
  """conv (no bias) -> batch norm (eps 1e-3, inference statistics) -> ReLU."""
  features: int
  kernel: tuple = (1, 1)
  strides: tuple = (1, 1)
  padding: tuple = (0, 0)

  @nn.compact
  def __call__(self, x):
    ph, pw = self.padding
    x = nn.Conv(self.features, self.kernel, self.strides, padding=((ph, ph), (pw, pw)), use_bias=False,
                name="conv")(x)
    return nn.relu(nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x))


def _avg_pool(x):
  return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x, stride=2, pad=0):
  return nn.max_pool(x, (3, 3), (stride, stride), padding=((pad, pad), (pad, pad)))


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(64, name="branch1x1")(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(BasicConv(48, name="branch5x5_1")(x))
    b3 = BasicConv(64, name="branch3x3dbl_1")(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
    bp = BasicConv(self.pool_features, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b5, b3, bp], -1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(384, (3, 3), (2, 2), name="branch3x3")(x)
    bd = BasicConv(64, name="branch3x3dbl_1")(x)
    bd = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = BasicConv(96, (3, 3), (2, 2), name="branch3x3dbl_3")(bd)
    return jnp.concatenate([b3, bd, _max_pool(x)], -1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c = self.channels_7x7
    b1 = BasicConv(192, name="branch1x1")(x)
    b7 = BasicConv(c, name="branch7x7_1")(x)
    b7 = BasicConv(c, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
    bd = BasicConv(c, name="branch7x7dbl_1")(x)
    bd = BasicConv(c, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
    bd = BasicConv(c, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
    bd = BasicConv(c, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
    bd = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
    bp = BasicConv(192, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b7, bd, bp], -1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(320, (3, 3), (2, 2), name="branch3x3_2")(BasicConv(192, name="branch3x3_1")(x))
    b7 = BasicConv(192, name="branch7x7x3_1")(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
    b7 = BasicConv(192, (3, 3), (2, 2), name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, _max_pool(x)], -1)


class InceptionE(nn.Module):
  """The FID graph's last two blocks differ only in the pooling branch: average (E_1) or max (E_2)."""
  max_pool_branch: bool = False

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(320, name="branch1x1")(x)
    b3 = BasicConv(384, name="branch3x3_1")(x)
    b3 = jnp.concatenate([BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                          BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3)], -1)
    bd = BasicConv(448, name="branch3x3dbl_1")(x)
    bd = BasicConv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = jnp.concatenate([BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                          BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd)], -1)
    pooled = _max_pool(x, 1, 1) if self.max_pool_branch else _avg_pool(x)
    bp = BasicConv(192, name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], -1)


class FIDInceptionV3(nn.Module):
  """images [B, H, W, 3] in [0, 1] -> (pool features [B, 2048], logits [B, 1008])."""

  @nn.compact
  def __call__(self, images):
    x = jax.image.resize(images.astype(jnp.float32), (images.shape[0], 299, 299, 3), "bilinear", antialias=False)
    x = 2.0 * x - 1.0
    x = BasicConv(32, (3, 3), (2, 2), name="Conv2d_1a_3x3")(x)
    x = BasicConv(32, (3, 3), name="Conv2d_2a_3x3")(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = _max_pool(x)
    x = BasicConv(80, name="Conv2d_3b_1x1")(x)
    x = BasicConv(192, (3, 3), name="Conv2d_4a_3x3")(x)
    x = _max_pool(x)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, c in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
      x = InceptionC(c, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE(False, name="Mixed_7b")(x)
    x = InceptionE(True, name="Mixed_7c")(x)
    features = jnp.mean(x, axis=(1, 2))
    return features, nn.Dense(1008, name="fc")(features)


def default_weights_path():
  return os.environ.get(WEIGHTS_ENV, os.path.join(os.path.expanduser("~"), ".cache", "mmgen_jax", "inception",
                                                  "fid_inception_v3.npz"))


def init_variables(rng=None):
  """Random variables with the right structure (for tests, benchmarks and as the template for loading)."""
  rng = jax.random.PRNGKey(0) if rng is None else rng
  # Jitted: one compilation instead of ~200 eagerly dispatched initialisers (~20x faster on a CPU).
  return jax.jit(FIDInceptionV3().init)(rng, jnp.zeros((1, 299, 299, 3)))


def load_fid_inception(path=None):
  """Variables of the FID Inception from a converted .npz (keys are flax key paths; no pickle)."""
  path = path or default_weights_path()
  if not os.path.exists(path):
    raise UserError(f"FID Inception weights not found at {path}: get {TORCH_FILE} (pytorch-fid's release) on a "
                    f"machine with internet, then `pip install torch` and run `python -m "
                    f"mmgen_jax.metrics.inception_convert {TORCH_FILE} {path}` (or set {WEIGHTS_ENV})")
  template = jax.eval_shape(init_variables)
  with np.load(path, allow_pickle=False) as f:
    flat = dict(f)
  missing = [jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_leaves_with_path(template)
             if jax.tree_util.keystr(k) not in flat]
  if missing:
    raise UserError(f"{path} is not a converted FID Inception file ({len(missing)} arrays missing, e.g. "
                    f"{missing[0]}): reconvert it with mmgen_jax.metrics.inception_convert")
  from mmgen_jax.metrics.classifier import unflatten_params
  return unflatten_params(flat, template)
