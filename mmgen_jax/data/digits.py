"""The embedded `digits` dataset: scikit-learn's 1,797 real handwritten digits (UCI optdigits), upsampled to 32x32,
with a caption (`text`), a DTMF clip (`audio`) and a Sobel edge map (`edges`) per example.

The arrays are a pure function of the scikit-learn data, so the TFDS builder (`tfds_builders.py`) and the numpy
fallback (no TensorFlow) produce exactly the same examples. The split holds out 15% of each class, chosen with a
fixed seed; `id` is the example's index in scikit-learn's order and makes every load order-independent.
"""
import functools

import numpy as np

from mmgen_jax.data import captions, dtmf

IMAGE_SIZE = 32
TEST_FRACTION = 0.15
SPLIT_SEED = 20261122
CAPTION_SEED = 1
AUDIO_SEED = 2
# skimage's Sobel magnitude of a [0, 1] image is at most 1 and below 0.5 on these digits: x2 uses the uint8 range.
EDGE_SCALE = 2.0


@functools.lru_cache(maxsize=1)
def _all_examples():
  """(images uint8 [1797, 32, 32, 1], labels int64 [1797]) in scikit-learn's order."""
  from sklearn.datasets import load_digits
  from skimage.transform import resize

  digits = load_digits()
  small = digits.images.astype(np.float64) / 16.0  # [N, 8, 8] in [0, 1]
  # Cubic upsampling keeps strokes smooth; anti-aliasing is irrelevant when enlarging.
  big = np.stack([resize(im, (IMAGE_SIZE, IMAGE_SIZE), order=3, mode="edge", anti_aliasing=False) for im in small])
  images = np.clip(np.round(big * 255.0), 0, 255).astype(np.uint8)[..., None]
  return images, digits.target.astype(np.int64)


def sobel_edges(images):
  """uint8 [N, H, W, 1] Sobel edge magnitude (scikit-image, reflect borders) of uint8 [N, H, W, 1] images."""
  from skimage.filters import sobel

  edges = np.stack([sobel(im[..., 0] / 255.0) for im in images]) * EDGE_SCALE
  return np.clip(np.round(edges * 255.0), 0, 255).astype(np.uint8)[..., None]


def split_ids(split):
  """Sorted example ids of 'train' or 'test': 15% of each class held out, the same on every machine."""
  _, labels = _all_examples()
  rng = np.random.default_rng(SPLIT_SEED)
  test = []
  for c in range(10):
    ids = np.flatnonzero(labels == c)
    test.extend(rng.permutation(ids)[: int(round(TEST_FRACTION * len(ids)))])
  test = np.sort(np.asarray(test))
  if split == "test":
    return test
  if split == "train":
    return np.setdiff1d(np.arange(len(labels)), test)
  raise ValueError(split)


def digits_arrays(split):
  """The examples of 'train' (1,528) or 'test' (269), in id order:

  image uint8 [N, 32, 32, 1], label int64 [N], id int64 [N], text str [N] (a caption naming the digit),
  audio float32 [N, 4000] (0.5 s DTMF clip at 8 kHz), edges uint8 [N, 32, 32, 1] (Sobel magnitude x EDGE_SCALE).
  Every feature is a pure function of the example id, so both splits and both loaders agree.
  """
  images, labels = _all_examples()
  ids = split_ids(split)
  return {"image": images[ids], "label": labels[ids], "id": ids.astype(np.int64),
          "text": captions.digit_captions(labels[ids], ids, CAPTION_SEED),
          "audio": dtmf.digit_clips(labels[ids], ids, AUDIO_SEED),
          "edges": sobel_edges(images[ids])}
