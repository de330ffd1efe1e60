"""Real face crops from Labeled Faces in the Wild, as shipped in scikit-image (`skimage.data.lfw_subset`).

The subset holds 100 face crops and 100 non-face crops (25x25 grey); only the faces are used, upsampled to 32x32
(bicubic, anti-aliased not needed going up). The split is fixed by index: the last 20 faces are the test split.
"""
import numpy as np

SIZE = 32
NUM_FACES = 100
NUM_TEST = 20


def faces_arrays(split):
  """The `faces` examples of 'train' (80) or 'test' (20): image uint8 [32, 32, 1], id."""
  import skimage.data
  from skimage.transform import resize

  faces = skimage.data.lfw_subset()[:NUM_FACES]  # float [100, 25, 25] in [0, 1]; rows 100-199 are non-faces.
  index = {"train": np.arange(NUM_FACES - NUM_TEST), "test": np.arange(NUM_FACES - NUM_TEST, NUM_FACES)}.get(split)
  if index is None:
    raise ValueError(split)
  image = np.stack([resize(faces[i], (SIZE, SIZE), order=3) for i in index])
  image = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)[..., None]
  return {"image": image, "id": index.astype(np.int64)}
