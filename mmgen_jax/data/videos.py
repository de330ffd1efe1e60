"""Low/high-resolution video pairs for video super-resolution: a camera moving over real photographs.

`photo_videos`: T = 6 frame clips of a 64x64 camera sliding over a real photo (area-resized to a 256-pixel short
side) at 0.5-2.5 px per frame in any direction with a slight zoom, sampled bilinearly at sub-pixel positions
(`clips.camera_motion_clips`); the low-resolution frames are the x4 bicubic downsampling with antialiasing
(scikit-image `resize(order=3, anti_aliasing=True)`). Features: `hr_video` uint8 [T, 64, 64, 3], `lr_video`
uint8 [T, 16, 16, 3], `source` (the photo), `id`. Test clips come from the test photos (coffee, rocket); training
clips from the colour training photos and the greyscale ones (`photos.GREY_TRAIN_PHOTOS`): with the six colour
photos alone a network learnt their textures (+3 dB over bicubic on training clips, +0.7 on held-out ones).
"""
import functools

import numpy as np

FRAMES = 6
HR_SIZE = 64
SCALE = 4
SHORT_SIDE = 256
NUM_CLIPS = {"train": 3000, "test": 128}
SEED = {"train": 21, "test": 22}


def downsample(frames, scale=SCALE):
  """uint8 [..., H, W, C] -> uint8 [..., H/scale, W/scale, C]: scikit-image's bicubic `resize(order=3,
  anti_aliasing=True)` of each frame, computed as the separable linear map it is (two small matrix products, 20x
  faster than resizing frame by frame; the same uint8 values, tested against skimage)."""
  lead, (h, w, c) = frames.shape[:-3], frames.shape[-3:]
  flat = frames.reshape((-1, h, w, c)).astype(np.float64) / 255.0
  rows = np.matmul(_resize_matrix(h, scale), flat.transpose(0, 3, 1, 2))  # [N, C, H/scale, W]
  small = np.matmul(rows, _resize_matrix(w, scale).T).transpose(0, 2, 3, 1)  # [N, H/scale, W/scale, C]
  # skimage clips a cubic's overshoot to the input image's own range.
  small = np.clip(small, flat.min((1, 2, 3), keepdims=True), flat.max((1, 2, 3), keepdims=True))
  return np.clip(np.round(small * 255.0), 0, 255).astype(np.uint8).reshape(lead + (h // scale, w // scale, c))


@functools.lru_cache(maxsize=16)
def _resize_matrix(n, scale):
  """float64 [n // scale, n]: skimage's 1-D antialiased bicubic resize of n samples to n // scale, as a matrix (the
  2-D resize is this map along each axis: Gaussian prefilter, spline prefilter and cubic evaluation all separate)."""
  from skimage.transform import resize

  return np.stack([resize(e, (n // scale,), order=3, anti_aliasing=True, clip=False) for e in np.eye(n)], 1)


def cut_clips(frames, length, size):
  """uint8 frames [F, H, W, 3] of one video -> [N, length, size, size, 3]: every run of `length` consecutive frames
  (non-overlapping) x every size x size window (non-overlapping, row-major); N = 0 when the video is too short or
  its frames smaller than size."""
  f, h, w = frames.shape[:3]
  clips = [frames[t:t + length, y:y + size, x:x + size] for t in range(0, f - length + 1, length)
           for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]
  return np.stack(clips) if clips else np.zeros((0, length, size, size, frames.shape[-1]), np.uint8)


def camera_videos(split, num_clips, frames, seed):
  """{'hr_video' uint8 [N, frames, 64, 64, 3], 'lr_video' uint8 [N, frames, 16, 16, 3], 'source'} over the
  split's photos (any number of frames: the benchmark draws clips 4x longer than training's)."""
  from mmgen_jax.data import clips, photos

  made = clips.camera_motion_clips(photos.split_photos(split, SHORT_SIDE, grey=True), num_clips, seed, context=frames - 1,
                                   size=HR_SIZE)
  hr = np.concatenate([made["video"], made["target"][:, None]], 1)
  return {"hr_video": hr, "lr_video": downsample(hr), "source": made["source"]}


def photo_videos_arrays(split):
  """The `photo_videos` examples of 'train' (3,000) or 'test' (128)."""
  arrays = camera_videos(split, NUM_CLIPS[split], FRAMES, SEED[split])
  return {**arrays, "id": np.arange(NUM_CLIPS[split], dtype=np.int64)}
