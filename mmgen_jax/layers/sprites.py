"""A layered video model for clips of one object moving over a plain background: a sprite and its trajectory.

The decoder draws a sprite (S x S) and one position per frame and composites the sprite at those positions by
bilinear interpolation (a spatial transformer restricted to translation, Jaderberg et al. 2015); the encoder finds
each frame's ink centroid, crops an S x S window around it the same way, and reads the object from the windows and
the motion from the centroids. A frames-as-channels CNN decoder, measured on `any_digits`, drew blurred blobs: it
must learn where a digit is and what it is in one map, and a decoder that averages over positions scores better
than one that commits. Translation by interpolation matrices: `canvas = Ry @ sprite @ Rx^T`, two small products
per frame, differentiable in the positions.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from mmgen_jax.layers.vision import ConvDecoder, ConvEncoder


def shift_matrix(offset, size, canvas):
  """[..., canvas, size]: R[i, j] = max(0, 1 - |i - (j + offset)|), placing index j of a size-long signal at
  canvas position j + offset (fractional offsets interpolate linearly). offset [...]. float32 whatever the offset's
  dtype: positions need float32's resolution (bfloat16 is 0.25 apart at 32); callers cast the weights."""
  i = jnp.arange(canvas, dtype=jnp.float32)[:, None]
  j = jnp.arange(size, dtype=jnp.float32)[None, :]
  return jnp.maximum(0.0, 1.0 - jnp.abs(i - (j + offset.astype(jnp.float32)[..., None, None])))


def render(sprite, corners, canvas):
  """sprite [B, S, S], corners [B, T, 2] (top-left y, x; fractional) -> frames [B, T, canvas, canvas] in sprite's
  dtype."""
  s = sprite.shape[-1]
  ry = shift_matrix(corners[..., 0], s, canvas).astype(sprite.dtype)  # [B, T, canvas, S]
  rx = shift_matrix(corners[..., 1], s, canvas).astype(sprite.dtype)
  return jnp.einsum("btis,bsk,btjk->btij", ry, sprite, rx)


def crop(frames, corners, size):
  """frames [B, T, H, W], corners [B, T, 2] -> windows [B, T, size, size] sampled bilinearly at the corners, in
  frames' dtype."""
  ry = shift_matrix(corners[..., 0], size, frames.shape[-2]).astype(frames.dtype)
  rx = shift_matrix(corners[..., 1], size, frames.shape[-1]).astype(frames.dtype)
  return jnp.einsum("btis,btij,btjk->btsk", ry, frames, rx)


def ink_corners(frames, size):
  """Top-left corners [B, T, 2] of size x size windows centred on each frame's ink centroid (frames [B, T, H, W]
  in [0, 1]), kept inside the frame; float32 (sums of a thousand pixels lose whole pixels in bfloat16)."""
  frames = frames.astype(jnp.float32)
  h, w = frames.shape[-2:]
  mass = frames.sum((-2, -1)) + 1e-6
  y = (frames.sum(-1) * jnp.arange(h)).sum(-1) / mass
  x = (frames.sum(-2) * jnp.arange(w)).sum(-1) / mass
  corner = jnp.stack([y, x], -1) - (size - 1) / 2
  return jnp.clip(corner, 0.0, jnp.asarray([h - size, w - size], jnp.float32))


class SpriteVideoEncoder(nn.Module):
  """frames [B, T, H, W, 1] in [-1, 1] -> features [B, dim + 2T]: the mean over frames of a CNN over each frame's
  window around its ink (what moves), and the windows' corners scaled to [-1, 1] (how it moves)."""
  widths: tuple
  sprite: int = 16
  dim: int = 64

  @nn.compact
  def __call__(self, video):
    b, t, h, w, _ = video.shape
    frames = (video[..., 0] + 1.0) / 2.0
    corners = jax.lax.stop_gradient(ink_corners(frames, self.sprite))
    windows = crop(frames, corners, self.sprite) * 2.0 - 1.0  # [B, T, S, S]
    cells = (self.sprite // 2 ** len(self.widths)) ** 2
    tokens, _ = ConvEncoder(self.widths, self.dim, max_cells=cells)(windows.reshape(b * t, self.sprite,
                                                                                    self.sprite, 1))
    appearance = tokens.reshape(b, t, -1).mean(1)
    motion = corners / jnp.asarray([h - self.sprite, w - self.sprite], jnp.float32) * 2.0 - 1.0
    return jnp.concatenate([appearance, motion.reshape(b, 2 * t).astype(appearance.dtype)], -1)


class SpriteVideoDecoder(nn.Module):
  """(content [B, C], motion code [B, M]) -> Bernoulli logits [B, T, canvas, canvas, 1]: a sprite drawn from the
  content alone (CNN decoder, sigmoid), rendered at T positions read from both codes (an MLP, sigmoid-scaled into
  the canvas). A motion code (a private latent) can say where, never what."""
  widths: tuple
  frames: int
  canvas: int
  sprite: int = 16

  @nn.compact
  def __call__(self, content, motion, whole_pixels=False):
    """whole_pixels (static): the positions rounded to whole pixels, for samples of clips that move by whole pixels
    (training renders at fractional positions, which the gradient needs; there bilinear interpolation blurs the
    sprite, and by a different amount in each frame)."""
    start = self.sprite // 2 ** len(self.widths)
    sprite = jax.nn.sigmoid(ConvDecoder(self.widths, 1, start=start)(content)[..., 0])  # [B, S, S]
    code = jnp.concatenate([content, motion], -1)
    h = nn.gelu(nn.Dense(64)(code))
    position = jax.nn.sigmoid(nn.Dense(2 * self.frames)(h)).reshape(code.shape[0], self.frames, 2)
    corners = position * (self.canvas - self.sprite)
    frames = render(sprite, jnp.round(corners) if whole_pixels else corners, self.canvas)
    p = jnp.clip(frames, 1e-4, 1.0 - 1e-4)
    return (jnp.log(p) - jnp.log1p(-p))[..., None]
