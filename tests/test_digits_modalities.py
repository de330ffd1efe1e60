"""The embedded digits' captions, DTMF clips and edge maps, checked against independent computations."""
import numpy as np
from skimage.filters import sobel

from mmgen_jax.data import captions, digits, dtmf
from mmgen_jax.layers.text import words


def test_captions_name_the_digit_with_many_templates():
  arrays = digits.digits_arrays("train")
  used = set()
  for text, label in zip(arrays["text"], arrays["label"]):
    ws = words(text)
    assert (captions.WORDS[label] in ws) != (str(label) in ws), text  # Exactly one of word / numeral.
    other_digits = {w for w in ws if w in captions.WORDS or w.isdigit()} - {captions.WORDS[label], str(label)}
    assert not other_digits, text
    used |= {t for t in captions.TRAIN_TEMPLATES if t.format(d=captions.WORDS[label]) == text
             or t.format(d=str(label)) == text}
  assert len(used) >= 8
  assert not set(captions.NOVEL_TEMPLATES) & set(captions.TRAIN_TEMPLATES)


def test_dtmf_clips_carry_the_keypad_frequency_pair():
  arrays = digits.digits_arrays("test")
  audio, labels = arrays["audio"], arrays["label"]
  assert audio.shape == (len(labels), 4000) and audio.dtype == np.float32
  assert audio.min() >= -1.0 and audio.max() <= 1.0
  freqs = np.fft.rfftfreq(4000, 1 / dtmf.SAMPLE_RATE)  # 2 Hz bins: an independent check of the synthesis.
  for clip, label in zip(audio[:40], labels[:40]):
    spectrum = np.abs(np.fft.rfft(clip))
    low = freqs[np.argmax(np.where(freqs < 1100, spectrum, 0))]
    high = freqs[np.argmax(np.where(freqs > 1100, spectrum, 0))]
    row, column = dtmf.KEY_FREQUENCIES[int(label)]
    assert abs(low - row) < 8 and abs(high - column) < 8, (label, low, high)


def test_dtmf_tone_length_onset_and_noise_are_randomised_within_the_spec():
  rng = np.random.default_rng(0)
  for digit in range(10):
    clip = dtmf.dtmf_clip(digit, rng)
    envelope = np.convolve(np.abs(clip), np.ones(80) / 80, mode="same")  # 10 ms moving average.
    on = np.flatnonzero(envelope > 0.5 * envelope.max())
    duration = (on[-1] - on[0]) / dtmf.SAMPLE_RATE
    assert 0.18 < duration < 0.42, duration
    assert np.abs(clip).max() > 0.25
  a, b = dtmf.dtmf_clip(3, np.random.default_rng(1)), dtmf.dtmf_clip(3, np.random.default_rng(2))
  assert not np.allclose(a, b)


def test_edges_are_scaled_scikit_image_sobel():
  arrays = digits.digits_arrays("test")
  for image, edges in zip(arrays["image"][:10], arrays["edges"][:10]):
    expected = np.clip(np.round(sobel(image[..., 0] / 255.0) * digits.EDGE_SCALE * 255), 0, 255)
    np.testing.assert_array_equal(edges[..., 0], expected)
