"""Inpainting masks, 1 = missing: random rectangles and free-form brush strokes drawn in JAX (inside the jitted train
step, from an explicit key), or users' masks from a folder of images.

Random masks cover 10-50% of the image: rectangles by construction (area drawn in that range, aspect 1:2 to 2:1),
strokes by selection (strokes are added one at a time and the union whose coverage is closest to a drawn target in
the range is kept; a draw with no union in range falls back to a rectangle). Strokes follow Yu et al. 2019's
free-form masks: random walks of thick line segments.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.errors import UserError

COVERAGE = (0.1, 0.5)
KINDS = ("mixed", "rectangles", "strokes")
MAX_STROKES = 6
VERTICES = 5
# Every random number a mask needs comes from one uniform draw of [n, MASK_DRAWS + 1] (the last column orders
# 'mixed' batches). Drawing each quantity from its own split key, as this module once did, put ~200 threefry
# kernels of a dozen shapes into the inpainting train steps and cost 3-5 s of their ~12 s compile on a 2-core CPU.
RECT_DRAWS = 4  # Area, aspect, top, left.
STROKE_DRAWS = 4 + 2 * (VERTICES - 1)  # Start row and column, heading, width; a turn and a length per segment.
MASK_DRAWS = 1 + MAX_STROKES * STROKE_DRAWS + RECT_DRAWS  # Target coverage, the strokes, a fallback rectangle.


def _between(u, low, high):
  return low + u * (high - low)


def rectangle_mask(u, h, w, coverage=COVERAGE):
  """float [h, w, 1]: one axis-aligned rectangle covering a fraction of the image drawn uniformly in `coverage`.
  u: [RECT_DRAWS] uniforms in [0, 1)."""
  # Rounding the sides moves the area by at most half a row or column: keep the target that far inside the range.
  slack = 0.5 / min(h, w)
  area = _between(u[0], coverage[0] + slack, coverage[1] - slack) * h * w
  aspect = jnp.exp(_between(u[1], -np.log(2.0), np.log(2.0)))
  rh = jnp.clip(jnp.round(jnp.sqrt(area * aspect)), 1, h)
  rw = jnp.clip(jnp.round(area / rh), 1, w)
  top = jnp.floor(u[2] * (h - rh + 1))
  left = jnp.floor(u[3] * (w - rw + 1))
  y, x = jnp.arange(h)[:, None], jnp.arange(w)[None, :]
  inside = (y >= top) & (y < top + rh) & (x >= left) & (x < left + rw)
  return inside.astype(jnp.float32)[..., None]


def _stroke(u, h, w):
  """bool [h, w]: one brush stroke, a random walk of VERTICES - 1 thick segments (round caps). u: [STROKE_DRAWS]
  uniforms in [0, 1)."""
  segments = VERTICES - 1
  side = min(h, w)
  start = u[:2] * jnp.array([h, w])
  angles = u[2] * 2 * np.pi + jnp.cumsum(_between(u[4:4 + segments], -np.pi / 2, np.pi / 2))
  lengths = _between(u[4 + segments:], side / 8, side / 3)
  steps = jnp.stack([jnp.sin(angles), jnp.cos(angles)], -1) * lengths[:, None]
  points = jnp.concatenate([start[None], start[None] + jnp.cumsum(steps, 0)])  # [V, 2]
  radius = _between(u[3], side / 24, side / 10)
  pixels = jnp.stack(jnp.meshgrid(jnp.arange(h) + 0.5, jnp.arange(w) + 0.5, indexing="ij"), -1)  # [h, w, 2]
  a, b = points[:-1], points[1:]  # Segments [V - 1, 2].
  ab = b - a
  t = jnp.clip(jnp.einsum("hwc,sc->hws", pixels, ab) - jnp.sum(a * ab, -1), 0, None) / jnp.maximum(
      jnp.sum(ab * ab, -1), 1e-6)
  nearest = a + jnp.clip(t, 0, 1)[..., None] * ab  # [h, w, S, 2]: the closest point of each segment.
  distance = jnp.sqrt(jnp.min(jnp.sum((pixels[:, :, None] - nearest) ** 2, -1), -1))
  return distance <= radius


def stroke_mask(u, h, w, coverage=COVERAGE):
  """float [h, w, 1]: the union of the first k random strokes whose coverage is closest to a target drawn in
  `coverage` (among unions inside the range); a rectangle when no union is. u: [MASK_DRAWS] uniforms in [0, 1)."""
  stroke_draws = u[1:1 + MAX_STROKES * STROKE_DRAWS].reshape(MAX_STROKES, STROKE_DRAWS)
  strokes = jax.vmap(lambda v: _stroke(v, h, w))(stroke_draws)
  unions = jnp.cumsum(strokes.astype(jnp.int32), 0) > 0  # [MAX_STROKES, h, w]: the first 1, 2, ... strokes.
  cover = unions.mean((1, 2))
  target = _between(u[0], coverage[0], coverage[1])
  valid = (cover >= coverage[0]) & (cover <= coverage[1])
  best = jnp.argmin(jnp.where(valid, jnp.abs(cover - target), jnp.inf))
  chosen = unions[best].astype(jnp.float32)[..., None]
  return jnp.where(valid.any(), chosen, rectangle_mask(u[-RECT_DRAWS:], h, w, coverage))


@functools.partial(jax.jit, static_argnames=("n", "h", "w", "kind"))
def random_masks(rng, n, h, w, kind="mixed"):
  """float [n, h, w, 1], 1 = missing. kind: 'rectangles', 'strokes', or 'mixed' (n // 2 strokes and the rest
  rectangles, in random order: each mask is drawn once, of one kind). Jitted (sizes and kind static): evaluation
  draws its fixed masks eagerly, where op-by-op dispatch took seconds."""
  if kind not in KINDS:
    raise UserError(f"mask kind {kind!r} is not one of {', '.join(KINDS)} or folder:PATH: set --set "
                    f"data.masks=mixed")
  u = jax.random.uniform(rng, (n, MASK_DRAWS + 1))
  num_strokes = {"rectangles": 0, "strokes": n, "mixed": n // 2}[kind]
  parts = []
  if num_strokes:
    parts.append(jax.vmap(lambda v: stroke_mask(v, h, w))(u[:num_strokes, :MASK_DRAWS]))
  if num_strokes < n:
    parts.append(jax.vmap(lambda v: rectangle_mask(v, h, w))(u[num_strokes:, :RECT_DRAWS]))
  masks = jnp.concatenate(parts) if len(parts) > 1 else parts[0]
  # Sorting i.i.d. uniforms gives a uniformly random order (ties have probability ~0).
  return masks[jnp.argsort(u[:, -1])] if kind == "mixed" else masks


@functools.lru_cache(maxsize=4)
def folder_masks(path, size):
  """float [M, size, size, 1] from the images under `path` (grey > 127 = missing), resized to size x size."""
  from mmgen_jax.data.sources import open_source

  masks = (open_source(f"folder:{path}", "train", image_size=size, channels=1).arrays["image"] > 127)
  return masks.astype(np.float32)


def mask_sampler(spec, h, w):
  """rng, n -> float [n, h, w, 1] masks for `data.masks` = 'mixed' | 'rectangles' | 'strokes' | 'folder:PATH'
  (the folder's masks drawn uniformly with replacement)."""
  if spec.startswith("folder:"):
    if h != w:
      raise UserError(f"folder masks need square images, got {h}x{w}: use square data.image_size")
    bank = jnp.asarray(folder_masks(spec[len("folder:"):], h))
    return lambda rng, n: bank[jax.random.randint(rng, (n,), 0, len(bank))]
  if spec not in KINDS:
    raise UserError(f"data.masks={spec!r} is not one of {', '.join(KINDS)} or folder:PATH: set --set "
                    f"data.masks=mixed")
  return lambda rng, n: random_masks(rng, n, h, w, spec)
