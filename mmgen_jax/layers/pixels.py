"""Pixel conversions between storage (uint8 in [0, 255]) and the models' float range [-1, 1]."""
import jax.numpy as jnp


def to_float(images):
  """uint8 [..., C] in [0, 255] -> float32 in [-1, 1]."""
  return images.astype(jnp.float32) / 127.5 - 1.0


def to_uint8(images):
  """float in [-1, 1] -> uint8 in [0, 255] (rounded, clipped)."""
  return jnp.clip(jnp.round((images + 1.0) * 127.5), 0, 255).astype(jnp.uint8)
