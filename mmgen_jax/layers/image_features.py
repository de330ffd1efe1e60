"""Hand-crafted image features in JAX (HSV colour histogram, Sobel edges, Gabor texture bank) and an encoder over them.

Conventions match scikit-image so they are tested against it: `rgb_to_hsv` = `skimage.color.rgb2hsv`, `sobel` =
`skimage.filters.sobel`, `gabor` = `skimage.filters.gabor` (both with 'reflect' borders, i.e. edge-inclusive
mirroring). Images are float in [0, 1], [B, H, W, C].
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.layers.conv import Conv


def to_gray(images):
  """[B, H, W, C] -> [B, H, W, 1]; RGB uses ITU-R BT.709 luma weights, as skimage.color.rgb2gray does."""
  if images.shape[-1] == 1:
    return images
  return images @ jnp.asarray([0.2125, 0.7154, 0.0721])[:, None]  # skimage.color.rgb2gray's weights.


def rgb_to_hsv(rgb):
  """[..., 3] RGB in [0, 1] -> HSV in [0, 1] (hue 0 where the pixel is grey; ties resolved as scikit-image does)."""
  r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
  v = rgb.max(-1)
  delta = v - rgb.min(-1)
  safe = jnp.where(delta > 0, delta, 1.0)
  h = jnp.where(r == v, (g - b) / safe, 0.0)
  h = jnp.where(g == v, 2.0 + (b - r) / safe, h)
  h = jnp.where(b == v, 4.0 + (r - g) / safe, h)
  h = jnp.where(delta > 0, (h / 6.0) % 1.0, 0.0)
  s = jnp.where(v > 0, delta / jnp.where(v > 0, v, 1.0), 0.0)
  return jnp.stack([h, s, v], -1)


def hsv_histogram(images, bins=16):
  """[B, 3 * bins]: per-channel histograms of hue, saturation and value over [0, 1], each summing to 1.

  Grey images (C = 1) are treated as RGB with equal channels (hue and saturation are then all 0).
  """
  if images.shape[-1] == 1:
    images = jnp.repeat(images, 3, -1)
  hsv = rgb_to_hsv(images).reshape(images.shape[0], -1, 3)
  index = jnp.clip(jnp.floor(hsv * bins).astype(jnp.int32), 0, bins - 1)  # 1.0 joins the last bin (np.histogram).
  counts = jax.nn.one_hot(index, bins).mean(axis=1)  # [B, 3, bins]
  return counts.reshape(images.shape[0], 3 * bins)


def convolve(images, kernels):
  """True 2-D convolution (scipy.ndimage.convolve, mode='reflect') of each channel with each kernel.

  images [B, H, W, C], kernels [kh, kw, K] (odd sizes) -> [B, H, W, C, K].
  """
  b, h, w, c = images.shape
  kh, kw, k = kernels.shape
  x = images.transpose(0, 3, 1, 2).reshape(b * c, h, w, 1)
  x = jnp.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)), mode="symmetric")
  flipped = jnp.asarray(kernels)[::-1, ::-1, None, :]  # Convolution = correlation with the flipped kernel.
  y = jax.lax.conv_general_dilated(x, flipped.astype(x.dtype), (1, 1), "VALID",
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
  return y.reshape(b, c, h, w, k).transpose(0, 2, 3, 1, 4)


def sobel(images):
  """Sobel edge magnitude [B, H, W, C] = sqrt((gx^2 + gy^2) / 2), with [1, 2, 1] / 4 smoothing and a [1, 0, -1]
  difference (scikit-image's normalisation: a unit step gives 1)."""
  smooth = np.array([1.0, 2.0, 1.0]) / 4.0
  diff = np.array([1.0, 0.0, -1.0])
  kernels = np.stack([np.outer(diff, smooth), np.outer(smooth, diff)], -1).astype(np.float32)  # d/dy, d/dx.
  g = convolve(images, kernels)
  return jnp.sqrt(jnp.sum(g ** 2, -1) / 2.0)


def gabor_kernel(frequency, theta, bandwidth=1.0, n_stds=3):
  """Complex Gabor kernel [kh, kw]: a Gaussian envelope (sigma from the bandwidth in octaves) times a complex
  sinusoid of `frequency` (cycles/pixel) along direction `theta`, normalised by 2 pi sigma^2."""
  sigma = np.sqrt(np.log(2) / 2) / np.pi * (2.0 ** bandwidth + 1) / (2.0 ** bandwidth - 1) / frequency
  c, s = np.cos(theta), np.sin(theta)
  half = int(np.ceil(max(abs(n_stds * sigma * c), abs(n_stds * sigma * s), 1)))  # Isotropic envelope: square.
  y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
  along, across = x * c + y * s, -x * s + y * c
  envelope = np.exp(-0.5 * (along ** 2 + across ** 2) / sigma ** 2) / (2 * np.pi * sigma ** 2)
  return envelope * np.exp(2j * np.pi * frequency * along)


def gabor(images, frequency, theta, bandwidth=1.0):
  """(real, imaginary) Gabor responses, each [B, H, W, C] (skimage.filters.gabor per channel)."""
  kernel = gabor_kernel(frequency, theta, bandwidth)
  out = convolve(images, np.stack([kernel.real, kernel.imag], -1).astype(np.float32))
  return out[..., 0], out[..., 1]


def gabor_energy(images, frequency=0.25, orientations=4):
  """Gabor magnitude maps [B, H, W, orientations] of the grey image, orientations evenly spaced over [0, pi).

  All 2 x orientations kernels go through one convolution: separate 15x15 single-kernel convolutions cost 4x more
  on the CPU (measured)."""
  kernels = [gabor_kernel(frequency, np.pi * i / orientations) for i in range(orientations)]
  size = max(k.shape[0] for k in kernels)  # Sizes vary with the angle: zero-pad to one centred size.
  kernels = [np.pad(k, (size - k.shape[0]) // 2) for k in kernels]
  bank = np.stack([part for k in kernels for part in (k.real, k.imag)], -1).astype(np.float32)
  out = convolve(to_gray(images), bank)[..., 0, :]  # [B, H, W, 2 * orientations]
  return jnp.sqrt(out[..., 0::2] ** 2 + out[..., 1::2] ** 2)


class ImageFeatureEncoder(nn.Module):
  """Reference images in [-1, 1] [B, H, W, C] -> (tokens [B, 1, dim], mask [B, 1]) from hand-crafted features.

  features: any of 'edges' (Sobel map), 'texture' (Gabor energy maps), 'colour' (HSV histogram). The maps are
  stacked and encoded by a strided CNN whose final grid is flattened (where an edge is matters: a mean over cells
  lost the digit's shape and the generator ignored it, measured), the histogram by an MLP; the two embeddings are
  concatenated into one token. The features are computed from the pixels without gradients: they describe the
  reference, they are not learnt.
  """
  features: tuple = ("edges", "texture", "colour")
  width: int = 16
  dim: int = 64
  bins: int = 16

  @nn.compact
  def __call__(self, images, train=True):
    del train
    # Fixed features in float32 (they are measurements, checked against scikit-image); the learnt layers that read
    # them compute in the input's dtype (`layers/precision.py`).
    x = jax.lax.stop_gradient((images.astype(jnp.float32) + 1.0) / 2.0)
    maps, embeddings = [], []
    if "edges" in self.features:
      maps.append(sobel(to_gray(x)))
    if "texture" in self.features:
      maps.append(gabor_energy(x))
    if maps:
      h = jnp.concatenate(maps, -1).astype(images.dtype)
      for i in range(3):
        h = nn.gelu(Conv(self.width * 2 ** i, (3, 3), strides=(2, 2))(h))
      embeddings.append(h.reshape(h.shape[0], -1))
    if "colour" in self.features:
      embeddings.append(nn.gelu(nn.Dense(self.dim)(hsv_histogram(x, self.bins).astype(images.dtype))))
    if not embeddings:
      raise ValueError(f"ImageFeatureEncoder needs at least one of edges/texture/colour, got {self.features}")
    token = nn.Dense(self.dim)(jnp.concatenate(embeddings, -1))[:, None]
    return token, jnp.ones(token.shape[:2], bool)
