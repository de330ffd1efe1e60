"""Audio front end in JAX (STFT, log-mel spectrogram, MFCC) and a CNN audio encoder over log-mel.

Conventions follow scipy.signal.stft's defaults (periodic Hann window, `n_fft // 2` zeros padded at both ends, the
end zero-padded to a whole number of frames) so the STFT is checked against scipy; the mel scale is HTK's
(2595 log10(1 + f / 700)) with triangular filters; MFCCs are the orthonormal DCT-II of the log-mel frames.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def hann_window(n):
  """Periodic Hann window float32 [n] (scipy.signal.get_window('hann', n))."""
  return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def num_frames(num_samples, n_fft, hop):
  padded = num_samples + 2 * (n_fft // 2)
  return 1 + -(-(padded - n_fft) // hop)


def stft(x, n_fft=256, hop=128):
  """Complex STFT [..., frames, n_fft // 2 + 1] of real signals x [..., N] (unscaled: scipy's Zxx * window.sum())."""
  frames = num_frames(x.shape[-1], n_fft, hop)
  total = n_fft + (frames - 1) * hop
  pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, total - x.shape[-1] - n_fft // 2)]
  x = jnp.pad(x, pad)
  index = np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]  # [frames, n_fft], static.
  return jnp.fft.rfft(x[..., index] * hann_window(n_fft), axis=-1)


def istft(spectrum, num_samples, n_fft=256, hop=128):
  """Real signals float32 [..., num_samples] from a complex STFT [..., frames, n_fft // 2 + 1] of `stft`'s
  convention: the least-squares overlap-add (each frame's inverse FFT windowed again, summed, divided by the summed
  squared window), the padding cropped. istft(stft(x)) == x up to rounding."""
  frames = spectrum.shape[-2]
  window = hann_window(n_fft)
  pieces = jnp.fft.irfft(spectrum, n_fft, axis=-1) * window  # [..., frames, n_fft]
  total = n_fft + (frames - 1) * hop
  index = (np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]).reshape(-1)
  lead = spectrum.shape[:-2]
  signal = jnp.zeros(lead + (total,), pieces.dtype).at[..., index].add(pieces.reshape(lead + (-1,)))
  norm = np.zeros(total, np.float32)
  np.add.at(norm, index, np.tile(window ** 2, frames))
  start = n_fft // 2
  return (signal / np.maximum(norm, 1e-8))[..., start:start + num_samples]


def griffin_lim(magnitude, num_samples, n_fft=256, hop=128, iterations=64, momentum=0.99, seed=0):
  """A waveform float32 [..., num_samples] whose STFT magnitude approaches `magnitude` [..., frames, n_fft//2 + 1]:
  Griffin & Lim's alternating projections from a fixed random phase, with Perraudin et al.'s momentum ("fast
  Griffin-Lim", 2013; momentum=0 is the original). Jittable: a `lax.fori_loop` of `iterations` STFT pairs."""
  import jax

  phase = np.exp(2j * np.pi * np.random.default_rng(seed).uniform(size=magnitude.shape[-2:])).astype(np.complex64)
  projected = (magnitude * phase).astype(jnp.complex64)

  def body(_, carry):
    projected, previous = carry
    rebuilt = stft(istft(projected, num_samples, n_fft, hop), n_fft, hop)
    accelerated = rebuilt + momentum * (rebuilt - previous)
    return magnitude * jnp.exp(1j * jnp.angle(accelerated)), rebuilt

  projected, _ = jax.lax.fori_loop(0, iterations, body, (projected, projected))
  return istft(projected, num_samples, n_fft, hop)


def mel_to_magnitude(log_mel, sample_rate, n_fft=256, n_mels=64, fmin=0.0, fmax=None, eps=1e-6):
  """STFT magnitudes [..., frames, n_fft // 2 + 1] from `log_mel_spectrogram` frames [..., frames, n_mels]: the
  filterbank's pseudo-inverse applied to the mel power, negative powers clipped to 0, square-rooted."""
  bank = mel_filterbank(n_fft, sample_rate, n_mels, fmin, fmax)
  power = (jnp.exp(log_mel) - eps) @ np.linalg.pinv(bank).astype(np.float32)
  return jnp.sqrt(jnp.maximum(power, 0.0))


def spectral_convergence(waveform, magnitude, n_fft=256, hop=128):
  """|| |STFT(waveform)| - magnitude ||_F / || magnitude ||_F per signal [...]: how well a phase reconstruction
  meets the target magnitudes (0 is exact)."""
  error = jnp.abs(stft(waveform, n_fft, hop)) - magnitude
  return jnp.sqrt(jnp.sum(error ** 2, (-2, -1)) / jnp.sum(magnitude ** 2, (-2, -1)))


def hz_to_mel(f):
  return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def mel_to_hz(m):
  return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_fft, sample_rate, n_mels, fmin=0.0, fmax=None):
  """float32 [n_fft // 2 + 1, n_mels]: triangles with peaks evenly spaced on the mel scale, peak value 1."""
  fmax = sample_rate / 2 if fmax is None else fmax
  freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
  edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
  lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
  rising = (freqs[:, None] - lower) / (centre - lower)
  falling = (upper - freqs[:, None]) / (upper - centre)
  return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel_spectrogram(x, sample_rate, n_fft=256, hop=128, n_mels=64, fmin=0.0, fmax=None, eps=1e-6,
                        dtype=jnp.float32):
  """[..., frames, n_mels] = log(mel filterbank . |STFT|^2 + eps) of signals x [..., N]. The STFT is float32;
  the filterbank product and the result are in `dtype` (bfloat16 keeps float32's range: the log's error stays below
  0.01)."""
  power = jnp.abs(stft(x.astype(jnp.float32), n_fft, hop)) ** 2
  bank = mel_filterbank(n_fft, sample_rate, n_mels, fmin, fmax)
  return jnp.log(power.astype(dtype) @ bank.astype(dtype) + eps)


def above_noise_floor(log_power, percentile=10.0, margin=0.5):
  """How far each bin of log powers [..., frames, bands] rises above its band's noise floor, in the same log units;
  0 at or below floor + `margin`. The floor is the band's `percentile`-th percentile over frames: a stationary
  noise fills every frame, a word only some (spectral subtraction in the log domain, with minimum statistics)."""
  floor = low_percentile(log_power, percentile)
  return jnp.maximum(log_power - floor - margin, 0.0)


def low_percentile(x, q):
  """`jnp.percentile(x, q, axis=-2, keepdims=True)` (linear interpolation) of x [..., n, d]: [..., 1, d], from the
  floor(q / 100 (n - 1)) + 2 smallest values along the axis (`lax.top_k`) rather than a sort of all n. Why: the
  noise floor runs in every any2any train step, and XLA:CPU sorts slowly (a [32, 126, 64] batch: 25 ms sorted,
  4 ms selected, the same values). For low q; any q gives the same result, only more slowly as q grows."""
  n = x.shape[-2]
  position = q / 100.0 * (n - 1)
  low = int(np.floor(position))
  high, fraction = min(low + 1, n - 1), position - low
  smallest = -jax.lax.top_k(-jnp.swapaxes(x, -1, -2), high + 1)[0]  # [..., d, high + 1], ascending.
  value = smallest[..., low] * (1.0 - fraction) + smallest[..., high] * fraction
  return value[..., None, :]


def centre_in_time(energy):
  """Non-negative energies [..., frames, bands] moved by whole frames so that their energy centroid sits at the
  middle frame (frames // 2); frames moved in are 0. An all-zero input stays where it is."""
  frames = energy.shape[-2]
  t = jnp.arange(frames, dtype=jnp.float32)
  per_frame = jnp.sum(energy, axis=-1).astype(jnp.float32)  # [..., frames]
  total = jnp.sum(per_frame, -1)
  centroid = jnp.sum(per_frame * t, -1) / jnp.maximum(total, 1e-6)
  shift = jnp.where(total > 0, jnp.round(frames // 2 - centroid), 0).astype(jnp.int32)
  source = jnp.arange(frames) - shift[..., None]  # [..., frames]: output frame t reads input frame t - shift.
  inside = (source >= 0) & (source < frames)
  moved = jnp.take_along_axis(energy, jnp.clip(source, 0, frames - 1)[..., None], axis=-2)
  return jnp.where(inside[..., None], moved, 0.0).astype(energy.dtype)


def word_extent(energy, threshold=0.2, tail=0.02):
  """(first, last) float32 [...]: where the word lies in energies [..., frames, bands]: the `tail` and 1 - `tail`
  quantiles in time of the per-frame energy in excess of `threshold` x the loudest frame's (a faint stationary
  residue, which fills every frame, does not count). NaN for an all-zero input."""
  frames = energy.shape[-2]
  per_frame = jnp.sum(energy, axis=-1).astype(jnp.float32).reshape(-1, frames)  # [B, frames]
  excess = jnp.maximum(per_frame - threshold * jnp.max(per_frame, -1, keepdims=True), 0.0)
  total = jnp.sum(excess, -1, keepdims=True)
  cdf = jnp.cumsum(excess, -1) / jnp.where(total > 0, total, jnp.nan)
  t = jnp.arange(frames, dtype=jnp.float32)
  quantile = jax.vmap(lambda q, c: jnp.interp(q, c, t), in_axes=(None, 0))
  return quantile(tail, cdf).reshape(energy.shape[:-2]), quantile(1.0 - tail, cdf).reshape(energy.shape[:-2])


def stretch_in_time(energy, span, threshold=0.2, tail=0.02):
  """Non-negative energies [..., frames, bands] resampled in time (linear interpolation) so that the word
  (`word_extent`) spans `span` frames centred on the middle frame (frames // 2); frames read from outside the input
  are 0. An all-zero input stays where it is.

  Why: one word lasts from about 0.26 to 0.8 s between talkers (any_digits' 5th to 95th percentile); centred but
  not stretched, the mean of many clips blurs each sound over the others' (a decoder trained under a Gaussian
  draws that mean). Stretched to one length, the sounds line up (docs/results/any2any.md)."""
  frames = energy.shape[-2]
  start, end = frames / 2 - span / 2, frames / 2 + span / 2
  first, last = word_extent(energy, threshold, tail)
  silent = jnp.isnan(first)
  first, last = jnp.where(silent, start, first), jnp.where(silent, end, last)
  t = jnp.arange(frames, dtype=jnp.float32)
  source = first[..., None] + (t - start) * ((last - first) / (end - start))[..., None]  # [..., frames]
  below = jnp.floor(source)
  fraction = (source - below)[..., None]
  index = lambda i: jnp.clip(i, 0, frames - 1).astype(jnp.int32)[..., None]  # noqa: E731
  moved = (jnp.take_along_axis(energy, index(below), axis=-2) * (1.0 - fraction)
           + jnp.take_along_axis(energy, index(below + 1), axis=-2) * fraction)
  inside = ((source >= 0) & (source <= frames - 1))[..., None]
  return jnp.where(inside, moved, 0.0).astype(energy.dtype)


def word_features(x, sample_rate, n_fft, hop, n_mels, span=0, depth=12.0):
  """[..., frames, n_mels] in [0, depth] from signals x [..., N]: how far each log-mel bin rises above its band's
  noise floor (`above_noise_floor`, relative to the clip's peak, capped at `depth` nats), stretched in time so the
  word spans `span` frames about the middle (`stretch_in_time`; span 0: only moved so its energy centroid is the
  middle frame, `centre_in_time`): the word without the stationary noise, the onset or (stretched) the talker's
  rate."""
  log_mel = log_mel_spectrogram(x, sample_rate, n_fft, hop, n_mels)
  word = jnp.minimum(above_noise_floor(log_mel - log_mel.max(axis=(-2, -1), keepdims=True)), depth)
  return stretch_in_time(word, span) if span else centre_in_time(word)


def dct_matrix(n, k):
  """float32 [n, k]: orthonormal DCT-II basis (scipy.fft.dct(norm='ortho') = x @ dct_matrix(n, n))."""
  i = np.arange(n)[:, None]
  j = np.arange(k)[None, :]
  basis = np.cos(np.pi * (2 * i + 1) * j / (2 * n)) * np.sqrt(2.0 / n)
  basis[:, 0] /= np.sqrt(2.0)
  return basis.astype(np.float32)


def mfcc(x, sample_rate, n_mfcc=13, **log_mel_kwargs):
  """float32 [..., frames, n_mfcc]: DCT-II (ortho) of the log-mel frames of x [..., N]."""
  log_mel = log_mel_spectrogram(x, sample_rate, **log_mel_kwargs)
  return log_mel @ dct_matrix(log_mel.shape[-1], n_mfcc)


def standardized_log_mel(x, sample_rate, n_fft=256, hop=128, n_mels=64, dtype=jnp.float32):
  """Each clip's log-mel spectrogram [..., frames, n_mels] shifted and scaled to zero mean and unit variance, so
  loudness does not matter (what the audio encoder reads and the multimodal VAE's audio decoder predicts). The
  statistics are float32, the result `dtype`."""
  x = log_mel_spectrogram(x, sample_rate, n_fft, hop, n_mels, dtype=dtype).astype(jnp.float32)
  return ((x - x.mean(axis=(-2, -1), keepdims=True)) / (x.std(axis=(-2, -1), keepdims=True) + 1e-5)).astype(dtype)


def mel_centre_frequencies(sample_rate, n_mels, fmin=0.0, fmax=None):
  """Hz [n_mels]: the peak frequency of each triangular mel filter of `mel_filterbank`."""
  fmax = fmax or sample_rate / 2
  return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))[1:-1].astype(np.float32)


def additive_synthesis(log_mel, sample_rate, num_samples, hop=128, dynamic_range=2.0, seed=0):
  """A waveform float32 [..., num_samples] (peak 0.5) from log-mel frames [..., frames, n_mels]: one sinusoid per
  mel band at the filter's centre frequency (fixed random phase), its amplitude the band's energy
  exp(dynamic_range * log_mel / 2) interpolated linearly between frame centres. A vocoder for band-limited tones
  (the DTMF keypad), not for speech."""
  frames, n_mels = log_mel.shape[-2:]
  freqs = mel_centre_frequencies(sample_rate, n_mels)
  phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, n_mels).astype(np.float32)
  amplitude = jnp.exp(dynamic_range * (log_mel - log_mel.max(axis=(-2, -1), keepdims=True)) / 2)
  position = np.clip(np.arange(num_samples) / hop, 0, frames - 1)  # Frame k is centred near sample k * hop.
  lo = np.floor(position).astype(np.int32)
  hi, frac = np.minimum(lo + 1, frames - 1), (position - lo).astype(np.float32)[:, None]
  envelope = amplitude[..., lo, :] * (1 - frac) + amplitude[..., hi, :] * frac  # [..., num_samples, n_mels]
  t = np.arange(num_samples, dtype=np.float32)[:, None] / sample_rate
  wave = jnp.sum(envelope * np.sin(2 * np.pi * freqs * t + phases), axis=-1)
  return 0.5 * wave / (jnp.max(jnp.abs(wave), axis=-1, keepdims=True) + 1e-6)


class AudioEncoder(nn.Module):
  """Waveforms float32 [B, N] -> (tokens [B, frames, dim], mask bool [B, frames]) via a 1-D CNN over log-mel.

  Each clip's log-mel is standardised (zero mean, unit variance), so loudness does not matter. The mel bins are the
  channels of temporal convolutions (as in TC-ResNet): frequency-selective from the first layer, and an order of
  magnitude cheaper on the CPU than 2-D convolutions over the spectrogram (measured: 2-D strided convs made the
  audio GAN step 4x slower). Tokens keep the time axis; a tone's onset is arbitrary, so the pooled vector is a mean
  over time.
  """
  sample_rate: int = 8000
  n_fft: int = 256
  hop: int = 128
  n_mels: int = 64
  width: int = 128
  depth: int = 3
  dim: int = 64
  kernel: int = 3
  pool_every: int = 0  # > 0: halve the time axis (max pooling) after every pool_every blocks: a wider view for words.

  @nn.compact
  def __call__(self, audio, train=True):
    del train
    # The front end computes in float32 from the waveform and returns the compute dtype (that of the input).
    x = standardized_log_mel(audio, self.sample_rate, self.n_fft, self.hop, self.n_mels, dtype=audio.dtype)
    x = nn.Dense(self.width)(x)
    for i in range(self.depth):
      x = x + nn.Conv(self.width, (self.kernel,))(nn.gelu(nn.LayerNorm()(x)))
      if self.pool_every and (i + 1) % self.pool_every == 0:
        x = nn.max_pool(x, (2,), (2,))
    tokens = nn.Dense(self.dim)(nn.LayerNorm()(x))
    return tokens, jnp.ones(tokens.shape[:2], bool)
