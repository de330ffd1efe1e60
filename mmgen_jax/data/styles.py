"""Style images for style transfer, and the `photo_styles` dataset of (content, style) pairs.

Styles are images that ship inside scikit-image and scikit-learn (no download), split by image: the training styles
are scikit-image's textures (brick, grass, coins, ...) and colour images; the test styles, never seen in training,
are scikit-learn's two photographs (a Chinese temple, a flower) and two scikit-image images (deep-space field,
gravel). Content comes from the `photos` dataset of the same split (`data/photos.py`: test photos are held out too);
for `video_styles`, from camera clips over the split's photos (`data/clips.py`).
"""
import functools

import numpy as np

TRAIN_STYLES = ("brick", "grass", "camera", "coins", "moon", "clock", "text", "page", "checkerboard", "cell",
                "astronaut", "chelsea", "immunohistochemistry", "retina", "colorwheel", "logo", "stereo_motorcycle")
TEST_STYLES = ("sklearn:china.jpg", "sklearn:flower.jpg", "hubble_deep_field", "gravel")
PAIRS_PER_CONTENT = {"train": 2, "test": 1}
STYLE_SHORT_SIDES = (96, 128, 192, 256)  # A crop shows a texture at several scales.
SEED = 20261202
VIDEO_FRAMES = 4
VIDEO_CLIPS = {"train": 2000, "test": 64}
VIDEO_SEED = {"train": 31, "test": 32}


@functools.lru_cache(maxsize=None)
def load_style(name):
  """float32 [H, W, 3] in [0, 1]: scikit-image's image `name`, or scikit-learn's sample image for 'sklearn:FILE'
  (grey images in all three channels, RGBA without alpha)."""
  if name.startswith("sklearn:"):
    from sklearn.datasets import load_sample_image
    image = load_sample_image(name[len("sklearn:"):])
  else:
    import skimage.data
    image = getattr(skimage.data, name)()
    if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity).
      image = image[0]
  image = np.asarray(image)
  if image.ndim == 2:
    image = np.repeat(image[..., None], 3, -1)
  return np.asarray(image[..., :3], np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)


def split_styles(split):
  """The style images of 'train' or 'test' as a list of float32 [H, W, 3] in [0, 1]."""
  names = {"train": TRAIN_STYLES, "test": TEST_STYLES}.get(split)
  if names is None:
    raise ValueError(split)
  return [load_style(n) for n in names]


def resize_short_side(image, short_side):
  """image [H, W, C] area-resized so its shorter side is `short_side` pixels."""
  from skimage.transform import resize
  scale = short_side / min(image.shape[:2])
  return resize(image, (round(image.shape[0] * scale), round(image.shape[1] * scale)),
                anti_aliasing=scale < 1).astype(np.float32)


def style_crops(split, n, rng, size=64):
  """(uint8 [n, size, size, 3], style index int64 [n]): random size x size crops of the split's style images, each
  image resized first to a random short side in STYLE_SHORT_SIDES and each crop flipped at random."""
  styles = split_styles(split)
  scaled = {(i, s): resize_short_side(im, s) for i, im in enumerate(styles) for s in STYLE_SHORT_SIDES}
  crops, sources = [], []
  for _ in range(n):
    i = int(rng.integers(len(styles)))
    image = scaled[(i, int(rng.choice(STYLE_SHORT_SIDES)))]
    y = int(rng.integers(image.shape[0] - size + 1))
    x = int(rng.integers(image.shape[1] - size + 1))
    crop = image[y:y + size, x:x + size]
    crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    sources.append(i)
  return np.clip(np.round(np.stack(crops) * 255.0), 0, 255).astype(np.uint8), np.asarray(sources, np.int64)


def photo_styles_arrays(split):
  """The `photo_styles` examples: each `photos` patch of the split (`image` uint8 [64, 64, 3]) paired with
  PAIRS_PER_CONTENT random 64x64 crops (`style`, `style_crops`) of the split's style images; `style_source` is the
  style's index in `split_styles(split)`."""
  from mmgen_jax.data import photos

  content = photos.photo_patches_arrays(split)["image"]
  rng = np.random.default_rng([SEED, split == "test"])
  n = len(content) * PAIRS_PER_CONTENT[split]
  style, sources = style_crops(split, n, rng, photos.PATCH)
  return {"image": np.concatenate([content] * PAIRS_PER_CONTENT[split]), "style": style,
          "style_source": sources, "id": np.arange(n, dtype=np.int64)}


def video_styles_arrays(split):
  """The `video_styles` examples: clips of a 64x64 camera moving over the split's photos (`video` uint8 [T, 64, 64,
  3], T = VIDEO_FRAMES; made like `photo_videos`' high-resolution clips) with the camera of each frame (`camera`
  float32 [T, 3], for `clips.camera_flow`), each paired with one random crop of the split's style images (`style`
  uint8 [64, 64, 3], `style_source`)."""
  from mmgen_jax.data import clips, photos, videos

  n = VIDEO_CLIPS[split]
  made = clips.camera_motion_clips(photos.split_photos(split, videos.SHORT_SIDE, grey=True), n,
                                   VIDEO_SEED[split], context=VIDEO_FRAMES - 1, size=photos.PATCH)
  style, sources = style_crops(split, n, np.random.default_rng([VIDEO_SEED[split], 1]), photos.PATCH)
  return {"video": np.concatenate([made["video"], made["target"][:, None]], 1), "camera": made["camera"],
          "style": style, "style_source": sources, "id": np.arange(n, dtype=np.int64)}
