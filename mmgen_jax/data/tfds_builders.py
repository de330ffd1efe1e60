"""TFDS builders for the embedded datasets: prepared locally from data shipped in dependencies, no download.

Imported only when TensorFlow is present; `sources.py` falls back to the same arrays through numpy otherwise.
"""
import numpy as np
import tensorflow_datasets as tfds

from mmgen_jax.data import digits, dtmf


class MmgenDigits(tfds.core.GeneratorBasedBuilder):
  """scikit-learn's real handwritten digits at 32x32 with a fixed 85/15 per-class split, captions, DTMF audio and
  Sobel edges."""

  VERSION = tfds.core.Version("2.0.0")
  RELEASE_NOTES = {"1.0.0": "32x32 grayscale images, labels, example ids.",
                   "2.0.0": "text captions, 8 kHz DTMF audio clips, Sobel edge maps."}

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(digits.IMAGE_SIZE, digits.IMAGE_SIZE, 1)),
            "label": tfds.features.ClassLabel(num_classes=10),
            "id": tfds.features.Scalar(dtype=np.int64),
            "text": tfds.features.Text(),
            "audio": tfds.features.Audio(shape=(dtmf.CLIP_SAMPLES,), dtype=np.float32,
                                         sample_rate=dtmf.SAMPLE_RATE),
            "edges": tfds.features.Image(shape=(digits.IMAGE_SIZE, digits.IMAGE_SIZE, 1)),
        }),
        supervised_keys=("image", "label"),
        description=__doc__,
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download: the data ships with scikit-learn.
    return {"train": self._generate_examples("train"), "test": self._generate_examples("test")}

  def _generate_examples(self, split):
    arrays = digits.digits_arrays(split)
    for k, i in enumerate(arrays["id"]):
      yield int(i), {name: values[k] for name, values in arrays.items()}


EMBEDDED = {"digits": MmgenDigits}
