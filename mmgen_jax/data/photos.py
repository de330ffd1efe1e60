"""scikit-image's real colour photographs, split by source photo so test data comes from photos never trained on.

Only photographs that ship inside the scikit-image wheel are used (no download); synthetic images (colour wheel,
logo) are left out. The split is fixed by name: the test photos are a cup of coffee and a rocket on its pad, unlike
anything in the training photos (a portrait, a cat, microscopy, a retina, deep space, a motorcycle), so held-out
numbers measure generalisation to new scenes.
"""
import functools

import numpy as np

TRAIN_PHOTOS = ("astronaut", "chelsea", "immunohistochemistry", "retina", "hubble_deep_field", "stereo_motorcycle")
TEST_PHOTOS = ("coffee", "rocket")
# Real greyscale photographs in the wheel, extra training scenes where colour does not matter (super-resolution is
# judged on luminance): a cameraman, bricks, grass, gravel, coins, the moon, a clock. Never in any test split.
GREY_TRAIN_PHOTOS = ("camera", "brick", "grass", "gravel", "coins", "moon", "clock")


@functools.lru_cache(maxsize=None)
def load_photo(name):
  """float32 [H, W, 3] in [0, 1]: the scikit-image photo `name` (the left view for stereo pairs; a greyscale photo
  in all three channels)."""
  import skimage.data

  image = getattr(skimage.data, name)()
  if isinstance(image, tuple):  # stereo_motorcycle returns (left, right, disparity).
    image = image[0]
  if image.ndim == 2:
    image = np.repeat(image[..., None], 3, -1)
  return np.asarray(image[..., :3], np.float32) / 255.0


def split_photos(split, short_side=None, grey=False):
  """The photos of 'train' or 'test' as a list of float32 [H, W, 3], each resized (area-averaged) so its shorter
  side is `short_side` pixels when given; `grey` adds GREY_TRAIN_PHOTOS to 'train' (after the colour ones)."""
  names = {"train": TRAIN_PHOTOS + (GREY_TRAIN_PHOTOS if grey else ()), "test": TEST_PHOTOS}.get(split)
  if names is None:
    raise ValueError(split)
  photos = [load_photo(n) for n in names]
  if short_side:
    from skimage.transform import resize
    photos = [resize(p, (round(p.shape[0] * short_side / min(p.shape[:2])),
                         round(p.shape[1] * short_side / min(p.shape[:2]))), anti_aliasing=True).astype(np.float32)
              for p in photos]
  return photos


PATCH = 64  # Patch side of the `photos` dataset.
PATCH_SHORT_SIDE = 256  # Photos are area-resized to this short side first, so a patch shows a part of a scene.
PATCH_STRIDE = {"train": 16, "test": 32}


def cut_patches(photo, size, stride):
  """All size x size windows of photo [H, W, C] at the given stride, row-major -> [N, size, size, C]."""
  h, w = photo.shape[:2]
  return np.stack([photo[y:y + size, x:x + size] for y in range(0, h - size + 1, stride)
                   for x in range(0, w - size + 1, stride)])


def photo_patches_arrays(split):
  """The `photos` examples of 'train' (1,235) or 'test' (154): image uint8 [64, 64, 3] (overlapping windows of
  the split's photos at a 256-pixel short side, stride 16 in train and 32 in test), source (the photo's index in
  `split_photos(split)`), id."""
  patches, source = [], []
  for i, photo in enumerate(split_photos(split, PATCH_SHORT_SIDE)):
    cut = cut_patches(photo, PATCH, PATCH_STRIDE[split])
    patches.append(cut)
    source.append(np.full(len(cut), i, np.int64))
  image = np.clip(np.round(np.concatenate(patches) * 255.0), 0, 255).astype(np.uint8)
  source = np.concatenate(source)
  return {"image": image, "source": source, "id": np.arange(len(source), dtype=np.int64)}
