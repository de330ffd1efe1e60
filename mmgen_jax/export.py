"""Samples written as a dataset other programs (and `data.source=folder:DIR`) read: one PNG per image, in one
subfolder per class when the samples carry labels (or one animated GIF per clip for video samples), and every array
in `samples.npz`. A sample's other modalities sit beside its PNG under the same number: `NNNNNN.gif` (its video),
`NNNNNN.wav` (its speech, or `NNNNNN.<name>.wav` for other audio: 16-bit PCM at the rate of AUDIO_RATES) and
`NNNNNN.txt` (its text).

The folder reader numbers classes by the sorted names of the subfolders that hold images, so class folders are named
by the zero-padded label (`03`, `12`): reading the export back gives the sampled labels whenever every class from 0
to the largest label has samples (the default sampling of a class-conditional model cycles through all classes).
"""
import os

import numpy as np
import tqdm

from mmgen_jax.data import dtmf, speech
from mmgen_jax.errors import UserError

SAMPLES_FILE = "samples.npz"
# Waveform outputs written as WAV files, with their sample rates (Hz); "speech" is the one named NNNNNN.wav.
AUDIO_RATES = {"speech": speech.SAMPLE_RATE, "dtmf": dtmf.SAMPLE_RATE, "audio": dtmf.SAMPLE_RATE}


def export_samples(samples, directory, progress=True):
  """Writes samples {'images': uint8 [N, H, W, C] (C = 1 or 3), optional 'labels': int [N], other arrays} under
  `directory` (new or empty): `directory/[LABEL/]NNNNNN.png` and `directory/samples.npz`. Returns the label ->
  count dict ({None: N} without labels)."""
  from PIL import Image

  if "images" not in samples and "video" in samples:
    return _export_clips(samples, directory, progress)
  if "images" not in samples:
    raise UserError(f"--export writes image samples, and these samples hold {', '.join(sorted(samples))}: use "
                    f"--out FILE.npz for them")
  images = np.asarray(samples["images"])
  if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise UserError(f"--export needs images as uint8 [N, H, W, 1 or 3], got {images.dtype}{list(images.shape)}")
  _check_empty(directory)
  labels = samples.get("labels")
  labels = None if labels is None else np.asarray(labels).astype(np.int64).reshape(-1)
  width = max(2, len(str(int(labels.max())))) if labels is not None and labels.size else 0
  os.makedirs(directory, exist_ok=True)
  counts = {}
  for i in tqdm.trange(len(images), desc=f"writing {directory}", disable=not progress, leave=False):
    label = None if labels is None else int(labels[i])
    folder = directory if label is None else os.path.join(directory, f"{label:0{width}d}")
    os.makedirs(folder, exist_ok=True)
    image = images[i][..., 0] if images.shape[-1] == 1 else images[i]
    Image.fromarray(image).save(os.path.join(folder, f"{i:06d}.png"))
    _export_companions(samples, i, os.path.join(folder, f"{i:06d}"))
    counts[label] = counts.get(label, 0) + 1
  np.savez(os.path.join(directory, SAMPLES_FILE), **{k: np.asarray(v) for k, v in samples.items()})
  return counts


def _export_clips(samples, directory, progress):
  """samples['video'] uint8 [N, T, H, W, C] as `directory/NNNNNN.gif` (T frames each) and samples.npz."""
  from mmgen_jax.train.images import save_gif

  video = np.asarray(samples["video"])
  if video.dtype != np.uint8 or video.ndim != 5 or video.shape[-1] not in (1, 3):
    raise UserError(f"--export needs clips as uint8 [N, T, H, W, 1 or 3], got {video.dtype}{list(video.shape)}")
  _check_empty(directory)
  os.makedirs(directory, exist_ok=True)
  for i in tqdm.trange(len(video), desc=f"writing {directory}", disable=not progress, leave=False):
    save_gif(os.path.join(directory, f"{i:06d}.gif"), video[i:i + 1], scale=1, pad=0)
  np.savez(os.path.join(directory, SAMPLES_FILE), **{k: np.asarray(v) for k, v in samples.items()})
  return {None: len(video)}


def _export_companions(samples, i, stem):
  """Sample i's video (GIF), waveforms (WAV) and text (TXT) beside its PNG, named `stem` + suffix."""
  from mmgen_jax.train.images import save_gif

  if "video" in samples:
    save_gif(stem + ".gif", np.asarray(samples["video"])[i:i + 1], scale=1, pad=0)
  for name, rate in AUDIO_RATES.items():
    if name in samples and np.asarray(samples[name]).ndim == 2:
      write_wav(stem + (".wav" if name == "speech" else f".{name}.wav"), np.asarray(samples[name])[i], rate)
  if "text" in samples:
    with open(stem + ".txt", "w", encoding="utf-8") as f:
      f.write(str(np.asarray(samples["text"])[i]) + "\n")


def write_wav(path, wave, rate):
  """A float waveform [S] in [-1, 1] (clipped) as a mono 16-bit PCM WAV file at `rate` Hz (the standard library's
  `wave`: every player reads it)."""
  import wave as wave_file

  pcm = np.round(np.clip(np.asarray(wave, np.float64), -1.0, 1.0) * 32767).astype("<i2")
  with wave_file.open(path, "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(int(rate))
    f.writeframes(pcm.tobytes())


def _check_empty(directory):
  if os.path.isdir(directory) and os.listdir(directory):
    raise UserError(f"--export folder {directory!r} is not empty: pass a new or empty folder (exports are not "
                    f"merged into earlier ones)")


def missing_classes(counts):
  """The labels below the largest exported one that have no samples (read back, the classes would shift)."""
  labels = [k for k in counts if k is not None]
  return sorted(set(range(max(labels) + 1)) - set(labels)) if labels else []
