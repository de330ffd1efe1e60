"""Short video clips for next-frame synthesis: moving digits and camera motion over real photographs.

Every clip has the features `video` (uint8 [T, S, S, C], the T context frames), `target` (uint8 [S, S, C], the frame
that follows them) and `image` (uint8 [S, S, C], a reference still that the video alone does not give):
- `moving_digits`: a real scikit-learn digit (16x16) moving in a straight line at an integer velocity of up to 3 px
  per frame on a 32x32 canvas, bouncing off the walls (Srivastava et al.'s Moving MNIST, one digit). The still is
  the digit alone, centred: its appearance without its motion. 4 clips per training digit, 2 per test digit.
- `photo_clips`: a 32x32 camera sliding over a real photo (area-resized to a 128-pixel short side) at 0.5-2.5 px per
  frame in any direction with a slight zoom (up to +-3% per frame), sampled bilinearly (sub-pixel motion). The still
  is a wide shot: the region twice the frame's size around the last context frame, at half resolution. It shows
  what the camera is moving into; the video shows the motion and the detail. Test clips come from test photos.

All arrays are a pure function of the seed and the split, so the TFDS builders and the numpy loaders agree.
"""
import numpy as np

CONTEXT_FRAMES = 4
SIZE = 32
SPRITE = 16
MAX_DIGIT_SPEED = 3
DIGIT_CLIPS = {"train": 4, "test": 2}
PHOTO_CLIPS = {"train": 6000, "test": 512}
PHOTO_SHORT_SIDE = 128
PHOTO_SPEED = (0.5, 2.5)
PHOTO_ZOOM = 0.03
SEED = {"train": 11, "test": 12}


def bounce(positions, high):
  """Positions reflected into [0, high] (a ball bouncing between walls): float or int arrays, any shape."""
  period = 2 * high
  q = np.mod(positions, period)
  return np.where(q > high, period - q, q)


def moving_digit_clips(images, seed, clips_per_image, context=CONTEXT_FRAMES):
  """Clips of each uint8 [N, 32, 32, 1] digit moving on a 32x32 canvas.

  Returns video uint8 [N * k, context, 32, 32, 1], target uint8 [N * k, 32, 32, 1], image uint8 [N * k, 32, 32, 1]
  (the digit centred) and source int64 [N * k] (the digit each clip shows); k = clips_per_image, clip i * k + j shows
  digit i.
  """
  n = len(images)
  sprites = images[..., 0].reshape(n, SPRITE, 32 // SPRITE, SPRITE, 32 // SPRITE).mean((2, 4))
  sprites = np.round(sprites).astype(np.uint8)
  source = np.repeat(np.arange(n), clips_per_image)
  m, high = len(source), SIZE - SPRITE
  rng = np.random.default_rng(seed)
  t = np.arange(context + 1)
  positions = np.zeros((m, context + 1, 2), np.int64)
  redraw = np.ones(m, bool)
  # The target must differ from the last context frame (a digit can bounce back onto its last position): redraw
  # those, so the copy-the-last-frame baseline never scores an infinite PSNR.
  while redraw.any():
    start = rng.integers(0, high + 1, (redraw.sum(), 2))
    velocity = rng.integers(-MAX_DIGIT_SPEED, MAX_DIGIT_SPEED + 1, (redraw.sum(), 2))
    positions[redraw] = bounce(start[:, None, :] + velocity[:, None, :] * t[None, :, None], high)  # [m, T + 1, 2]
    redraw = np.all(positions[:, -1] == positions[:, -2], axis=1)
  frames = np.zeros((m, context + 1, SIZE, SIZE), np.uint8)
  for i in range(m):
    for k in range(context + 1):
      y, x = positions[i, k]
      frames[i, k, y:y + SPRITE, x:x + SPRITE] = sprites[source[i]]
  centred = np.zeros((m, SIZE, SIZE), np.uint8)
  c = high // 2
  centred[:, c:c + SPRITE, c:c + SPRITE] = sprites[source]
  return {"video": frames[:, :context, ..., None], "target": frames[:, context, ..., None],
          "image": centred[..., None], "source": source.astype(np.int64)}


def camera_motion_clips(photos, num_clips, seed, context=CONTEXT_FRAMES, size=SIZE):
  """Clips of a size x size camera panning and zooming over float32 [H, W, 3] photos (clip i uses photo
  source[i], chosen in proportion to the photo's area).

  Returns video uint8 [num_clips, context, size, size, 3], target uint8 [num_clips, size, size, 3], image uint8
  [num_clips, size, size, 3] (the 2x wide shot around the last context frame), source int64 [num_clips] and camera
  float32 [num_clips, context + 1, 3]: each frame's window centre (y, x) in photo pixels and its scale (photo pixels
  per frame pixel), from which `camera_flow` gives the exact motion between frames.
  """
  from scipy.ndimage import gaussian_filter, map_coordinates

  # Pre-blurred copies for the half-resolution still: sigma 1 suppresses aliasing at 2x decimation.
  blurred = [gaussian_filter(p, (1.0, 1.0, 0)) for p in photos]
  areas = np.asarray([p.shape[0] * p.shape[1] for p in photos], np.float64)
  rng = np.random.default_rng(seed)
  source = rng.choice(len(photos), num_clips, p=areas / areas.sum())
  offsets = np.arange(size) + 0.5 - size / 2  # Pixel centres relative to the window centre.
  t = np.arange(context + 1)
  video = np.empty((num_clips, context + 1, size, size, 3), np.float32)
  image = np.empty((num_clips, size, size, 3), np.float32)
  camera = np.empty((num_clips, context + 1, 3), np.float32)
  for i, p in enumerate(source):
    speed, angle = rng.uniform(*PHOTO_SPEED), rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.sin(angle), np.cos(angle)])
    scales = np.exp(rng.uniform(-PHOTO_ZOOM, PHOTO_ZOOM) * t)  # Window size relative to `size`, per frame.
    # The last context frame's centre, placed so every frame and the 2x still lie inside the photo.
    reach = np.abs(velocity) * context + size * max(scales.max(), 2.0) / 2 + 1
    h, w = photos[p].shape[:2]
    last = np.array([rng.uniform(reach[0], h - reach[0]), rng.uniform(reach[1], w - reach[1])])
    centres = last + velocity * (t - (context - 1))[:, None]  # [T + 1, 2]
    ys = centres[:, 0, None] + offsets[None] * scales[:, None]  # [T + 1, size]
    xs = centres[:, 1, None] + offsets[None] * scales[:, None]
    video[i] = _sample(photos[p], ys, xs, map_coordinates)
    camera[i] = np.concatenate([centres, scales[:, None]], -1)
    image[i] = _sample(blurred[p], (last[0] + 2 * offsets)[None], (last[1] + 2 * offsets)[None], map_coordinates)[0]
  video = _to_uint8(video)
  return {"video": video[:, :context], "target": video[:, context], "image": _to_uint8(image),
          "source": source.astype(np.int64), "camera": camera}


def camera_flow(camera, size):
  """Backward flow jax float32 [..., size, size, 2] (dy, dx in pixels, for `layers.warp.warp`) that brings frame
  t - 1 of a `camera_motion_clips` clip onto frame t; camera [..., 2, 3] holds the two frames' (centre y, centre x,
  scale). Frame pixel i of a window with centre c and scale s shows photo position c + (i + 0.5 - size / 2) * s."""
  import jax.numpy as jnp

  camera = jnp.asarray(camera, jnp.float32)
  grid = jnp.arange(size, dtype=jnp.float32) + 0.5 - size / 2  # [S]
  previous, current = camera[..., 0, :, None], camera[..., 1, :, None]  # [..., 3, 1]
  # Frame t's pixel i, in frame t - 1's grid coordinates, minus i: the flow along each axis (the motion is separable).
  shift = lambda axis: (current[..., axis, :] + grid * current[..., 2, :] - previous[..., axis, :]) / previous[
      ..., 2, :] - grid  # [..., S]
  dy, dx = shift(0), shift(1)
  shape = dy.shape[:-1] + (size, size)
  return jnp.stack([jnp.broadcast_to(dy[..., :, None], shape), jnp.broadcast_to(dx[..., None, :], shape)], -1)


def _sample(photo, ys, xs, map_coordinates):
  """Bilinear samples of photo [H, W, 3] on the grids ys [F, S] x xs [F, S] (pixel centres at i + 0.5) ->
  [F, S, S, 3]."""
  f, s = ys.shape
  yy = np.broadcast_to(ys[:, :, None], (f, s, s)) - 0.5
  xx = np.broadcast_to(xs[:, None, :], (f, s, s)) - 0.5
  return np.stack([map_coordinates(photo[..., c], [yy, xx], order=1, mode="reflect") for c in range(3)], -1)


def _to_uint8(x):
  return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def moving_digits_arrays(split):
  """The `moving_digits` examples of 'train' (6,112) or 'test' (538): video, target, image, label (the digit),
  id (clip index)."""
  from mmgen_jax.data import digits

  arrays = digits.digits_arrays(split)
  clips = moving_digit_clips(arrays["image"], SEED[split], DIGIT_CLIPS[split])
  label = arrays["label"][clips.pop("source")]
  return {**clips, "label": label, "id": np.arange(len(label), dtype=np.int64)}


def photo_clips_arrays(split):
  """The `photo_clips` examples of 'train' (6,000) or 'test' (512): video, target, image, source (the photo's index
  in `photos.split_photos(split)`), id."""
  from mmgen_jax.data import photos

  clips = camera_motion_clips(photos.split_photos(split, PHOTO_SHORT_SIDE), PHOTO_CLIPS[split], SEED[split])
  del clips["camera"]
  return {**clips, "id": np.arange(len(clips["source"]), dtype=np.int64)}
