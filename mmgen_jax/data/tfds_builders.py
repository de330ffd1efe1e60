"""TFDS builders for the embedded datasets: prepared locally from data shipped in dependencies, no download.

Imported only when TensorFlow is present; `sources.py` falls back to the same arrays through numpy otherwise.
"""
import numpy as np
import tensorflow_datasets as tfds

from mmgen_jax.data import digits


class MmgenDigits(tfds.core.GeneratorBasedBuilder):
  """scikit-learn's real handwritten digits at 32x32 with a fixed 85/15 per-class split."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "32x32 grayscale images, labels, example ids."}

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(digits.IMAGE_SIZE, digits.IMAGE_SIZE, 1)),
            "label": tfds.features.ClassLabel(num_classes=10),
            "id": tfds.features.Scalar(dtype=np.int64),
        }),
        supervised_keys=("image", "label"),
        description=__doc__,
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download: the data ships with scikit-learn.
    return {"train": self._generate_examples("train"), "test": self._generate_examples("test")}

  def _generate_examples(self, split):
    arrays = digits.digits_arrays(split)
    for image, label, i in zip(arrays["image"], arrays["label"], arrays["id"]):
      yield int(i), {"image": image, "label": int(label), "id": int(i)}


EMBEDDED = {"digits": MmgenDigits}
