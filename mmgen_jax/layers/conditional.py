"""Condition encoders and the projection discriminator head.

A condition encoder maps its input to `(tokens [B, T, D], mask bool [B, T])`, the currency of `layers/fusion.py`:
a label is one token, a caption one token per word, a clip one per time step, reference-image features one per
cell. Swapping the condition is a config change, not a new family (`make_condition_encoder`).
"""
import flax.linen as nn
import jax.numpy as jnp

from mmgen_jax.layers.audio import AudioEncoder
from mmgen_jax.layers.image_features import ImageFeatureEncoder
from mmgen_jax.layers.text import TextEncoder

CONDITIONS = ("label", "text", "audio", "features")


class LabelEncoder(nn.Module):
  """Class labels int [B] -> (tokens [B, 1, dim], mask [B, 1])."""
  num_classes: int
  dim: int = 64

  @nn.compact
  def __call__(self, labels, train=True):
    del train
    tokens = nn.Embed(self.num_classes, self.dim, name="label_embedding")(labels)[:, None]
    return tokens, jnp.ones(tokens.shape[:2], bool)


def make_condition_encoder(kind, dim, *, num_classes=10, vocab_size=None, text_max_len=16, text_depth=2,
                           sample_rate=8000, features=("edges", "texture", "colour")):
  """The encoder for condition `kind` (one of CONDITIONS) with output width `dim`."""
  if kind == "label":
    return LabelEncoder(num_classes, dim)
  if kind == "text":
    return TextEncoder(vocab_size, dim, depth=text_depth, max_len=text_max_len)
  if kind == "audio":
    return AudioEncoder(sample_rate=sample_rate, dim=dim)
  if kind == "features":
    return ImageFeatureEncoder(tuple(features), dim=dim)
  raise ValueError(f"unknown condition {kind!r}; one of {CONDITIONS}")


class ProjectionHead(nn.Module):
  """Projection discriminator output (Miyato & Koyama 2018): h [B, F], c [B, D] -> logits [B] = w.h + <V c, h>."""
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, h, c, train=True):
    linear = nn.Dense(1, name="linear")
    project = nn.Dense(h.shape[-1], use_bias=False, name="project")
    if self.spectral_norm:  # Power iterations in float32; the kernels cast back to h's (compute) dtype.
      out = nn.SpectralNorm(linear, dtype=h.dtype)(h, update_stats=train)[:, 0]
      return out + jnp.sum(nn.SpectralNorm(project, dtype=h.dtype)(c.astype(h.dtype), update_stats=train) * h,
                           axis=-1)
    return linear(h)[:, 0] + jnp.sum(project(c) * h, axis=-1)
