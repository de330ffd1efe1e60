"""Backward warping by a dense flow field with bilinear sampling (the spatial-transformer sampler of Jaderberg et
al. 2015), differentiable in both the image and the flow: the motion-compensation step of next-frame synthesis and
of recurrent video super-resolution."""
import jax.numpy as jnp


def warp(image, flow):
  """image [B, H, W, C], flow [B, H, W, 2] (dy, dx in pixels) -> [B, H, W, C] with
  out[b, y, x] = image[b, y + dy, x + dx], bilinear between pixels, positions clamped to the border; in image's
  dtype."""
  b, h, w, _ = image.shape
  # Positions in float32 whatever the compute dtype: bfloat16 spaces its values 0.5 apart from 128 up, 1 from 256.
  flow = flow.astype(jnp.float32)
  y = jnp.clip(jnp.arange(h, dtype=jnp.float32)[None, :, None] + flow[..., 0], 0, h - 1)
  x = jnp.clip(jnp.arange(w, dtype=jnp.float32)[None, None, :] + flow[..., 1], 0, w - 1)
  y0, x0 = jnp.floor(y), jnp.floor(x)
  wy, wx = ((y - y0)[..., None]).astype(image.dtype), ((x - x0)[..., None]).astype(image.dtype)
  y0, x0 = y0.astype(jnp.int32), x0.astype(jnp.int32)
  y1, x1 = jnp.minimum(y0 + 1, h - 1), jnp.minimum(x0 + 1, w - 1)
  batch = jnp.arange(b)[:, None, None]

  def at(yy, xx):
    return image[batch, yy, xx]

  top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
  bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
  return top * (1 - wy) + bottom * wy
