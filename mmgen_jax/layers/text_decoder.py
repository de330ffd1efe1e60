"""A transformer text decoder conditioned on memory tokens (cross-attention), with a KV cache for decoding.

Any family that writes text from a code uses it: the captioner's memory is an image's CNN cell tokens, a multimodal
VAE's is its latent. Teacher forcing runs all positions at once under a causal mask; decoding keeps, per block, the
keys and values of every generated position ([B, max_len, heads, head_dim], written in place at the step's index)
and the cross-attention keys/values of the memory, computed once, so a step costs O(max_len), not O(max_len^2).
The output embedding is tied to the input embedding. Ids are `layers/text.Tokenizer`'s (BOS first, EOS, PAD = 0).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from mmgen_jax.layers import decoding
from mmgen_jax.layers.text import BOS, EOS, PAD


class DecoderBlock(nn.Module):
  """Pre-norm causal self-attention, cross-attention to memory, MLP: x [B, L, dim] -> [B, L, dim].

  With `cache=(k, v)` ([B, max_len, heads, head_dim]), x is the token at position `index` [B, 1, dim]; its keys and
  values are written into the cache and `self_mask` lets it attend to positions <= index. Returns (x, cache).
  """
  dim: int
  num_heads: int = 4
  mlp_ratio: int = 4

  def setup(self):
    head_dim = self.dim // self.num_heads
    self.norms = [nn.LayerNorm() for _ in range(3)]
    self.self_qkv = nn.DenseGeneral((3, self.num_heads, head_dim))
    self.self_out = nn.DenseGeneral(self.dim, axis=(-2, -1))
    self.cross_q = nn.DenseGeneral((self.num_heads, head_dim))
    self.cross_kv = nn.DenseGeneral((2, self.num_heads, head_dim))
    self.cross_out = nn.DenseGeneral(self.dim, axis=(-2, -1))
    self.mlp_in, self.mlp_out = nn.Dense(self.mlp_ratio * self.dim), nn.Dense(self.dim)

  def memory_kv(self, memory):
    """Cross-attention keys and values of memory tokens [B, T, dim]: ([B, T, heads, head_dim],) * 2."""
    kv = self.cross_kv(memory)
    return kv[:, :, 0], kv[:, :, 1]

  def __call__(self, x, memory_kv, self_mask, cache=None, index=None):
    qkv = self.self_qkv(self.norms[0](x))
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    if cache is not None:
      k = jax.lax.dynamic_update_slice_in_dim(cache[0], k.astype(cache[0].dtype), index, axis=1)
      v = jax.lax.dynamic_update_slice_in_dim(cache[1], v.astype(cache[1].dtype), index, axis=1)
      cache = (k, v)
    x = x + self.self_out(nn.dot_product_attention(q, k, v, mask=self_mask))
    x = x + self.cross_out(nn.dot_product_attention(self.cross_q(self.norms[1](x)), *memory_kv))
    x = x + self.mlp_out(nn.gelu(self.mlp_in(self.norms[2](x))))
    return x, cache


class TextDecoder(nn.Module):
  """Next-token logits given memory tokens [B, T, dim]; see the methods for shapes."""
  vocab_size: int
  dim: int = 128
  depth: int = 2
  num_heads: int = 4
  max_len: int = 16

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.dim)
    self.positions = self.param("positions", nn.initializers.normal(0.02), (self.max_len, self.dim))
    self.blocks = [DecoderBlock(self.dim, self.num_heads) for _ in range(self.depth)]
    self.norm = nn.LayerNorm()

  def memory_kv(self, memory):
    """Per-block cross-attention (keys, values) of memory [B, T, dim]: computed once per decode."""
    return [block.memory_kv(memory) for block in self.blocks]

  def __call__(self, ids, memory_kvs):
    """Teacher forcing: ids int [B, L] (BOS first) -> logits [B, L, vocab] of each next token."""
    x = self.embed(ids) + self.positions[None, :ids.shape[1]]
    causal = nn.make_causal_mask(ids)
    for block, kv in zip(self.blocks, memory_kvs):
      x, _ = block(x, kv, causal)
    return self.embed.attend(self.norm(x))

  def decode_step(self, tokens, index, cache, memory_kvs):
    """tokens int [B] at position `index` -> (logits [B, vocab] of the next token, updated cache)."""
    x = self.embed(tokens)[:, None] + jax.lax.dynamic_slice_in_dim(self.positions, index, 1)[None]
    mask = (jnp.arange(self.max_len) <= index)[None, None, None, :]
    new_cache = []
    for block, kv, layer_cache in zip(self.blocks, memory_kvs, cache):
      x, layer_cache = block(x, kv, mask, layer_cache, index)
      new_cache.append(layer_cache)
    return self.embed.attend(self.norm(x))[:, 0], new_cache


def empty_cache(decoder, batch):
  """Zero per-block (keys, values) [batch, max_len, heads, head_dim] for `decoder` (a TextDecoder)."""
  shape = (batch, decoder.max_len, decoder.num_heads, decoder.dim // decoder.num_heads)
  return [(jnp.zeros(shape), jnp.zeros(shape)) for _ in range(decoder.depth)]


def search(decoder, step, memory_kvs, beam_size=1, alpha=0.0):
  """Token ids int32 [B, max_len] (EOS, then PAD) by greedy search (beam_size 1) or the best beam of a beam search.

  step(tokens [N], index, cache, memory_kvs) -> (logits [N, V], cache) is the bound `decode_step` (e.g. through
  `module.apply(..., method=...)`); memory_kvs are `memory_kv`'s output for the batch.
  """
  batch = memory_kvs[0][0].shape[0]
  if beam_size == 1:
    fn = lambda tokens, i, cache: step(tokens, i, cache, memory_kvs)
    return decoding.greedy_search(fn, empty_cache(decoder, batch), batch, decoder.max_len, BOS, EOS, PAD)
  tiled = decoding.tile_beams(memory_kvs, beam_size)
  fn = lambda tokens, i, cache: step(tokens, i, cache, tiled)
  tokens, _ = decoding.beam_search(fn, empty_cache(decoder, batch * beam_size), batch, beam_size, decoder.max_len,
                                   BOS, EOS, PAD, alpha=alpha)
  return tokens[:, 0]
