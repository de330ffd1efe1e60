"""Conditioning blocks: conditional batch norm and the projection discriminator head.

Both take a condition *vector* c [B, D] (from any condition encoder: a label embedding, a text or audio encoder),
so swapping the condition is a config change, not a new family.
"""
import flax.linen as nn
import jax.numpy as jnp


class ConditionalBatchNorm(nn.Module):
  """Batch norm whose scale and shift are predicted from c: x [B, H, W, C], c [B, D] -> [B, H, W, C].

  The gain is 1 + Dense(c) (de Vries et al. 2017; Miyato & Koyama 2018), so an untrained head is plain batch norm.
  """
  momentum: float = 0.9
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, c, train=True):
    x = nn.BatchNorm(use_running_average=not train, momentum=self.momentum, use_scale=False, use_bias=False,
                     dtype=self.dtype)(x)
    features = x.shape[-1]
    gain = 1.0 + nn.Dense(features, kernel_init=nn.initializers.zeros, dtype=self.dtype, name="gain")(c)
    bias = nn.Dense(features, kernel_init=nn.initializers.zeros, dtype=self.dtype, name="bias")(c)
    return x * gain[:, None, None, :] + bias[:, None, None, :]


class ProjectionHead(nn.Module):
  """Projection discriminator output (Miyato & Koyama 2018): h [B, F], c [B, D] -> logits [B] = w.h + <V c, h>."""
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, h, c, train=True):
    linear = nn.Dense(1, name="linear")
    project = nn.Dense(h.shape[-1], use_bias=False, name="project")
    if self.spectral_norm:
      out = nn.SpectralNorm(linear)(h, update_stats=train)[:, 0]
      return out + jnp.sum(nn.SpectralNorm(project)(c, update_stats=train) * h, axis=-1)
    return linear(h)[:, 0] + jnp.sum(project(c) * h, axis=-1)
