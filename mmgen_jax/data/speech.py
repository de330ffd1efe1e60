"""Spoken digits synthesised locally with eSpeak NG (the `espeakng-loader` wheel ships the library and its voices):
the `speech` feature of `any_digits`, 1 s clips at 16 kHz.

Each clip says one digit with a randomised speaker: an eSpeak voice variant (the `!v` set: 104 speakers of
different sex, age and timbre, some robotic or whispered), an English accent (US, New York, RP, Scottish,
Caribbean, ...), a speaking rate of 130-230 words per minute, a pitch of 25-80 (of 0-99), and one of several word
forms ("seven", "number seven", "it's a seven", ...). The synthesis (22,050 Hz) is trimmed of silence, placed at a
random onset, convolved with a synthetic room impulse response (exponentially decaying noise, RT60 0.1-0.7 s) in half
the clips, mixed with white, pink or brown noise at 5-30 dB SNR, resampled to 16 kHz (scipy's polyphase filter) and
peak-normalised to 0.3-0.9.

Train and test are split **by voice**: every fifth variant (in sorted order, starting with the third) speaks only
in the test split, so held-out clips are voices never heard in training. Every choice above is a pure function of
(seed, example id); the synthesiser itself is not quite: eSpeak NG's pitch flutter and breath noise vary between
calls (by a few samples of length; `espeak_ng_SetRandSeed`, libc's `srand` and re-initialising do not pin them in
this build), so two preparations of the dataset say the same words with the same voices, onsets, rooms and noise
levels but are not bit-identical. Each machine prepares the dataset once and reads that copy from then on.
"""
import ctypes
import functools
import os

import numpy as np

from mmgen_jax.errors import UserError

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE  # 1 s.
ESPEAK_RATE = 22050
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FORMS = ("{}", "{}", "number {}", "it's a {}", "the digit {}", "a {}", "{} please", "{}!")  # Drawn uniformly.
# The distinct word forms, in FORMS' order: a clip's `word_form` is its index here (the bare digit is drawn twice as
# often as each other form).
WORD_FORMS = tuple(dict.fromkeys(FORMS))
ACCENTS = ("en", "en-us", "en-us-nyc", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029")
RATE_WPM = (130, 230)
PITCH = (25, 80)
SNR_DB = (5.0, 30.0)
RT60_S = (0.1, 0.7)
PEAK = (0.3, 0.9)
TEST_VOICE_EVERY, TEST_VOICE_OFFSET = 5, 2
INSTALL_HINT = "pip install espeakng-loader (it ships libespeak-ng and its voice data; no download at run time)"

# espeak_AUDIO_OUTPUT, espeak_PARAMETER and espeak_Synth flags from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PARAM_RATE, _PARAM_PITCH = 1, 3
_POS_CHARACTER = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _ESpeak:
  """The eSpeak NG library, initialised once per process for synchronous synthesis into a Python callback."""

  def __init__(self):
    try:
      import espeakng_loader
      self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
      self.data_path = espeakng_loader.get_data_path()
    except (ImportError, OSError, RuntimeError) as e:
      raise UserError(f"spoken digits need the eSpeak NG library, which could not be loaded ({e}): "
                      f"{INSTALL_HINT}") from None
    self.chunks = []
    self._callback = _CALLBACK(self._collect)  # Kept referenced: eSpeak calls it for the process's lifetime.
    # The path is the folder that holds espeak-ng-data.
    rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, os.path.dirname(self.data_path).encode(), 0)
    if rate != ESPEAK_RATE:
      raise UserError(f"eSpeak NG did not start (espeak_Initialize returned {rate}, expected {ESPEAK_RATE} Hz): "
                      f"reinstall it: {INSTALL_HINT}")
    self.lib.espeak_SetSynthCallback(self._callback)

  def _collect(self, wav, num_samples, events):
    del events
    if num_samples > 0:
      self.chunks.append(np.ctypeslib.as_array(wav, (num_samples,)).copy())
    return 0

  def variants(self):
    return tuple(sorted(os.listdir(os.path.join(self.data_path, "voices", "!v"))))

  def say(self, text, voice, rate, pitch):
    """int16 [S] at 22,050 Hz: `text` spoken by `voice` ('accent+variant') at `rate` wpm and `pitch` (0-99)."""
    self.chunks.clear()
    if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
      raise UserError(f"eSpeak NG has no voice {voice!r}: {INSTALL_HINT}")
    self.lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
    self.lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
    data = text.encode() + b"\0"
    if self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, 0, None, None) != 0:
      raise UserError(f"eSpeak NG failed to say {text!r} with voice {voice!r}: {INSTALL_HINT}")
    self.lib.espeak_Synchronize()
    return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)


@functools.lru_cache(maxsize=1)
def espeak():
  """The process's eSpeak NG (one UserError line if it cannot load)."""
  return _ESpeak()


def split_voices(split):
  """The eSpeak voice variants that speak in 'train' (83) or 'test' (21): disjoint, fixed by sorted name."""
  variants = espeak().variants()
  test = tuple(v for i, v in enumerate(variants) if i % TEST_VOICE_EVERY == TEST_VOICE_OFFSET)
  if split == "test":
    return test
  if split == "train":
    return tuple(v for v in variants if v not in test)
  raise ValueError(split)


def _trim(wave, threshold=0.02):
  """The span of `wave` between its first and last sample above `threshold` x its peak."""
  loud = np.flatnonzero(np.abs(wave) > threshold * (np.abs(wave).max() + 1e-9))
  return wave[loud[0]:loud[-1] + 1] if len(loud) else wave


def _coloured_noise(rng, n, colour):
  """Unit-variance noise [n] with a 1/f^colour power spectrum (0 white, 1 pink, 2 brown)."""
  spectrum = np.fft.rfft(rng.normal(size=n))
  f = np.fft.rfftfreq(n)
  f[0] = f[1]
  noise = np.fft.irfft(spectrum / f ** (colour / 2), n)
  return noise / (noise.std() + 1e-12)


def _room(rng, rate):
  """A synthetic room impulse response at `rate` Hz: the direct path, then exponentially decaying noise."""
  rt60 = rng.uniform(*RT60_S)
  t = np.arange(int(rt60 * rate)) / rate
  tail = rng.normal(size=len(t)) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60.
  response = np.concatenate([[1.0], rng.uniform(0.1, 0.5) * tail / np.sqrt(np.sum(tail ** 2) + 1e-12)])
  return response


def word_form_probabilities():
  """float64 [len(WORD_FORMS)]: how often each word form is drawn."""
  return np.bincount([WORD_FORMS.index(f) for f in FORMS], minlength=len(WORD_FORMS)) / len(FORMS)


def draw_word_form(rng):
  """A word form's index into WORD_FORMS, drawn as `spoken_digit` draws it (its first draw from `rng`)."""
  return WORD_FORMS.index(FORMS[rng.integers(len(FORMS))])


def spoken_digit(digit, voice, rng, word_form=None):
  """float32 [16000] in [-1, 1]: `digit` (0-9) said by eSpeak variant `voice` in `word_form` (an index into
  WORD_FORMS; None draws it from `rng`), randomised by `rng`."""
  from scipy.signal import fftconvolve, resample_poly

  if word_form is None:
    word_form = draw_word_form(rng)
  form = WORD_FORMS[word_form].format(WORDS[digit])
  accent = ACCENTS[rng.integers(len(ACCENTS))]
  rate, pitch = rng.uniform(*RATE_WPM), rng.uniform(*PITCH)
  wave = np.zeros(0)
  for _ in range(6):  # Faster until it fits in 0.9 s (long forms at slow rates do not).
    wave = _trim(espeak().say(form, f"{accent}+{voice}", rate, pitch).astype(np.float64) / 32768.0)
    if len(wave) <= 0.9 * ESPEAK_RATE:
      break
    rate *= 1.25
  wave = wave[:int(0.9 * ESPEAK_RATE)]
  clip = np.zeros(ESPEAK_RATE)
  onset = rng.integers(0, ESPEAK_RATE - len(wave) + 1)
  clip[onset:onset + len(wave)] = wave / (np.abs(wave).max() + 1e-9)
  if rng.random() < 0.5:
    clip = fftconvolve(clip, _room(rng, ESPEAK_RATE))[:ESPEAK_RATE]
  speech_rms = np.sqrt(np.mean(clip[onset:onset + len(wave)] ** 2))
  noise = _coloured_noise(rng, ESPEAK_RATE, rng.integers(3))
  clip = clip + noise * speech_rms / 10 ** (rng.uniform(*SNR_DB) / 20)
  clip = resample_poly(clip, SAMPLE_RATE // 50, ESPEAK_RATE // 50)[:CLIP_SAMPLES]  # 320 / 441.
  clip = clip * rng.uniform(*PEAK) / (np.abs(clip).max() + 1e-9)
  return clip.astype(np.float32)


def spoken_digits(labels, ids, split, seed):
  """(float32 [N, 16000] clips, str [N] voice variants, int64 [N] word forms (indices into WORD_FORMS)): one clip
  per example, said by one of the split's voices, a pure function of (seed, id)."""
  voices = split_voices(split)
  out = np.zeros((len(labels), CLIP_SAMPLES), np.float32)
  said_by, forms = [], np.zeros(len(labels), np.int64)
  for k, (label, i) in enumerate(zip(labels, ids)):
    rng = np.random.default_rng([seed, int(i)])
    said_by.append(voices[rng.integers(len(voices))])
    forms[k] = draw_word_form(rng)
    out[k] = spoken_digit(int(label), said_by[-1], rng, forms[k])
  return out, np.asarray(said_by), forms
