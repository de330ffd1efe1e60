"""The JAX colour / edge / texture features against scikit-image and numpy."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage.color import rgb2hsv
from skimage.filters import gabor, sobel

from mmgen_jax.layers import image_features as features


def _images():
  return np.random.default_rng(0).random((2, 20, 24, 3)).astype(np.float32)


def test_sobel_matches_scikit_image_per_channel():
  x = _images()
  ours = np.asarray(features.sobel(jnp.asarray(x)))
  for b in range(2):
    for c in range(3):
      np.testing.assert_allclose(ours[b, ..., c], sobel(x[b, ..., c]), atol=1e-6)


@pytest.mark.parametrize("frequency,theta", [(0.25, 0.0), (0.15, 0.7)])
def test_gabor_matches_scikit_image(frequency, theta):
  x = _images()
  real, imag = features.gabor(jnp.asarray(x), frequency, theta)
  ref_real, ref_imag = gabor(x[1, ..., 2], frequency, theta)
  np.testing.assert_allclose(np.asarray(real)[1, ..., 2], ref_real, atol=1e-6)
  np.testing.assert_allclose(np.asarray(imag)[1, ..., 2], ref_imag, atol=1e-6)


def test_hsv_and_histogram_match_scikit_image_and_numpy():
  x = _images()
  x[0, :3, :3] = 0.5  # Grey pixels: hue and saturation 0.
  hsv = np.asarray(features.rgb_to_hsv(jnp.asarray(x)))
  np.testing.assert_allclose(hsv[0], rgb2hsv(x[0]), atol=1e-6)
  hist = np.asarray(features.hsv_histogram(jnp.asarray(x), bins=8))
  ref = np.concatenate([np.histogram(rgb2hsv(x[1])[..., c], bins=8, range=(0, 1))[0] for c in range(3)]) / (20 * 24)
  np.testing.assert_allclose(hist[1], ref, atol=1e-6)


def test_feature_encoder_sees_the_reference_not_the_gradient():
  x = jnp.asarray(_images()[:, :16, :16]) * 2 - 1
  encoder = features.ImageFeatureEncoder(dim=8)
  variables = jax.jit(encoder.init)(jax.random.PRNGKey(0), x)
  tokens, mask = jax.jit(encoder.apply)(variables, x)
  assert tokens.shape == (2, 1, 8) and mask.shape == (2, 1)
  grad = jax.jit(jax.grad(lambda im: encoder.apply(variables, im)[0].sum()))(x)
  assert not np.any(np.asarray(grad))  # Features are descriptors of the reference, not learnt through.


def test_gabor_energy_bank_is_the_magnitude_of_each_orientation():
  x = _images()[:1, ..., :1]
  energy = np.asarray(features.gabor_energy(jnp.asarray(x), frequency=0.25, orientations=4))
  for i in range(4):  # Kernel sizes differ by angle; the bank zero-pads them to one size.
    real, imag = gabor(x[0, ..., 0], 0.25, np.pi * i / 4)
    np.testing.assert_allclose(energy[0, ..., i], np.hypot(real, imag), atol=1e-6)
