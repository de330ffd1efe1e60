"""A small CNN image encoder whose output is a set of tokens, the currency of `layers/fusion.py` and of attention.

Used by the captioner (cross-attention reads the tokens) and by any family that needs a learnt image code (pool the
tokens for a vector).
"""
import flax.linen as nn
import jax.numpy as jnp


class ConvEncoder(nn.Module):
  """Images float [B, H, W, C] in [-1, 1] -> (tokens [B, H/2^s * W/2^s, dim], mask bool [B, T]); s = len(widths).

  Each stage is a 3x3 conv and a stride-2 3x3 conv (GroupNorm, SiLU); the last feature map's cells become tokens
  with learnt positions, so attention knows where each cell lies. Fully convolutional up to the positions, which
  are sized for `max_cells` cells and cut to the map's size.
  """
  widths: tuple = (32, 64, 128)
  dim: int = 128
  max_cells: int = 64

  @nn.compact
  def __call__(self, x, train=True):
    del train
    for width in self.widths:
      x = nn.silu(nn.GroupNorm(num_groups=min(8, width))(nn.Conv(width, (3, 3))(x)))
      x = nn.silu(nn.GroupNorm(num_groups=min(8, width))(nn.Conv(width, (3, 3), strides=(2, 2))(x)))
    tokens = nn.Dense(self.dim)(x.reshape(x.shape[0], -1, x.shape[-1]))
    if tokens.shape[1] > self.max_cells:
      raise ValueError(f"{tokens.shape[1]} cells exceed max_cells={self.max_cells}: raise it or add a stage")
    positions = self.param("positions", nn.initializers.normal(0.02), (self.max_cells, self.dim))
    tokens = nn.LayerNorm()(tokens + positions[None, :tokens.shape[1]])
    return tokens, jnp.ones(tokens.shape[:2], bool)
