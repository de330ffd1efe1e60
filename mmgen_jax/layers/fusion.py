"""Fusion of a condition into an image-feature stream: concatenation, FiLM, cross-attention.

Every fusion module has the same call signature, so a config swaps them:

    fuse(h [B, H, W, F], tokens [B, T, D], mask bool [B, T]) -> [B, H, W, F]

`tokens`/`mask` are what every condition encoder returns (a label is one token; a caption one token per word; a clip
one per time step). The generator decides *where* a fusion applies: early fusion concatenates the condition with the
noise input (`pool` of the tokens), late fusion concatenates the condition embedding with the last feature map,
FiLM modulates every block, cross-attention lets every pixel attend to the condition tokens.
`MapConcatFusion` is the exception: it joins two spatial codes of the same size (the V-GAN's video and image codes).
"""
import flax.linen as nn
import jax.numpy as jnp

from mmgen_jax.layers.conv import Conv

FUSIONS = ("early", "late", "film", "cross_attention")


def pool(tokens, mask):
  """Masked mean over tokens: [B, T, D], [B, T] -> [B, D]."""
  weights = mask.astype(tokens.dtype)[..., None]
  return (tokens * weights).sum(1) / jnp.maximum(weights.sum(1), 1.0)


class ConcatFusion(nn.Module):
  """h' = Conv1x1([h, broadcast(pool(tokens))]): concatenates the condition embedding with every pixel's features."""

  @nn.compact
  def __call__(self, h, tokens, mask):
    c = pool(tokens, mask)
    c = jnp.broadcast_to(c[:, None, None, :], h.shape[:3] + c.shape[-1:])
    return Conv(h.shape[-1], (1, 1))(jnp.concatenate([h, c.astype(h.dtype)], -1))


class FiLM(nn.Module):
  """h' = h * (1 + gamma(c)) + beta(c), c = pool(tokens) (Perez et al. 2018). Zero-initialised: starts as identity."""

  @nn.compact
  def __call__(self, h, tokens, mask):
    c = pool(tokens, mask)
    features = h.shape[-1]
    gamma = nn.Dense(features, kernel_init=nn.initializers.zeros, name="gamma")(c)
    beta = nn.Dense(features, kernel_init=nn.initializers.zeros, name="beta")(c)
    return h * (1.0 + gamma[:, None, None, :]) + beta[:, None, None, :]


class CrossAttention(nn.Module):
  """h' = h + Attention(queries = pixels of LayerNorm(h), keys/values = condition tokens), masked by `mask`."""
  num_heads: int = 4

  @nn.compact
  def __call__(self, h, tokens, mask):
    b, hh, ww, f = h.shape
    q = nn.LayerNorm()(h).reshape(b, hh * ww, f)
    attn_mask = nn.make_attention_mask(jnp.ones((b, hh * ww), bool), mask)
    out = nn.MultiHeadDotProductAttention(num_heads=self.num_heads, qkv_features=f, out_features=f)(
        q, tokens.astype(h.dtype), mask=attn_mask)
    return h + out.reshape(b, hh, ww, f)


def make_fusion(name, **kwargs):
  """The fusion module a block uses for `name` in FUSIONS ('early' and 'late' both concatenate)."""
  if name in ("early", "late"):
    return ConcatFusion(**kwargs)
  if name == "film":
    return FiLM(**kwargs)
  if name == "cross_attention":
    return CrossAttention(**kwargs)
  raise ValueError(f"unknown fusion {name!r}; one of {FUSIONS}")


class MapConcatFusion(nn.Module):
  """Late fusion of aligned feature maps: [B, H, W, F1], [B, H, W, F2], ... -> Conv1x1(concat) [B, H, W, features]
  (spatial codes keep where things are; pooling them first, as `ConcatFusion` does, would lose it)."""
  features: int

  @nn.compact
  def __call__(self, *maps):
    return Conv(self.features, (1, 1))(jnp.concatenate(maps, -1))
