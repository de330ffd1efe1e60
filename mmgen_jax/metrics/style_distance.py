"""How far an image's style is from a style image, in features no style model is trained on.

Texture: Gram matrices of the luminance's responses to a fixed Gabor bank (`layers/image_features.py`: 3
frequencies x 4 orientations, magnitudes), compared by |Ga - Gb| / (|Ga| + |Gb|) (Frobenius norms; in [0, 1],
symmetric, and not blown up by a nearly flat style). Colour: HSV histograms (16 bins
per channel), compared by total variation (half the L1 distance, in [0, 1]). `style_distance` is their sum; both
are 0 for an image and itself and near 0 for two crops of one texture.
"""
import jax
import jax.numpy as jnp

from mmgen_jax.layers import image_features
from mmgen_jax.layers.style_stats import gram

FREQUENCIES = (0.08, 0.16, 0.32)
ORIENTATIONS = 4


def gabor_gram(images):
  """Gram matrices [B, 12, 12] of the Gabor magnitude maps of float images [B, H, W, C] in [0, 1]."""
  maps = jnp.concatenate([image_features.gabor_energy(images, f, ORIENTATIONS) for f in FREQUENCIES], -1)
  return gram(maps)


@jax.jit
def style_distances(images, styles):
  """{'texture', 'colour', 'style_distance'}: each [B], between uint8 images [B, H, W, C] and uint8 styles
  [B, H', W', C] (any sizes)."""
  x, s = images.astype(jnp.float32) / 255.0, styles.astype(jnp.float32) / 255.0
  gx, gs = gabor_gram(x), gabor_gram(s)
  norm = lambda g: jnp.linalg.norm(g.reshape(g.shape[0], -1), axis=-1)
  texture = norm(gx - gs) / (norm(gx) + norm(gs) + 1e-8)
  colour = 0.5 * jnp.sum(jnp.abs(image_features.hsv_histogram(x) - image_features.hsv_histogram(s)), -1) / 3.0
  return {"texture": texture, "colour": colour, "style_distance": texture + colour}
