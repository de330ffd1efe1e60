"""Resolution-changing blocks: x2 upsampling by three interchangeable methods, and normalisation by name.

On the CPU, XLA's transposed convolution is several times slower than a plain convolution of the same FLOPs, so
'pixel_shuffle' (conv to 4C channels, then depth-to-space) and 'resize_conv' (nearest x2, then conv) exist beside
'transpose'; `benchmarks/upsample.py` measures the three.
"""
import flax.linen as nn
import jax.numpy as jnp

from mmgen_jax.layers.conv import Conv

UPSAMPLE_METHODS = ("transpose", "pixel_shuffle", "resize_conv")
NORMS = ("batch", "layer", "none", "spectral")


def depth_to_space(x, factor=2):
  """[B, H, W, C * f^2] -> [B, H*f, W*f, C] (the pixel-shuffle rearrangement of Shi et al. 2016)."""
  b, h, w, c = x.shape
  x = x.reshape(b, h, w, factor, factor, c // factor ** 2)
  x = x.transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h * factor, w * factor, c // factor ** 2)


class Upsample2x(nn.Module):
  """[B, H, W, C] -> [B, 2H, 2W, features] with a learned layer; `method` is one of UPSAMPLE_METHODS."""
  features: int
  method: str = "pixel_shuffle"
  use_bias: bool = True
  dtype: jnp.dtype | None = None  # None: inferred from the input and parameters (layers/precision.py).

  @nn.compact
  def __call__(self, x):
    if self.method == "transpose":
      return nn.ConvTranspose(self.features, (4, 4), strides=(2, 2), padding="SAME", use_bias=self.use_bias,
                              dtype=self.dtype)(x)
    if self.method == "pixel_shuffle":
      return depth_to_space(Conv(4 * self.features, (3, 3), use_bias=self.use_bias, dtype=self.dtype)(x))
    if self.method == "resize_conv":
      b, h, w, c = x.shape
      x = jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, 2, w, 2, c)).reshape(b, 2 * h, 2 * w, c)
      return Conv(self.features, (3, 3), use_bias=self.use_bias, dtype=self.dtype)(x)
    raise ValueError(f"unknown upsampling {self.method!r}; choose one of {UPSAMPLE_METHODS}")


def make_norm(name, train, dtype=None):
  """A normalisation layer by name, as a callable on [B, H, W, C] ('spectral' normalises weights, not here)."""
  if name == "batch":
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=dtype)
  if name == "layer":
    return nn.LayerNorm(dtype=dtype)
  if name in ("none", "spectral"):
    return lambda x: x
  raise ValueError(f"unknown norm {name!r}; choose one of {NORMS}")
