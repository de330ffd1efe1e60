"""The DCGAN-style trunks shared by the unconditional and conditional GANs (Radford et al. 2016).

Both are plain functions to call inside a compact module: the layers they create belong to the caller, so a model
built on them keeps the parameter names (and checkpoints) it had when it wrote the loops itself.
"""
import math

import flax.linen as nn
from mmgen_jax.errors import UserError
from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.updown import make_norm


def num_blocks(resolution):
  """Doublings from 4x4 to `resolution` (a power of two >= 8), or one error line."""
  n = int(math.log2(resolution)) - 2 if resolution > 0 else -1
  if resolution < 8 or 2 ** (n + 2) != resolution:
    raise UserError(f"data.image_size={resolution}: a DCGAN-style generator needs a power of two >= 8 (8, 16, 32, "
                    f"64, ...); resize the data or set --set data.image_size=32")
  return n


def upsampling_widths(resolution, width):
  """(features of the 4x4 map, [features after each doubling]): halving from width * 2^(n-1) down to width / 2."""
  n = num_blocks(resolution)
  return width * 2 ** (n - 1), [width * 2 ** (n - 2 - i) if i < n - 1 else width // 2 for i in range(n)]


def downsampling_trunk(x, resolution, width, train, norm="none", dtype=None):
  """images [B, R, R, C] -> features [B, 4 * 4 * width * 2^(n-1)]: n = log2(R / 4) 4x4 stride-2 convs (width
  doubling), each followed by LeakyReLU 0.2. norm: 'spectral' normalises every conv's weight (Miyato et al. 2018;
  power iteration when `train`); any other `make_norm` name normalises the activations after the first layer (as in
  DCGAN: the first layer sees the raw pixels). dtype: the compute dtype (None: inferred from x and the parameters,
  `layers/precision.py`)."""
  for i in range(num_blocks(resolution)):
    conv = Conv(width * 2 ** i, (4, 4), strides=(2, 2), dtype=dtype)
    if norm == "spectral":
      # The power iteration runs in float32 (its u vector is float32 state); the normalised kernel is cast back.
      x = nn.SpectralNorm(conv, dtype=dtype or x.dtype)(x, update_stats=train)
    else:
      x = conv(x)
      if i > 0:
        x = make_norm(norm, train, dtype)(x)
    x = nn.leaky_relu(x, 0.2)
  return x.reshape(x.shape[0], -1)
