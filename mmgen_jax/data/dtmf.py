"""Telephone-keypad (DTMF) clips that encode a digit: the `audio` feature of the embedded `digits`.

Each clip is 0.5 s at 8 kHz: the key's row + column sine pair (equal amplitude, random phases) lasting 0.2-0.4 s at
a random onset, peak amplitude 0.3-1.0, plus white noise at 10-30 dB SNR (relative to the tone's power), clipped
to [-1, 1]. The tone frequencies are the ITU-T Q.23 standard.
"""
import numpy as np

SAMPLE_RATE = 8000
CLIP_SECONDS = 0.5
CLIP_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)
ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0)
# digit -> (row, column) frequencies in Hz; keypad: 1 2 3 / 4 5 6 / 7 8 9 / * 0 #.
KEY_FREQUENCIES = {d: (ROWS[(d - 1) // 3], COLUMNS[(d - 1) % 3]) for d in range(1, 10)}
KEY_FREQUENCIES[0] = (ROWS[3], COLUMNS[1])


def dtmf_clip(digit, rng):
  """float32 [4000] in [-1, 1]: a noisy DTMF tone for `digit` (0-9), randomised by `rng` (numpy Generator)."""
  length = rng.uniform(0.2, 0.4)
  onset = rng.uniform(0.0, CLIP_SECONDS - length)
  amplitude = rng.uniform(0.3, 1.0)
  snr_db = rng.uniform(10.0, 30.0)
  t = np.arange(int(round(length * SAMPLE_RATE))) / SAMPLE_RATE
  phases = rng.uniform(0, 2 * np.pi, 2)
  tone = 0.5 * amplitude * sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(KEY_FREQUENCIES[digit], phases))
  clip = np.zeros(CLIP_SAMPLES)
  start = int(round(onset * SAMPLE_RATE))
  clip[start:start + len(tone)] = tone
  noise_rms = np.sqrt(np.mean(tone ** 2)) / 10 ** (snr_db / 20)
  clip += rng.normal(0.0, noise_rms, CLIP_SAMPLES)
  return np.clip(clip, -1.0, 1.0).astype(np.float32)


def digit_clips(labels, ids, seed):
  """float32 [N, 4000]: one clip per example, a pure function of (seed, example id)."""
  return np.stack([dtmf_clip(int(l), np.random.default_rng([seed, int(i)])) for l, i in zip(labels, ids)])


def detect_keys(log_mel, sample_rate=SAMPLE_RATE):
  """int [N] digits dialled by log-mel spectrograms [N, frames, n_mels] (-1 for '*' and '#'): the loudest row band
  and the loudest column band, each band being the mel filter centred nearest the key frequency, over the clip's
  loudest frame per band. A plain DTMF decoder: it judges generated audio without any learnt model."""
  from mmgen_jax.layers.audio import mel_centre_frequencies

  centres = mel_centre_frequencies(sample_rate, log_mel.shape[-1])
  band = lambda f: int(np.argmin(np.abs(centres - f)))
  peak = np.asarray(log_mel).max(axis=-2)  # [N, n_mels]
  row = np.argmax(peak[:, [band(f) for f in ROWS]], axis=-1)
  col = np.argmax(peak[:, [band(f) for f in COLUMNS]], axis=-1)
  keypad = np.asarray([[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, 0, -1]])
  return keypad[row, col]
