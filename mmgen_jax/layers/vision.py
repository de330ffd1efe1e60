"""Small CNN image encoders and decoders shared by the families.

`ConvEncoder` returns a set of tokens, the currency of `layers/fusion.py` and of attention (the captioner's
cross-attention reads them; flatten or pool them for a vector code). `ConvDecoder` maps a vector code back to an
image-shaped map (autoencoders, VAEs).
"""
import flax.linen as nn
import jax.numpy as jnp

from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.updown import Upsample2x


class ConvEncoder(nn.Module):
  """Images float [B, H, W, C] in [-1, 1] -> (tokens [B, H/2^s * W/2^s, dim], mask bool [B, T]); s = len(widths).

  Each stage is `convs_per_stage - 1` 3x3 convs and a stride-2 3x3 conv, each with GroupNorm and SiLU; the last
  feature map's cells become tokens with learnt positions, so attention knows where each cell lies. Fully
  convolutional up to the positions, which are sized for `max_cells` cells and cut to the map's size. One conv per
  stage by default: a second doubled the VAE's CPU step time (257 vs 139 ms at batch 64, widths 16/32/64).
  """
  widths: tuple = (32, 64, 128)
  dim: int = 128
  max_cells: int = 64
  convs_per_stage: int = 1

  @nn.compact
  def __call__(self, x, train=True):
    del train
    for width in self.widths:
      for i in range(self.convs_per_stage):
        stride = 2 if i == self.convs_per_stage - 1 else 1
        x = nn.silu(nn.GroupNorm(num_groups=min(8, width))(Conv(width, (3, 3), strides=(stride, stride))(x)))
    tokens = nn.Dense(self.dim)(x.reshape(x.shape[0], -1, x.shape[-1]))
    if tokens.shape[1] > self.max_cells:
      raise ValueError(f"{tokens.shape[1]} cells exceed max_cells={self.max_cells}: raise it or add a stage")
    positions = self.param("positions", nn.initializers.normal(0.02), (self.max_cells, self.dim))
    tokens = nn.LayerNorm()(tokens + positions[None, :tokens.shape[1]])
    return tokens, jnp.ones(tokens.shape[:2], bool)


class ConvDecoder(nn.Module):
  """Code [B, D] -> [B, start * 2^s, start * 2^s, out_channels]; s = len(widths).

  Dense to a start x start map of widths[0] channels, then per stage a x2 upsample (pixel shuffle by default:
  `layers/updown.py`) and `convs_per_stage - 1` 3x3 convs, each with GroupNorm and SiLU; a final 3x3 conv gives the
  raw outputs (logits or distribution parameters: the caller decides).
  """
  widths: tuple = (128, 64, 32)
  out_channels: int = 1
  start: int = 4
  upsample: str = "pixel_shuffle"
  convs_per_stage: int = 1

  @nn.compact
  def __call__(self, code):
    x = nn.Dense(self.start * self.start * self.widths[0])(code)
    x = nn.silu(x.reshape(code.shape[0], self.start, self.start, self.widths[0]))
    for width in self.widths:
      x = nn.silu(nn.GroupNorm(num_groups=min(8, width))(Upsample2x(width, self.upsample)(x)))
      for _ in range(self.convs_per_stage - 1):
        x = nn.silu(nn.GroupNorm(num_groups=min(8, width))(Conv(width, (3, 3))(x)))
    return Conv(self.out_channels, (3, 3))(x)


def bottleneck_size(resolution, num_stages):
  """Side of the feature map after `num_stages` halvings of a `resolution`-sized image (the decoder's `start`);
  a user error if the size does not halve evenly."""
  if resolution % 2 ** num_stages:
    from mmgen_jax.errors import UserError
    raise UserError(f"image size {resolution} is not divisible by 2^{num_stages} (one halving per model.widths "
                    f"entry): use fewer widths or a size divisible by {2 ** num_stages}")
  return resolution // 2 ** num_stages
