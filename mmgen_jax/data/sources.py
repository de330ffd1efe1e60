"""Data sources by name: embedded datasets, `tfds:NAME[:CONFIG]`, `folder:PATH`.

`open_source` returns either an `ArraySource` (examples in memory: embedded datasets, image folders) or a
`TfdsSource` (streamed by tf.data). Every example is a dict with stable feature names (`image` uint8 [H, W, C],
`label` int, ...).
"""
import dataclasses
import functools
import os
import warnings

import numpy as np

from mmgen_jax.data import any_digits, clips, digits, faces, photos, styles, videos
from mmgen_jax.errors import UserError, did_you_mean
from mmgen_jax.files import atomic_write
from mmgen_jax.locks import file_lock

# Embedded datasets: name -> function(split) -> dict of numpy arrays. The TFDS builders produce the same arrays.
EMBEDDED = {"digits": digits.digits_arrays, "moving_digits": clips.moving_digits_arrays,
            "photo_clips": clips.photo_clips_arrays, "photos": photos.photo_patches_arrays,
            "faces": faces.faces_arrays, "photo_videos": videos.photo_videos_arrays,
            "photo_styles": styles.photo_styles_arrays, "video_styles": styles.video_styles_arrays,
            "any_digits": any_digits.any_digits_arrays}
# Their versions (the TFDS builders' VERSION and the numpy caches' file names): a change to the arrays of a dataset
# bumps its version, so prepared copies made by older code are never read.
EMBEDDED_VERSIONS = {"digits": "2.0.0", "moving_digits": "1.0.0", "photo_clips": "1.0.0", "photos": "1.0.0",
                     "faces": "1.0.0", "photo_videos": "2.0.0", "photo_styles": "1.0.0",
                     "video_styles": "1.0.0", "any_digits": "2.0.0"}
EMBEDDED_SPLITS = ("train", "test")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@functools.lru_cache(maxsize=1)
def have_tensorflow():
  """Whether TensorFlow (and TFDS) can be imported; MMGEN_NO_TF=1 forces the numpy path (tests, GPU images)."""
  if os.environ.get("MMGEN_NO_TF") == "1":
    return False
  try:
    import tensorflow as tf
    import tensorflow_datasets  # noqa: F401
  except ImportError:
    return False
  tf.config.set_visible_devices([], "GPU")  # Keep TF off the accelerators: they belong to JAX.
  return True


def data_dir():
  """Where the embedded datasets are prepared, as TFDS files (or as .npz in `numpy/` without TensorFlow):
  MMGEN_DATA_DIR, default ~/.cache/mmgen_jax/tfds."""
  return os.environ.get("MMGEN_DATA_DIR", os.path.join(os.path.expanduser("~"), ".cache", "mmgen_jax", "tfds"))


@dataclasses.dataclass
class ArraySource:
  """All examples in memory: {feature: array [N, ...]}."""
  name: str
  arrays: dict

  @property
  def num_examples(self):
    return len(next(iter(self.arrays.values())))

  def element_spec(self):
    return {k: (v.shape[1:], v.dtype) for k, v in self.arrays.items()}


@dataclasses.dataclass
class TfdsSource:
  """A TFDS split streamed by tf.data (datasets too large for memory)."""
  name: str
  builder: object
  split: str


def open_source(spec, split, image_size=None, channels=None, frames=None):
  """Opens `spec` ('digits', 'tfds:mnist', 'folder:/path') at `split`; checks image size and channels.

  frames: set for video families (VSR): a folder is then read as videos (`_read_video_folder`), not images."""
  if spec in EMBEDDED:
    if split not in EMBEDDED_SPLITS:
      raise UserError(f"dataset {spec!r} has no split {split!r}; its splits are {', '.join(EMBEDDED_SPLITS)}")
    prepared = _embedded_via_tfds if have_tensorflow() else _embedded_via_numpy
    source = ArraySource(spec, prepared(spec, split))
  elif spec.startswith("tfds:"):
    return _open_tfds(spec, split)
  elif spec.startswith("folder:") and frames:
    source = ArraySource(spec, _read_video_folder(spec[len("folder:"):], frames, image_size))
  elif spec.startswith("folder:"):
    source = ArraySource(spec, _read_folder(spec[len("folder:"):], image_size, channels))
  else:
    raise UserError(f"unknown dataset {spec!r}{did_you_mean(spec, EMBEDDED)}; use an embedded one "
                    f"({', '.join(EMBEDDED)}), tfds:NAME[:CONFIG] or folder:PATH")
  _check_images(source, image_size, channels)
  return source


@functools.lru_cache(maxsize=8)
def split_arrays(spec, split, image_size=None, channels=None, frames=None):
  """All of a split in memory as {feature: array [N, ...]} (a TFDS split is read whole: meant for eval splits).

  Cached per process: evaluation and default sampling conditions read the same split many times."""
  source = open_source(spec, split, image_size, channels, frames)
  if isinstance(source, ArraySource):
    return source.arrays
  import tensorflow_datasets as tfds
  arrays = tfds.as_numpy(source.builder.as_dataset(split=source.split, batch_size=-1))
  source = ArraySource(spec, {k: decode_strings(np.asarray(v)) for k, v in arrays.items()})
  _check_images(source, image_size, channels)
  return source.arrays


def eval_arrays(config):
  """The eval split of `config.data` (source, eval_split, image_size, channels, frames) in memory, as
  `split_arrays` gives it: what evaluations and default sampling conditions read."""
  d = config.data
  return split_arrays(d.source, d.eval_split, d.image_size, d.channels, d.get("frames"))


def per_class_subset(source, k, seed):
  """`source` cut to k examples of each class (`data.per_class`; 0 keeps everything), drawn with `seed`
  (`data.subset_seed`) and kept in their original order: the few-shot training sets. The draw of class c takes the
  first k of a permutation seeded by (seed, c), so a larger k holds the smaller one's examples."""
  if not k:
    return source
  what = f"data.per_class={k}"
  if not isinstance(source, ArraySource):
    raise UserError(f"{what} needs a dataset held in memory, and {source.name} is streamed from TFDS: drop "
                    f"data.per_class, or export the examples to a folder and use data.source=folder:PATH")
  if "label" not in source.arrays:
    raise UserError(f"{what} needs class labels, and dataset {source.name} has none: drop data.per_class")
  labels = np.asarray(source.arrays["label"])
  keep = []
  for c in np.unique(labels):
    members = np.flatnonzero(labels == c)
    if len(members) < k:
      raise UserError(f"{what}, but class {c} of {source.name} has only {len(members)} examples: set "
                      f"data.per_class to at most {len(members)}")
    keep.append(members[np.random.default_rng([seed, int(c)]).permutation(len(members))[:k]])
  keep = np.sort(np.concatenate(keep))
  return ArraySource(source.name, {name: v[keep] for name, v in source.arrays.items()})


def class_cycle(labels, n, num_classes):
  """int [n] indices into `labels`: the i-th is the (i // K)-th example of class i % K (cycling within the class),
  so a grid with K columns shows one class per column."""
  by_class = [np.flatnonzero(np.asarray(labels) == c) for c in range(num_classes)]
  return np.asarray([by_class[i % num_classes][(i // num_classes) % len(by_class[i % num_classes])]
                     for i in range(n)])


def _check_images(source, image_size, channels):
  if "image" not in source.arrays:  # Datasets without stills (e.g. photo_videos) check their own shapes.
    return
  shape = source.arrays["image"].shape[1:]
  if image_size and shape[:2] != (image_size, image_size):
    raise UserError(f"dataset {source.name} has {shape[0]}x{shape[1]} images but the config says "
                    f"data.image_size={image_size}: set --set data.image_size={shape[0]}")
  if channels and shape[2] != channels:
    raise UserError(f"dataset {source.name} has {shape[2]}-channel images but the config says "
                    f"data.channels={channels}: set --set data.channels={shape[2]}")


def _embedded_via_tfds(name, split):
  """Prepares the embedded TFDS builder once (locally, no download) and reads the split in example-id order."""
  import tensorflow_datasets as tfds
  from mmgen_jax.data import tfds_builders

  with file_lock(os.path.join(data_dir(), f".{name}.lock")):
    # Built under the lock: a builder reads its dataset info from disk when constructed, so one made while another
    # process was still preparing the files would see no splits (seen with concurrent test workers on a fresh cache).
    builder = tfds_builders.EMBEDDED[name](data_dir=data_dir())
    builder.download_and_prepare()
  arrays = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
  order = np.argsort(arrays["id"])  # TFDS shuffles on write; ids restore the canonical order.
  return {k: decode_strings(np.asarray(v)[order]) for k, v in arrays.items()}


def _embedded_via_numpy(name, split):
  """Without TensorFlow: the split's arrays, computed once into an .npz under `data_dir()/numpy` (under the same
  kind of lock as the TFDS path) and read from there by every later process."""
  path = os.path.join(data_dir(), "numpy", f"{name}-{EMBEDDED_VERSIONS[name]}-{split}.npz")
  with file_lock(path + ".lock"):
    if not os.path.exists(path):
      arrays = EMBEDDED[name](split)
      with atomic_write(path, "wb") as f:  # A killed run leaves no partial file.
        np.savez(f, **arrays)
  with np.load(path, allow_pickle=False) as f:
    return {k: f[k] for k in f.files}


def decode_strings(array):
  """tf.string features arrive as object arrays of UTF-8 bytes; numpy str arrays match the numpy loader."""
  if array.dtype == object or array.dtype.kind == "S":
    return np.char.decode(array.astype(bytes), "utf-8")
  return array


def _open_tfds(spec, split):
  if not have_tensorflow():
    raise UserError(f"{spec} needs TensorFlow and tensorflow-datasets: pip install tensorflow-cpu "
                    f"tensorflow-datasets (embedded datasets work without them)")
  import tensorflow_datasets as tfds

  name = spec[len("tfds:"):].replace(":", "/", 1)
  try:
    builder = tfds.builder(name)
  except Exception as e:  # TFDS raises several types (DatasetNotFoundError, registry errors).
    raise UserError(f"TFDS dataset {name!r} is not known to tensorflow-datasets ({type(e).__name__}): check the "
                    f"name with `tfds build --help` or use folder:PATH") from None
  try:
    builder.as_dataset(split=split)  # Only opens the files: fails fast when the split was never prepared.
  except Exception as e:  # AssertionError / ValueError / NotFoundError depending on what is missing.
    raise UserError(f"TFDS dataset {name!r} has no prepared split {split!r} in {builder.data_dir} "
                    f"({type(e).__name__}); prepare it with `tfds build {name.split('/')[0]}` on a machine with "
                    f"network access, or set TFDS_DATA_DIR to where it is") from None
  return TfdsSource(spec, builder, split)


def _image_files(path, what):
  """Sorted image files under `path` (recursively); a missing or empty folder is one UserError line."""
  if not os.path.isdir(path):
    raise UserError(f"{what} folder {path!r} does not exist: pass folder:PATH with an existing directory")
  files = []
  for root, _, names in sorted(os.walk(path)):
    files += [os.path.join(root, n) for n in sorted(names) if n.lower().endswith(IMAGE_EXTENSIONS)]
  if not files:
    raise UserError(f"{what} folder {path!r} has no images ({', '.join(IMAGE_EXTENSIONS)}): put images in it or "
                    f"in one subfolder per {'class' if what == 'image' else 'video'}")
  return files


def _read_images(path, files, mode, size=None):
  """(uint8 arrays [H, W, C] of the readable files, resized to size x size when given; the readable files)."""
  from PIL import Image

  images, read, bad = [], [], []
  for f in files:
    try:
      with Image.open(f) as im:
        im = im.convert(mode)
        if size:
          im = im.resize((size, size), Image.BICUBIC)
        images.append(np.asarray(im, np.uint8).reshape(im.size[1], im.size[0], -1))
      read.append(f)
    except (OSError, ValueError):
      bad.append(f)
  if not images:
    raise UserError(f"folder {path!r}: none of its {len(files)} image files could be read (first: "
                    f"{bad[0]}); re-save them as PNG or JPEG")
  if bad:
    warnings.warn(f"skipped {len(bad)} unreadable image(s) in {path}, first: {bad[0]}")
  return images, read


def _read_folder(path, image_size, channels):
  """Images under `path` (subfolders = classes, sorted names -> labels 0..K-1), resized to image_size."""
  files = _image_files(path, "image")
  classes = sorted({os.path.relpath(os.path.dirname(f), path) for f in files})
  mode = {1: "L", 3: "RGB"}.get(channels or 3, "RGB")
  images, read = _read_images(path, files, mode, image_size)
  labels = [classes.index(os.path.relpath(os.path.dirname(f), path)) for f in read]
  if len({im.shape for im in images}) > 1:
    raise UserError(f"image folder {path!r} has images of different sizes: set data.image_size to resize them")
  return {"image": np.stack(images), "label": np.asarray(labels, np.int64)}


def _read_video_folder(path, frames, size):
  """Users' videos for super-resolution: each subfolder of `path` (or `path` itself) is one video, its image files
  the frames in name order. Each video is cut into clips of `frames` consecutive frames and size x size windows
  (non-overlapping, whole windows only), and the LR clips made like `photo_videos`' (`videos.downsample`).
  -> {'hr_video' uint8 [N, frames, size, size, 3], 'lr_video' [N, frames, size/4, size/4, 3], 'source', 'id'}."""
  from mmgen_jax.data import videos

  files = _image_files(path, "video")
  by_video = {}
  for f in files:
    by_video.setdefault(os.path.dirname(f), []).append(f)
  clips, source = [], []
  for i, (folder, names) in enumerate(sorted(by_video.items())):
    images, _ = _read_images(path, names, "RGB")
    if len({im.shape for im in images}) > 1:
      raise UserError(f"video folder {folder!r} has frames of different sizes: give each video's frames one size")
    cut = videos.cut_clips(np.stack(images), frames, size)
    clips.append(cut)
    source += [i] * len(cut)
  clips = [c for c in clips if len(c)]
  if not clips:
    raise UserError(f"video folder {path!r} has no video with {frames} frames of at least {size}x{size} pixels: "
                    f"add longer videos, or set data.frames / data.image_size lower")
  hr = np.concatenate(clips)
  return {"hr_video": hr, "lr_video": videos.downsample(hr), "source": np.asarray(source, np.int64),
          "id": np.arange(len(hr), dtype=np.int64)}
