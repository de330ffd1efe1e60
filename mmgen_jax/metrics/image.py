"""PSNR and SSIM, batched and jittable, matching scikit-image's definitions.

`ssim` follows Wang et al. 2004 as scikit-image computes it with gaussian_weights=True, sigma=1.5,
use_sample_covariance=False: an 11x11 Gaussian window (truncate 3.5), K1=0.01, K2=0.03, the SSIM map averaged over
the image minus a 5-pixel border, channels averaged. The super-resolution conventions (BasicSR) are options:
`y_channel` compares ITU-R BT.601 luma only, `crop_border` drops that many pixels on each side first.

The metrics are jitted (options static): evaluation calls them eagerly on whole splits, where an SSIM dispatched op
by op ran ~300 separate programs.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

_jit_with_static_options = functools.partial(jax.jit, static_argnames=("max_val", "crop_border", "y_channel"))

_SIGMA, _TRUNCATE = 1.5, 3.5
_RADIUS = int(_TRUNCATE * _SIGMA + 0.5)  # = 5, so the window is 11x11 as in scipy.ndimage.gaussian_filter.


def rgb_to_y(images, max_val=1.0):
  """[..., 3] RGB in [0, max_val] -> [..., 1] BT.601 luma Y in [16/255, 235/255] * max_val (MATLAB rgb2ycbcr)."""
  x = images.astype(jnp.float32) / max_val
  y = (16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0
  return (y * max_val)[..., None]


def _prepare(a, b, max_val, crop_border, y_channel):
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape:
    raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
  if a.ndim == 3:
    a, b = a[None], b[None]
  if y_channel:
    a, b = rgb_to_y(a, max_val), rgb_to_y(b, max_val)
  if crop_border:
    c = crop_border
    a, b = a[:, c:-c, c:-c], b[:, c:-c, c:-c]
  return a, b


@_jit_with_static_options
def psnr(a, b, max_val=1.0, crop_border=0, y_channel=False):
  """Peak signal-to-noise ratio in dB per image: [B, H, W, C] (or [H, W, C]) pairs -> [B]."""
  a, b = _prepare(a, b, max_val, crop_border, y_channel)
  mse = jnp.mean((a - b) ** 2, axis=(1, 2, 3))
  return 10.0 * jnp.log10(max_val ** 2 / mse)


def _gaussian_window():
  x = np.arange(-_RADIUS, _RADIUS + 1, dtype=np.float64)
  w = np.exp(-0.5 * (x / _SIGMA) ** 2)
  return jnp.asarray(w / w.sum(), jnp.float32)


def _blur(x):
  """Separable Gaussian filter of [B, H, W, C] with scipy's 'reflect' boundary (numpy's 'symmetric')."""
  w = _gaussian_window()
  r = _RADIUS
  for axis in (1, 2):
    pad = [(0, 0)] * 4
    pad[axis] = (r, r)
    xp = jnp.pad(x, pad, mode="symmetric")
    n = x.shape[axis]
    x = sum(w[k] * jnp.take(xp, jnp.arange(k, k + n), axis=axis) for k in range(2 * r + 1))
  return x


@_jit_with_static_options
def ssim(a, b, max_val=1.0, crop_border=0, y_channel=False):
  """Structural similarity per image: [B, H, W, C] (or [H, W, C]) pairs -> [B]. Images need H, W >= 11."""
  a, b = _prepare(a, b, max_val, crop_border, y_channel)
  c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
  mu_a, mu_b = _blur(a), _blur(b)
  var_a = _blur(a * a) - mu_a ** 2
  var_b = _blur(b * b) - mu_b ** 2
  cov = _blur(a * b) - mu_a * mu_b
  s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
  r = _RADIUS
  return jnp.mean(s[:, r:-r, r:-r, :], axis=(1, 2, 3))


@functools.partial(jax.jit, static_argnames="max_val")
def masked_psnr(a, b, mask, max_val=1.0):
  """PSNR in dB over the pixels where mask [B, H, W, 1] is 1 (e.g. an inpainted hole), per image -> [B]: the mean
  squared error over those pixels and all channels."""
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  mask = jnp.asarray(mask, jnp.float32)
  se = jnp.sum(mask * (a - b) ** 2, axis=(1, 2, 3))
  mse = se / (jnp.sum(mask, axis=(1, 2, 3)) * a.shape[-1])
  return 10.0 * jnp.log10(max_val ** 2 / mse)


def image_metrics(predicted, target):
  """{'psnr' (dB), 'ssim'}: means over uint8 [N, H, W, C] predictions against the true images."""
  predicted, target = np.asarray(predicted, np.float32), np.asarray(target, np.float32)
  return {"psnr": float(np.mean(psnr(predicted, target, max_val=255.0))),
          "ssim": float(np.mean(ssim(predicted, target, max_val=255.0)))}
