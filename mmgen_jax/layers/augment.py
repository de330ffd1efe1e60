"""Random augmentations inside the jitted step: per-example flips and colour-channel orders; DiffAugment for GANs
trained on little data; shifts, rotations, scaling and elastic distortion for classifiers trained on few examples."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.layers.audio import hz_to_mel


def random_flip(rng, images):
  """Each image of float [B, H, W, C] mirrored left-right with probability 1/2."""
  flip = jax.random.bernoulli(rng, 0.5, (images.shape[0], 1, 1, 1))
  return jnp.where(flip, images[:, :, ::-1], images)


def random_channel_order(rng, *arrays):
  """The same random order of the last (colour) axis for each example of every array [B, ..., C]: one of the C!
  permutations per example (teaches structure, not the training photos' colours)."""
  c = arrays[0].shape[-1]
  orders = jnp.asarray(list(itertools.permutations(range(c))))
  order = orders[jax.random.randint(rng, (arrays[0].shape[0],), 0, len(orders))]  # [B, C]
  shaped = lambda x: order.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (c,))
  out = tuple(jnp.take_along_axis(x, shaped(x), axis=-1) for x in arrays)
  return out if len(out) > 1 else out[0]


def random_roll(rng, signals, max_shift):
  """Each example of [B, N] (waveforms) rolled along its last axis by its own shift, uniform in [-max_shift,
  max_shift] samples: a word is said anywhere in a clip, and the silence around it wraps round."""
  shifts = jax.random.randint(rng, (signals.shape[0],), -max_shift, max_shift + 1)
  return jax.vmap(jnp.roll)(signals, shifts)


def random_spectral_masks(rng, signals, sample_rate, band_masks=2, max_band=0.1, time_masks=2, max_time=0.05):
  """SpecAugment's masks (Park et al. 2019) applied to waveforms [B, N]: per example, `band_masks` frequency bands
  removed (each up to `max_band` of the mel scale wide, anywhere on it; zeroed in the clip's spectrum) and
  `time_masks` stretches of up to `max_time` seconds silenced. A recogniser so trained cannot lean on any one band
  or moment of a voice it has heard."""
  b, n = signals.shape
  band_rng, time_rng = jax.random.split(rng)
  mel = hz_to_mel(np.fft.rfftfreq(n, 1.0 / sample_rate)).astype(np.float32)  # [n // 2 + 1], a constant.
  top = float(mel[-1])
  centre, width = jax.random.uniform(band_rng, (2, b, band_masks, 1))
  removed = jnp.any(jnp.abs(mel - centre * top) < 0.5 * width * max_band * top, axis=1)  # [B, n // 2 + 1]
  signals = jnp.fft.irfft(jnp.where(removed, 0.0, jnp.fft.rfft(signals)), n)
  start, length = jax.random.uniform(time_rng, (2, b, time_masks, 1))
  t = jnp.arange(n)
  silenced = jnp.any((t >= start * n) & (t < start * n + length * max_time * sample_rate), axis=1)
  return jnp.where(silenced, 0.0, signals).astype(signals.dtype)


# --- differentiable augmentation for GANs on little data ----------------------------------------------------------

DIFF_AUGMENT_POLICIES = ("color", "translation", "cutout")


def check_diff_augment_policy(policy):
  """The policy string ('translation,cutout', '' for none) as a tuple; a UserError names an unknown part."""
  from mmgen_jax.errors import UserError

  parts = tuple(p for p in policy.split(",") if p)
  unknown = [p for p in parts if p not in DIFF_AUGMENT_POLICIES]
  if unknown:
    raise UserError(f"unknown DiffAugment policy {','.join(unknown)!r}: use a comma-separated subset of "
                    f"{','.join(DIFF_AUGMENT_POLICIES)} (or '' for none)")
  return parts


def diff_augment(rng, x, policy):
  """DiffAugment (Zhao et al. 2020): random per-example transforms of float [B, H, W, C] images in [-1, 1] that are
  differentiable in x, applied to everything D sees (real and fake, in D's and in G's update) so that D cannot
  memorise a small training set while G still learns the un-augmented distribution.

  policy: a tuple from `check_diff_augment_policy`: 'color' (brightness +-0.5, saturation x[0, 2], contrast
  x[0.5, 1.5], on the [0, 1] scale as in the paper), 'translation' (shifts of up to 1/8 of the size, zero fill),
  'cutout' (one zeroed square of half the size per image).
  """
  b, h, w, c = x.shape
  keys = iter(jax.random.split(rng, 8))
  if "color" in policy:
    x = (x + 1.0) / 2.0
    x = x + jax.random.uniform(next(keys), (b, 1, 1, 1)) - 0.5
    if c > 1:
      mean = jnp.mean(x, axis=-1, keepdims=True)
      x = (x - mean) * jax.random.uniform(next(keys), (b, 1, 1, 1), maxval=2.0) + mean
    mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
    x = (x - mean) * jax.random.uniform(next(keys), (b, 1, 1, 1), minval=0.5, maxval=1.5) + mean
    x = x * 2.0 - 1.0
  if "translation" in policy:
    sy, sx = h // 8, w // 8
    dy = jax.random.randint(next(keys), (b,), -sy, sy + 1)
    dx = jax.random.randint(next(keys), (b,), -sx, sx + 1)
    x = jax.vmap(_shift_zero_fill)(x, dy, dx)
  if "cutout" in policy:
    ch, cw = h // 2, w // 2  # The square's top-left corner lies up to half a square outside the image.
    top = jax.random.randint(next(keys), (b, 1, 1), -(ch // 2), h - ch // 2 + 1)
    left = jax.random.randint(next(keys), (b, 1, 1), -(cw // 2), w - cw // 2 + 1)
    rows, cols = jnp.arange(h)[None, :, None], jnp.arange(w)[None, None, :]
    hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    x = jnp.where(hole[..., None], 0.0, x)
  return x


def _shift_zero_fill(image, dy, dx):
  """image [H, W, C] moved by (dy, dx) pixels (down, right), the uncovered border zero; differentiable in image."""
  h, w, _ = image.shape
  padded = jnp.pad(image, ((h, h), (w, w), (0, 0)))
  return jax.lax.dynamic_slice(padded, (h - dy, w - dx, 0), image.shape)


# --- classic augmentation of digit-like images (for classifiers trained on few examples) ----------------------------

def random_affine_elastic(rng, images, *, max_shift=0.1, max_rotation=15.0, scale_range=(0.9, 1.1),
                          elastic_alpha=1.0, elastic_sigma=4.0, fill=-1.0):
  """Each image of float [B, H, W, C] moved by a random affine map and an elastic distortion (Simard et al. 2003).

  Per image: a shift of up to `max_shift` of the size, a rotation of up to `max_rotation` degrees and a scaling in
  `scale_range` about the centre, then a displacement field of per-pixel N(0, 1) noise smoothed by a Gaussian of
  `elastic_sigma` pixels and scaled to `elastic_alpha` pixels (rms; 2 px at sigma 3 tore 32x32 digits apart, 1 px at
  sigma 4 bends strokes as handwriting varies). Bilinear resampling; points from outside the
  image take `fill` (the background: -1 for images in [-1, 1]). `apply_affine_elastic` is the same map for given
  parameters.
  """
  b, h, w, _ = images.shape
  k = jax.random.split(rng, 5)
  shift = jax.random.uniform(k[0], (b, 2), minval=-max_shift, maxval=max_shift) * jnp.asarray([h, w])
  angle = jnp.deg2rad(jax.random.uniform(k[1], (b,), minval=-max_rotation, maxval=max_rotation))
  scale = jax.random.uniform(k[2], (b,), minval=scale_range[0], maxval=scale_range[1])
  noise = jax.random.normal(k[3], (b, 2, h, w))
  field = jax.vmap(lambda n: _gaussian_blur_2d(n, elastic_sigma))(noise)  # [B, 2, H, W]
  rms = jnp.sqrt(jnp.mean(field ** 2, axis=(1, 2, 3), keepdims=True)) + 1e-8
  field = field / rms * elastic_alpha
  return jax.vmap(lambda im, s, a, z, f: apply_affine_elastic(im, s, a, z, f, fill))(images, shift, angle, scale,
                                                                                     field)


def apply_affine_elastic(image, shift, angle, scale, field, fill=-1.0):
  """image float [H, W, C] resampled (bilinear) so that the output at p shows the input at
  R(-angle) (p + field(p) - centre - shift) / scale + centre: rotated by `angle` radians (counter-clockwise on the
  screen), scaled by `scale`, moved by `shift` (rows, cols) pixels; field float [2, H, W] (row, col) displacements
  or zeros."""
  h, w, c = image.shape
  centre = jnp.asarray([(h - 1) / 2.0, (w - 1) / 2.0])
  rows, cols = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32), indexing="ij")
  p = jnp.stack([rows, cols]) + field - (centre + shift)[:, None, None]
  cos, sin = jnp.cos(angle), jnp.sin(angle)
  # The inverse map (where each output pixel reads): with rows growing downwards, this turns the image
  # counter-clockwise on the screen for angle > 0, as scipy.ndimage.rotate does.
  src_r = (cos * p[0] + sin * p[1]) / scale + centre[0]
  src_c = (-sin * p[0] + cos * p[1]) / scale + centre[1]
  sample = lambda channel: jax.scipy.ndimage.map_coordinates(channel, [src_r, src_c], order=1, mode="constant",
                                                              cval=fill)
  return jnp.stack([sample(image[..., i]) for i in range(c)], axis=-1)


def _gaussian_blur_2d(x, sigma):
  """x float [..., H, W] blurred by a separable Gaussian of `sigma` pixels (zero padding), as two matrix products."""
  h, w = x.shape[-2:]
  return _blur_matrix(h, sigma) @ x @ _blur_matrix(w, sigma).T


def _blur_matrix(n, sigma):
  """[n, n]: row i holds the normalised Gaussian weights of the points j around i (zero outside 0..n-1)."""
  t = jnp.arange(n, dtype=jnp.float32)
  radius = max(1, int(3 * sigma))
  kernel_sum = jnp.sum(jnp.exp(-0.5 * (jnp.arange(-radius, radius + 1) / sigma) ** 2))
  d = t[:, None] - t[None, :]
  return jnp.where(jnp.abs(d) <= radius, jnp.exp(-0.5 * (d / sigma) ** 2), 0.0) / kernel_sum


IMAGE_AUGMENTATIONS = ("flip", "affine_elastic")


def check_image_augmentations(names):
  """`data.augment` (a list of IMAGE_AUGMENTATIONS names) as a tuple; a UserError names an unknown one."""
  from mmgen_jax.errors import UserError

  unknown = [n for n in names if n not in IMAGE_AUGMENTATIONS]
  if unknown:
    raise UserError(f"data.augment has {unknown}; choose from {', '.join(IMAGE_AUGMENTATIONS)} (or [] for none)")
  return tuple(names)


def augment_images(rng, images, names):
  """Training images uint8 [B, H, W, C] transformed per `data.augment` -> uint8 [B, H, W, C]: 'flip' (left-right,
  per example), 'affine_elastic' (`random_affine_elastic` with its defaults, black fill). A generator trained on
  few examples learns the transformed set, as a classifier would."""
  if not names:
    return images
  x = images.astype(jnp.float32)
  flip_rng, warp_rng = jax.random.split(rng)
  if "flip" in names:
    x = random_flip(flip_rng, x)
  if "affine_elastic" in names:
    x = random_affine_elastic(warp_rng, x, fill=0.0)
  return jnp.clip(jnp.round(x), 0, 255).astype(jnp.uint8)
