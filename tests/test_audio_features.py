"""The JAX audio front end against scipy.signal.stft and a loop-by-loop numpy mel/MFCC reference."""
import jax
import jax.numpy as jnp
import numpy as np
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
