"""TFDS builders for the embedded datasets: prepared locally from data shipped in dependencies, no download.

Imported only when TensorFlow is present; `sources.py` falls back to the same arrays through numpy otherwise.
"""
import numpy as np
import tensorflow_datasets as tfds

from mmgen_jax.data import any_digits, clips, digits, dtmf, faces, photos, speech, styles, videos
from mmgen_jax.data.sources import EMBEDDED_VERSIONS


class _EmbeddedBuilder(tfds.core.GeneratorBasedBuilder):
  """A builder whose examples are the rows of `arrays(split)` (a dict of equal-length numpy arrays with an `id`)."""

  arrays = None  # staticmethod(split) -> dict of arrays, set by each subclass.

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download: the data ships with scikit-learn / scikit-image.
    return {"train": self._generate_examples("train"), "test": self._generate_examples("test")}

  def _generate_examples(self, split):
    arrays = self.arrays(split)
    for k, i in enumerate(arrays["id"]):
      yield int(i), {name: values[k] for name, values in arrays.items()}


def _image_features(size, channels, extra=None):
  """An `image` [size, size, channels] with its example `id`, and any extra features."""
  return tfds.features.FeaturesDict({
      "image": tfds.features.Image(shape=(size, size, channels)),
      "id": tfds.features.Scalar(dtype=np.int64),
      **(extra or {}),
  })


def _clip_features(channels, extra=None):
  s, t = clips.SIZE, clips.CONTEXT_FRAMES
  # Raw tensors, not PNG-encoded video: preparing and reading thousands of small clips stays fast.
  return tfds.features.FeaturesDict({
      "video": tfds.features.Tensor(shape=(t, s, s, channels), dtype=np.uint8),
      "target": tfds.features.Image(shape=(s, s, channels)),
      "image": tfds.features.Image(shape=(s, s, channels)),
      "id": tfds.features.Scalar(dtype=np.int64),
      **(extra or {}),
  })


class MmgenDigits(_EmbeddedBuilder):
  """scikit-learn's real handwritten digits at 32x32 with a fixed 85/15 per-class split, captions, DTMF audio and
  Sobel edges."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["digits"])
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

  arrays = staticmethod(digits.digits_arrays)



class MmgenMovingDigits(_EmbeddedBuilder):
  """Next-frame clips of a real digit moving and bouncing on a 32x32 canvas (`data/clips.py`)."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["moving_digits"])
  arrays = staticmethod(clips.moving_digits_arrays)

  def _info(self):
    return self.dataset_info_from_configs(
        features=_clip_features(1, {"label": tfds.features.ClassLabel(num_classes=10)}), description=__doc__)


class MmgenPhotoClips(_EmbeddedBuilder):
  """Next-frame clips of a camera panning and zooming over real photographs, split by photo (`data/clips.py`)."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["photo_clips"])
  arrays = staticmethod(clips.photo_clips_arrays)

  def _info(self):
    return self.dataset_info_from_configs(
        features=_clip_features(3, {"source": tfds.features.Scalar(dtype=np.int64)}), description=__doc__)


class MmgenPhotos(_EmbeddedBuilder):
  """64x64 patches of real photographs (scikit-image), split by source photo (`data/photos.py`)."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["photos"])
  arrays = staticmethod(photos.photo_patches_arrays)

  def _info(self):
    return self.dataset_info_from_configs(
        features=_image_features(photos.PATCH, 3, {"source": tfds.features.Scalar(dtype=np.int64)}),
        description=__doc__)


class MmgenFaces(_EmbeddedBuilder):
  """scikit-image's 100 real LFW face crops at 32x32 grey, the last 20 held out (`data/faces.py`)."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["faces"])
  arrays = staticmethod(faces.faces_arrays)

  def _info(self):
    return self.dataset_info_from_configs(
        features=_image_features(faces.SIZE, 1), description=__doc__)


class MmgenPhotoVideos(_EmbeddedBuilder):
  """Low/high-resolution (x4 bicubic) videos of a camera moving over real photographs (`data/videos.py`)."""

  # 2.0.0: greyscale training photos, 3,000 training clips.
  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["photo_videos"])
  arrays = staticmethod(videos.photo_videos_arrays)

  def _info(self):
    t, s, lr = videos.FRAMES, videos.HR_SIZE, videos.HR_SIZE // videos.SCALE
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "hr_video": tfds.features.Tensor(shape=(t, s, s, 3), dtype=np.uint8),
            "lr_video": tfds.features.Tensor(shape=(t, lr, lr, 3), dtype=np.uint8),
            "source": tfds.features.Scalar(dtype=np.int64),
            "id": tfds.features.Scalar(dtype=np.int64),
        }),
        description=__doc__)


class MmgenPhotoStyles(_EmbeddedBuilder):
  """`photos` patches paired with crops of style images, split by photo and by style image (`data/styles.py`)."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["photo_styles"])
  arrays = staticmethod(styles.photo_styles_arrays)

  def _info(self):
    return self.dataset_info_from_configs(
        features=_image_features(photos.PATCH, 3, {
            "style": tfds.features.Image(shape=(photos.PATCH, photos.PATCH, 3)),
            "style_source": tfds.features.Scalar(dtype=np.int64)}),
        description=__doc__)


class MmgenVideoStyles(_EmbeddedBuilder):
  """Camera clips over real photographs, with each frame's camera, paired with crops of style images
  (`data/styles.py`)."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["video_styles"])
  arrays = staticmethod(styles.video_styles_arrays)

  def _info(self):
    t, s = styles.VIDEO_FRAMES, photos.PATCH
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "video": tfds.features.Tensor(shape=(t, s, s, 3), dtype=np.uint8),
            "camera": tfds.features.Tensor(shape=(t, 3), dtype=np.float32),
            "style": tfds.features.Image(shape=(s, s, 3)),
            "style_source": tfds.features.Scalar(dtype=np.int64),
            "id": tfds.features.Scalar(dtype=np.int64),
        }),
        description=__doc__)


class MmgenAnyDigits(_EmbeddedBuilder):
  """Each real digit as an image, a caption, an eSpeak NG spoken clip (voices split by split) and a moving-digit
  video (`data/any_digits.py`)."""

  VERSION = tfds.core.Version(EMBEDDED_VERSIONS["any_digits"])
  RELEASE_NOTES = {"1.0.0": "image, caption, eSpeak NG clip, moving-digit video and DTMF tones per digit.",
                   "1.1.0": "word_form: how each clip says its digit.",
                   "2.0.0": "four takes of each training digit, each with its own spoken clip and motion."}
  arrays = staticmethod(any_digits.any_digits_arrays)

  def _info(self):
    s = digits.IMAGE_SIZE
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(s, s, 1)),
            "label": tfds.features.ClassLabel(num_classes=10),
            "id": tfds.features.Scalar(dtype=np.int64),
            "text": tfds.features.Text(),
            "speech": tfds.features.Audio(shape=(speech.CLIP_SAMPLES,), dtype=np.float32,
                                          sample_rate=speech.SAMPLE_RATE),
            "voice": tfds.features.Text(),
            "word_form": tfds.features.Scalar(dtype=np.int64),
            "video": tfds.features.Tensor(shape=(any_digits.FRAMES, s, s, 1), dtype=np.uint8),
            "dtmf": tfds.features.Audio(shape=(dtmf.CLIP_SAMPLES,), dtype=np.float32, sample_rate=dtmf.SAMPLE_RATE),
        }),
        supervised_keys=("speech", "label"),
        description=__doc__,
    )


EMBEDDED = {"digits": MmgenDigits, "moving_digits": MmgenMovingDigits, "photo_clips": MmgenPhotoClips,
            "photos": MmgenPhotos, "faces": MmgenFaces, "photo_videos": MmgenPhotoVideos,
            "photo_styles": MmgenPhotoStyles, "video_styles": MmgenVideoStyles, "any_digits": MmgenAnyDigits}
