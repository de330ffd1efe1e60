"""The JAX audio front end against scipy.signal.stft and a loop-by-loop numpy mel/MFCC reference."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft
import scipy.signal

from mmgen_jax.layers import audio


def _signals():
  return np.random.default_rng(0).normal(size=(3, 4000)).astype(np.float32)


def test_stft_matches_scipy():
  x = _signals()
  ours = np.asarray(audio.stft(jnp.asarray(x), n_fft=256, hop=128))
  _, _, ref = scipy.signal.stft(x, fs=8000, nperseg=256, noverlap=128)  # Hann, zero boundary, padded.
  ref = np.swapaxes(ref, -1, -2) * audio.hann_window(256).sum()  # scipy scales by 1 / sum(window).
  assert ours.shape == ref.shape == (3, 33, 129)
  np.testing.assert_allclose(ours, ref, atol=1e-3 * np.abs(ref).max())


def _reference_mel_matrix(n_fft, sr, n_mels):
  """Triangular HTK-mel filters written out one filter and one bin at a time."""
  mel = lambda f: 2595 * np.log10(1 + f / 700)
  inv = lambda m: 700 * (10 ** (m / 2595) - 1)
  points = [inv(mel(sr / 2) * i / (n_mels + 1)) for i in range(n_mels + 2)]
  out = np.zeros((n_fft // 2 + 1, n_mels))
  for m in range(n_mels):
    lo, mid, hi = points[m], points[m + 1], points[m + 2]
    for k in range(n_fft // 2 + 1):
      f = k * sr / n_fft
      if lo <= f <= mid:
        out[k, m] = (f - lo) / (mid - lo)
      elif mid < f <= hi:
        out[k, m] = (hi - f) / (hi - mid)
  return out


def test_log_mel_and_mfcc_match_a_numpy_reference():
  x = _signals()
  _, _, z = scipy.signal.stft(x, fs=8000, nperseg=256, noverlap=128)
  power = np.abs(np.swapaxes(z, -1, -2) * audio.hann_window(256).sum()) ** 2
  ref_log_mel = np.log(power @ _reference_mel_matrix(256, 8000, 40) + 1e-6)
  log_mel = np.asarray(audio.log_mel_spectrogram(jnp.asarray(x), 8000, n_mels=40))
  np.testing.assert_allclose(log_mel, ref_log_mel, atol=2e-3)
  ref_mfcc = scipy.fft.dct(ref_log_mel, type=2, norm="ortho", axis=-1)[..., :13]
  np.testing.assert_allclose(np.asarray(audio.mfcc(jnp.asarray(x), 8000, n_mfcc=13, n_mels=40)), ref_mfcc,
                             atol=1e-2)


def test_audio_encoder_shapes_and_loudness_invariance():
  x = jnp.asarray(_signals())
  encoder = audio.AudioEncoder(dim=16)
  variables = jax.jit(encoder.init)(jax.random.PRNGKey(0), x[:1])
  tokens, mask = jax.jit(encoder.apply)(variables, x)
  assert tokens.shape == (3, 33, 16) and mask.shape == (3, 33) and bool(mask.all())
  louder, _ = jax.jit(encoder.apply)(variables, 3.0 * x)  # Log-mel standardised per clip: gain is an offset.
  np.testing.assert_allclose(louder, tokens, atol=1e-3)


@pytest.mark.parametrize("q", [0.0, 10.0, 37.5, 50.0, 100.0])
def test_low_percentile_equals_numpys_percentile(q):
  x = np.random.default_rng(int(q)).normal(size=(3, 126, 5)).astype(np.float32)
  x[0, :20, 0] = 1.0  # Ties.
  got = np.asarray(jax.jit(audio.low_percentile, static_argnums=1)(jnp.asarray(x), q))
  np.testing.assert_allclose(got, np.percentile(x, q, axis=-2, keepdims=True), rtol=1e-6, atol=1e-6)


def test_above_noise_floor_keeps_a_burst_and_drops_stationary_noise():
  rng = np.random.default_rng(0)
  t = np.arange(16000) / 16000
  noise = 0.05 * rng.standard_normal(16000)
  burst = np.where((t > 0.4) & (t < 0.6), np.sin(2 * np.pi * 1000 * t), 0.0)
  log_mel = audio.log_mel_spectrogram(jnp.asarray(np.stack([noise, noise + burst]), jnp.float32), 16000, 512, 128,
                                      64)
  excess = np.asarray(audio.above_noise_floor(log_mel))
  assert excess.shape == log_mel.shape and excess.min() >= 0.0
  band = int(np.argmax(excess[1].max(0)))  # The band rising most: the tone's, near 1 kHz.
  assert 900 < audio.mel_centre_frequencies(16000, 64)[band] < 1100
  frames = np.flatnonzero(excess[1][:, band] > 3.0) * 128 / 16000
  assert frames.min() > 0.35 and frames.max() < 0.65  # Only while the tone sounds.
  # Noise alone rises above its own floor by under a nat on average (white noise's log-power spread in a band).
  assert excess[0].mean() < 1.0 and excess[1][:, band].max() > 5.0


def test_centre_in_time_puts_the_energy_centroid_in_the_middle_whatever_the_onset():
  energy = np.zeros((3, 40, 2), np.float32)
  energy[0, 3:7, 0] = [1, 2, 2, 1]
  energy[1, 25:29, 0] = [1, 2, 2, 1]  # The same event later.
  centred = np.asarray(audio.centre_in_time(jnp.asarray(energy)))
  np.testing.assert_array_equal(centred[0], centred[1])
  per_frame = centred[0].sum(-1)
  assert abs((per_frame * np.arange(40)).sum() / per_frame.sum() - 20.0) <= 0.5  # Whole frames: within half.
  assert centred[0].sum() == energy[0].sum()  # Nothing falls off the edges for an event that fits.
  np.testing.assert_array_equal(centred[2], 0.0)  # Silence stays silence.


def _event(frames, start, length, bands=3):
  """A word of `length` frames from `start`: a rising first band and a falling second, so order is visible."""
  energy = np.zeros((frames, bands), np.float32)
  ramp = np.linspace(1.0, 2.0, length, dtype=np.float32)
  energy[start:start + length, 0] = ramp
  energy[start:start + length, 1] = ramp[::-1]
  return energy


def _extent(energy, tail=0.02):
  """The frames between the tail quantiles of the per-frame energy (the stretch's own definition, threshold 0)."""
  per_frame = energy.sum(-1)
  cdf = np.cumsum(per_frame) / per_frame.sum()
  return np.interp(tail, cdf, np.arange(len(cdf))), np.interp(1 - tail, cdf, np.arange(len(cdf)))


def test_stretch_in_time_maps_slow_and_fast_words_onto_one_span():
  frames, span = 100, 50
  slow, fast = _event(frames, 5, 70), _event(frames, 60, 24)  # A slow word early, a fast one late.
  out = np.asarray(audio.stretch_in_time(jnp.asarray(np.stack([slow, fast])), span, threshold=0.0))
  for word in out:
    first, last = _extent(word)
    assert abs(first - (frames / 2 - span / 2)) < 1.5 and abs(last - (frames / 2 + span / 2)) < 1.5
    inside = word[27:73]
    assert np.all(np.diff(inside[:, 0]) >= -1e-5) and np.all(np.diff(inside[:, 1]) <= 1e-5)  # Order kept.
    np.testing.assert_allclose(word[:, 2], 0.0)  # A silent band stays silent.
  # Stretched to one length, the two words line up: far closer than centred, where the slow one covers the other.
  centred = np.asarray(audio.centre_in_time(jnp.asarray(np.stack([slow, fast]))))
  assert np.abs(out[0] - out[1]).mean() < 0.1 * np.abs(centred[0] - centred[1]).mean()


def test_stretch_in_time_ignores_quiet_frames_below_the_threshold_and_keeps_silence():
  frames, span = 100, 40
  word = _event(frames, 30, 20)
  noisy = word + 0.05 * (np.arange(frames) % 2)[:, None]  # A faint hum in every other frame, far below the word.
  batch = jnp.asarray(np.stack([word, noisy, np.zeros_like(word)]))[None]  # Two leading axes.
  out = np.asarray(audio.stretch_in_time(batch, span))[0]
  loud = np.flatnonzero(out[0].sum(-1) > 1e-6)
  assert abs(loud[0] - 30) <= 2 and abs(loud[-1] - 70) <= 2  # 20 frames made about 40, about the middle.
  np.testing.assert_allclose(out[1], out[0], atol=0.1)  # The hum does not move the word's ends.
  np.testing.assert_array_equal(out[2], 0.0)
