"""Any-to-any generation: eSpeak speech split by voice, phase reconstruction against scipy, the judges of generated
video and speech, every modality exported as a file people open, and the family's condition checks."""
import os
import sys
import wave

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from mmgen_jax.config import apply_overrides, get_config
from mmgen_jax.data import speech, split_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.export import export_samples
from mmgen_jax.layers import audio, augment
from mmgen_jax.metrics import any_to_any
from mmgen_jax.models import any2any


def test_voices_split_train_and_test_and_clips_are_reproducible():
  train, test = speech.split_voices("train"), speech.split_voices("test")
  assert not set(train) & set(test) and len(test) >= 15 and len(train) >= 4 * len(test) - 5
  assert set(train) | set(test) == set(speech.espeak().variants())
  a = speech.spoken_digit(7, test[0], np.random.default_rng(5))
  b = speech.spoken_digit(7, test[0], np.random.default_rng(5))
  assert a.shape == (speech.CLIP_SAMPLES,) and a.dtype == np.float32
  assert speech.PEAK[0] - 1e-6 <= np.abs(a).max() <= speech.PEAK[1] + 1e-6
  # Our draws are reproducible; eSpeak's own flutter and breath noise are not (see speech.py): the same sound, not
  # the same samples. Another digit with the same draws is another sound.
  mel = lambda x: np.asarray(audio.log_mel_spectrogram(jnp.asarray(x), 16000, 512, 160, 40)).ravel()  # noqa: E731
  assert np.corrcoef(mel(a), mel(b))[0, 1] > 0.95
  assert np.corrcoef(mel(a), mel(speech.spoken_digit(3, test[0], np.random.default_rng(5))))[0, 1] < 0.9
  held_out = split_arrays("any_digits", "test")
  assert set(held_out["voice"]) <= set(test)


def test_training_digits_come_in_takes_with_their_own_clip_and_motion():
  """Each training digit is in TAKES examples: the same image and caption, another clip (voice, form) and motion;
  ids stay unique and take 0 keeps the digit's id. The test split is one take per digit."""
  from mmgen_jax.data import any_digits, digits

  train, test = split_arrays("any_digits", "train"), split_arrays("any_digits", "test")
  k, n = any_digits.TAKES["train"], len(digits.split_ids("train"))
  assert k > 1 and len(train["id"]) == k * n and len(np.unique(train["id"])) == k * n
  np.testing.assert_array_equal(train["id"][:n], digits.split_ids("train"))
  np.testing.assert_array_equal(train["id"][n:2 * n] - any_digits.TAKE_ID_STRIDE, train["id"][:n])
  takes = {f: train[f].reshape((k, n) + train[f].shape[1:]) for f in ("image", "text", "label", "speech", "video",
                                                                        "voice")}
  for f in ("image", "text", "label"):
    assert all(np.array_equal(takes[f][0], takes[f][j]) for j in range(1, k))
  for j in range(1, k):  # Another voice for most clips, another motion for most videos.
    assert np.mean(takes["voice"][0] != takes["voice"][j]) > 0.9
    assert np.mean((takes["video"][0] != takes["video"][j]).any((1, 2, 3, 4))) > 0.9
    assert np.mean(np.abs(takes["speech"][0] - takes["speech"][j]).max(1) > 0.1) > 0.9
  assert set(train["voice"]) <= set(speech.split_voices("train"))
  np.testing.assert_array_equal(test["id"], digits.split_ids("test"))


def test_a_clips_word_form_is_the_form_it_says():
  """The recorded `word_form` is the one said: the same draws with the form passed in say the same sound, another
  form another sound; the split's forms follow word_form_probabilities (the bare digit twice as often)."""
  voice = speech.split_voices("test")[0]
  drawn_rng = np.random.default_rng(5)
  form = speech.draw_word_form(drawn_rng)
  mel = lambda x: np.asarray(audio.log_mel_spectrogram(jnp.asarray(x), 16000, 512, 160, 40)).ravel()  # noqa: E731
  said = mel(speech.spoken_digit(4, voice, np.random.default_rng(5)))
  assert np.corrcoef(said, mel(speech.spoken_digit(4, voice, drawn_rng, form)))[0, 1] > 0.95
  other_rng = np.random.default_rng(5)
  speech.draw_word_form(other_rng)
  other = (form + 2) % len(speech.WORD_FORMS)
  assert np.corrcoef(said, mel(speech.spoken_digit(4, voice, other_rng, other)))[0, 1] < 0.9
  p = speech.word_form_probabilities()
  assert speech.WORD_FORMS[0] == "{}" and np.isclose(p[0], 2 * p[1]) and np.isclose(p.sum(), 1.0)
  forms = split_arrays("any_digits", "train")["word_form"]
  np.testing.assert_allclose(np.bincount(forms, minlength=len(p)) / len(forms), p, atol=0.04)


def test_a_missing_espeak_library_is_one_user_error(monkeypatch):
  monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import espeakng_loader -> ImportError.
  speech.espeak.cache_clear()
  try:
    with pytest.raises(UserError, match="pip install espeakng-loader"):
      speech.espeak()
  finally:
    monkeypatch.undo()
    speech.espeak.cache_clear()


def test_istft_matches_scipy_and_griffin_lim_recovers_a_phase():
  from scipy.signal import istft as scipy_istft

  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 4000)).astype(np.float32)
  np.testing.assert_allclose(audio.istft(audio.stft(x, 256, 64), 4000, 256, 64), x, atol=1e-4)
  # An arbitrary (inconsistent) spectrum: the least-squares overlap-add is scipy's.
  frames = audio.num_frames(4000, 256, 64)
  spectrum = (rng.normal(size=(frames, 129)) + 1j * rng.normal(size=(frames, 129))).astype(np.complex64)
  window_sum = audio.hann_window(256).sum()
  _, reference = scipy_istft(spectrum.T / window_sum, nperseg=256, noverlap=192)
  np.testing.assert_allclose(audio.istft(spectrum, 4000, 256, 64), reference[:4000], atol=1e-4)
  # A tone sweep: fast Griffin-Lim meets the magnitudes far better than the random phase it starts from, and better
  # than the original algorithm in as many iterations.
  t = np.arange(8000) / 8000
  chirp = np.sin(2 * np.pi * (200 * t + 300 * t ** 2)).astype(np.float32)[None]
  magnitude = jnp.abs(audio.stft(chirp, 256, 64))
  start = audio.istft(magnitude * np.exp(2j * np.pi * rng.uniform(size=magnitude.shape)), 8000, 256, 64)
  plain = audio.griffin_lim(magnitude, 8000, 256, 64, iterations=24, momentum=0.0)
  fast = audio.griffin_lim(magnitude, 8000, 256, 64, iterations=24)
  errors = [float(audio.spectral_convergence(w, magnitude, 256, 64)[0]) for w in (start, plain, fast)]
  assert errors[2] < errors[1] < errors[0] and errors[2] < 0.5 * errors[0], errors


def test_mel_pseudo_inverse_keeps_the_mel_spectrogram():
  clips = split_arrays("any_digits", "test")["speech"][:4]
  log_mel = audio.log_mel_spectrogram(clips, 16000, 512, 128, 64)
  magnitude = audio.mel_to_magnitude(log_mel, 16000, 512, 64)
  again = jnp.log(magnitude ** 2 @ audio.mel_filterbank(512, 16000, 64) + 1e-6)
  loud = log_mel > log_mel.max() - 8.0  # Clipping negative powers only touches the quietest bins.
  assert float(jnp.mean(jnp.abs(again - log_mel)[loud])) < 0.3


def test_shifted_speech_target_is_relative_to_the_peak():
  clips = split_arrays("any_digits", "test")["speech"][:3]
  target = any2any.speech_target(jnp.asarray(clips), "shifted")
  assert target.shape[0] == 3 and np.allclose(target.max(axis=(1, 2)), 0.0)
  assert float(target.min()) >= -any2any.SPEECH_RANGE / any2any.SPEECH_SCALE - 1e-6
  # Loudness does not change it.
  np.testing.assert_allclose(any2any.speech_target(jnp.asarray(clips) * 0.25, "shifted"), target, atol=1e-2)


def test_speech_target_is_the_word_centred_whatever_its_onset_and_loudness():
  clips = split_arrays("any_digits", "test")["speech"][:4]
  target = np.asarray(any2any.speech_target(jnp.asarray(clips)))
  silence = -any2any.SPEECH_RANGE / any2any.SPEECH_SCALE
  assert target.shape == (4, 126, 64) and silence - 1e-6 <= target.min() and target.max() <= 1e-6
  energy = lambda t: (t - silence).sum(-1)  # noqa: E731
  quieter = np.asarray(any2any.speech_target(jnp.asarray(clips) * 0.25))  # The same but for a frame of rounding.
  assert np.mean(np.abs(quieter - target)) < 0.1 * np.mean(np.abs(target - silence))
  # The same clip with its word 0.1 s nearer the middle (rolled: the noise goes on throughout, as in every clip):
  # the same centred word, give or take a frame of rounding.
  power = clips.astype(np.float64) ** 2
  towards_middle = np.where((power * np.arange(16000)).sum(1) / power.sum(1) < 8000, 1600, -1600)
  later = np.stack([np.roll(c, k) for c, k in zip(clips, towards_middle)])
  moved = np.asarray(any2any.speech_target(jnp.asarray(later)))
  centroid = lambda t: (energy(t) * np.arange(126)).sum(-1) / energy(t).sum(-1)  # noqa: E731
  # Within a few frames of the middle: the residual noise spread over the clip partly falls off an edge.
  assert np.all(np.abs(centroid(target) - 63) <= 3) and np.all(np.abs(centroid(moved) - 63) <= 3)
  # (Uncentred, the "shifted" target, these four correlate 0.34-0.66.)
  correlation = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(moved - silence, target - silence)]
  assert min(correlation) > 0.75 and np.mean(correlation) > 0.85, correlation


def test_coherence_reports_reconstructions_beside_the_directions_not_in_their_mean():
  """A stand-in sampler: the real test images whatever it is given; a caption naming the example's digit from a
  caption, the next digit from an image. Text -> text is then right, image -> text wrong, and `coherence` is the
  mean of the two cross directions alone."""
  test = split_arrays("digits", "test")
  n = 40
  images, labels = jnp.asarray(test["image"][:n]), np.asarray(test["label"][:n])

  def sample_masked(config, variables, rng, n, inputs, present):
    del config, variables, rng, n, inputs
    return {"images": images, "text_ids": jnp.where(present["image"], (labels + 1) % 10, labels)}

  def encode(config, arrays):
    return {**arrays, "caption_ids": labels}

  def decode(config, out):
    return {**out, "text": np.asarray([f"the digit {i}" for i in np.asarray(out["text_ids"])])}

  arrays = {"label": labels, "image": test["image"][:n], "text": test["text"][:n]}
  report = any_to_any.coherence_report(None, {}, sample_masked, encode, decode, arrays,
                                       {"image": "image", "text": "caption_ids"}, ("image", "text"))
  assert report["text_to_text"] == 1.0 and report["image_to_text"] == 0.0
  assert report["image_to_image"] == report["text_to_image"] > 0.9  # The digits classifier on real test images.
  assert report["coherence"] == (report["image_to_text"] + report["text_to_image"]) / 2


def test_video_judge_reads_real_clips_and_rejects_still_or_empty_ones():
  test = split_arrays("any_digits", "test")
  video, labels = test["video"][:120], test["label"][:120]
  assert any_to_any.motion_ok(video).mean() == 1.0
  still = np.repeat(video[:, :1], video.shape[1], axis=1)
  assert not any_to_any.motion_ok(still).any()
  np.testing.assert_allclose(any_to_any.mean_steps(still), 0.0, atol=1e-9)
  moving = np.zeros((3, 4, 32, 32, 1), np.uint8)  # A 3x3 blob moving right by 0.25, 2 and 6 px a frame.
  for i, step in enumerate((0.25, 2, 6)):
    for t in range(4):
      x = int(round(2 + step * t))
      moving[i, t, 10:13, x:x + 3] = 255
  np.testing.assert_allclose(any_to_any.mean_steps(moving), [1 / 3, 2, 6])  # Rounded: 2, 2, 3, 3.
  np.testing.assert_array_equal(any_to_any.motion_ok(moving), [False, True, False])
  empty = video.copy()
  empty[:, 2] = 0
  assert not any_to_any.motion_ok(empty).any()
  judges = any_to_any.Judges()
  calls = judges.calls("video", {"video": video})
  assert np.mean(calls == labels) > 0.9
  assert (judges.calls("video", {"video": still}) == -1).all()
  # One pixel's centroid is its position.
  dot = np.zeros((1, 1, 32, 32, 1), np.uint8)
  dot[0, 0, 5, 20] = 255
  np.testing.assert_allclose(any_to_any.centroids(dot)[0, 0], [5, 20])


def test_every_modality_is_exported_as_a_file(tmp_path):
  rng = np.random.default_rng(0)
  n, frames = 3, 4
  samples = {"images": rng.integers(0, 255, (n, 32, 32, 1), dtype=np.uint8),
             "video": rng.integers(0, 255, (n, frames, 32, 32, 1), dtype=np.uint8),
             "speech": rng.uniform(-1, 1, (n, 16000)).astype(np.float32),
             "text": np.asarray(["a seven", "the digit 3", "nine"])}
  export_samples(samples, str(tmp_path / "out"), progress=False)
  for i in range(n):
    stem = tmp_path / "out" / f"{i:06d}"
    with wave.open(str(stem) + ".wav") as f:
      assert (f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes()) == (16000, 1, 2, 16000)
      pcm = np.frombuffer(f.readframes(16000), "<i2")
    np.testing.assert_allclose(pcm / 32767, samples["speech"][i], atol=1 / 32767)
    with Image.open(str(stem) + ".gif") as gif:
      assert gif.n_frames == frames
    assert (stem.with_suffix(".txt")).read_text().strip() == samples["text"][i]
    assert os.path.exists(str(stem) + ".png")


def test_conditions_outside_the_modalities_or_misshapen_are_user_errors():
  config = get_config("any2any_digits", smoke=True)
  config.model.vocab = ["a", "seven"]
  with pytest.raises(UserError, match="not a modality"):
    any2any._check_inputs(config, {"dtmf": np.zeros((1, 4000), np.float32)})
  with pytest.raises(UserError, match="speech"):
    any2any._check_inputs(config, {"speech": np.zeros((1, 8000), np.float32)})
  config.model.modalities = ["image"]
  with pytest.raises(UserError, match="two or more"):
    any2any.input_features(config)


def test_speech_shift_rolls_each_clip_the_expert_reads_by_its_own_shift_and_nothing_else():
  config = get_config("any2any_digits", smoke=True)
  assert list(config.data.augment) == ["speech_shift", "speech_masks"]
  config.data.augment = ["speech_shift"]
  waves = np.random.default_rng(0).normal(size=(16, 16000)).astype(np.float32)
  inputs = {"speech": jnp.asarray(waves), "image": jnp.zeros((16, 32, 32, 1))}
  out = jax.jit(lambda x: any2any.augment_inputs(config, x, jax.random.PRNGKey(0)))(inputs)
  rolled = np.asarray(out["speech"])
  # Each row's shift from the peak of its circular cross-correlation with the clip (white noise: one sharp peak).
  correlation = np.fft.irfft(np.fft.rfft(rolled) * np.conj(np.fft.rfft(waves)), n=16000)
  shifts = (np.argmax(correlation, axis=1) + 8000) % 16000 - 8000
  for row, rolled_row, shift in zip(waves, rolled, shifts):
    np.testing.assert_array_equal(np.roll(row, shift), rolled_row)
  assert np.all(np.abs(shifts) <= any2any.SPEECH_SHIFT) and len(set(shifts.tolist())) > 12, shifts
  np.testing.assert_array_equal(np.asarray(out["image"]), 0.0)
  config.data.augment = []
  assert any2any.augment_inputs(config, inputs, jax.random.PRNGKey(0)) is inputs
  config.data.augment = ["flip"]
  with pytest.raises(UserError, match="data.augment has \\['flip'\\]"):
    any2any.make_model(config)


def test_speech_masks_remove_bands_and_moments_of_each_clip_the_expert_reads():
  config = get_config("any2any_digits", smoke=True)
  config.data.augment = ["speech_shift", "speech_masks"]
  any2any.make_model(config)  # A known augmentation.
  t = np.arange(16000) / 16000
  # Two tones far apart on the mel scale, each on one bin of the 1 s clip's spectrum (1 Hz apart), and at
  # frequencies whose samples are never exactly 0 past the first, so only a mask silences the clip.
  tone = np.sin(2 * np.pi * 441 * t) + np.sin(2 * np.pi * 3001 * t)
  waves = jnp.asarray(np.tile(tone.astype(np.float32), (64, 1)))
  masked = np.asarray(augment.random_spectral_masks(jax.random.PRNGKey(0), waves, 16000))
  spectrum = np.abs(np.fft.rfft(masked)) / 8000  # A full-amplitude tone reads 1.
  low, high = spectrum[:, 441], spectrum[:, 3001]
  silent = np.abs(masked) < 1e-6
  # Each clip loses at most two stretches of at most 0.05 s, and on most clips some of it goes silent.
  assert silent[:, 1:].sum(1).max() <= 2 * 800 and np.mean(silent[:, 1:].sum(1) > 0) > 0.9
  # A tone is removed when a band covers it and kept (less the silenced stretches) when none does: never between.
  for level in (low, high):
    assert np.all((level < 0.01) | (level > 0.85)), level
    assert 0 < np.sum(level < 0.01) < 32


def test_mixture_prior_samples_its_components():
  prior = (jnp.log(jnp.asarray([0.5, 0.5])), jnp.asarray([[-10.0, 0.0], [10.0, 0.0]]), jnp.full((2, 2), -6.0))
  z = any2any.sample_prior(prior, jax.random.PRNGKey(0), 4000)
  assert abs(float(jnp.mean(z[:, 0] > 0)) - 0.5) < 0.05 and float(jnp.max(jnp.abs(jnp.abs(z[:, 0]) - 10))) < 0.5
  # The density of a point at a component's mean: log(0.5) + the component's own log density.
  expected = np.log(0.5) - 0.5 * 2 * (-6.0 + np.log(2 * np.pi))  # Two dimensions.
  np.testing.assert_allclose(any2any.prior_log_prob(prior, jnp.asarray([[10.0, 0.0]])), [expected], rtol=1e-5)


def test_sprites_render_and_crop_are_exact_translations():
  from mmgen_jax.layers import sprites

  rng = np.random.default_rng(0)
  sprite = rng.uniform(size=(2, 16, 16)).astype(np.float32)
  corners = jnp.asarray([[[3.0, 5.0], [0.0, 16.0]], [[16.0, 0.0], [7.0, 9.0]]])
  frames = sprites.render(jnp.asarray(sprite), corners, 32)
  for b in range(2):
    for t in range(2):
      y, x = np.asarray(corners[b, t], int)
      expected = np.zeros((32, 32), np.float32)
      expected[y:y + 16, x:x + 16] = sprite[b]
      np.testing.assert_allclose(frames[b, t], expected, atol=1e-6)
  np.testing.assert_allclose(sprites.crop(frames, corners, 16), np.repeat(sprite[:, None], 2, 1), atol=1e-6)
  # Half a pixel: the average of the two neighbouring placements.
  half = sprites.render(jnp.asarray(sprite), corners + jnp.asarray([0.5, 0.0]), 32)
  below = sprites.render(jnp.asarray(sprite), corners + jnp.asarray([1.0, 0.0]), 32)
  np.testing.assert_allclose(half[0, 0], (frames[0, 0] + below[0, 0]) / 2, atol=1e-6)
  # The ink windows of real clips hold the whole digit.
  video = split_arrays("any_digits", "test")["video"][:16, ..., 0].astype(np.float32) / 255
  windows = sprites.crop(jnp.asarray(video), sprites.ink_corners(jnp.asarray(video), 16), 16)
  assert float(windows.sum()) > 0.97 * float(video.sum())


def test_sprite_decoder_moves_the_sprite_by_whole_pixels_when_told():
  """With whole_pixels the decoder's frames are one sprite at rounded positions: every frame holds the same pixel
  values (an exact translate, no interpolation blur), each at the nearest whole pixel to the fractional render."""
  from mmgen_jax.layers import sprites

  decoder = sprites.SpriteVideoDecoder((8, 4), frames=4, canvas=32)
  content, motion = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 5))
  params = decoder.init(jax.random.PRNGKey(1), content, motion)
  snapped = jax.nn.sigmoid(decoder.apply(params, content, motion, True))[..., 0]  # [6, 4, 32, 32]
  free = jax.nn.sigmoid(decoder.apply(params, content, motion))[..., 0]
  values = np.sort(np.asarray(snapped).reshape(6, 4, -1), axis=-1)
  np.testing.assert_allclose(values, np.repeat(values[:, :1], 4, 1), atol=1e-4)
  assert not np.allclose(np.sort(np.asarray(free).reshape(6, 4, -1), -1)[:, 1:], values[:, 1:], atol=1e-4)
  # The same ink, moved less than a pixel: the centroids agree within half a pixel on each axis.
  np.testing.assert_array_less(np.abs(any_to_any.centroids(np.asarray(snapped)[..., None])
                                      - any_to_any.centroids(np.asarray(free)[..., None])), 0.5 + 1e-3)


def test_the_train_step_fits_the_prior_that_prior_samples_come_from(smoke_workdir):
  """Training writes the joint posterior's codes into the fitted prior's bank and fits its mixture to them (the
  smoke run's bank fills at step 2: a fresh fit); samples given no modality draw z from that mixture, and from the
  learnt prior when a checkpoint keeps none; conditional samples take it as the prior expert if told to."""
  import mmgen_jax

  model = mmgen_jax.load(smoke_workdir("any2any_digits"))
  config, variables = model.config, model.variables
  tracker = variables[any2any.FITTED_PRIOR]
  assert int(tracker["count"]) == config.train.steps * config.data.batch_size
  codes = np.asarray(tracker["codes"])
  assert np.all(np.abs(codes).sum(1) > 0)  # Every row written.
  # Each fitted mean sits among the codes: k-means++ put it on one, EM moved it to its cluster's centre.
  nearest = np.min(np.linalg.norm(codes[:, None] - np.asarray(tracker["means"])[None], axis=-1), axis=0)
  assert np.all(nearest < np.linalg.norm(codes.std(0))), nearest
  assert np.isclose(float(jnp.sum(jnp.exp(tracker["log_weights"]))), 1.0, atol=1e-5)

  far = {**tracker, "means": jnp.full_like(tracker["means"], 50.0), "logvars": jnp.full_like(tracker["logvars"], -9)}
  mixture = any2any.generation_prior(config, {**variables, any2any.FITTED_PRIOR: far})
  np.testing.assert_allclose(np.asarray(any2any.sample_prior(mixture, jax.random.PRNGKey(0), 5)), 50.0, atol=0.1)
  learnt = any2any.generation_prior(config, {k: v for k, v in variables.items() if k != any2any.FITTED_PRIOR})
  np.testing.assert_allclose(np.asarray(learnt[1]), np.asarray(variables["params"]["prior_means"]),
                             rtol=2e-2, atol=1e-2)  # The smoke config computes in bfloat16.

  # Conditional samples: the prior expert is N(0, I), or with model.prior_expert="generation" the fitted mixture
  # (here a sharp one far from every posterior, so it sets z; the image's private code still comes from its expert).
  images = split_arrays("any_digits", "test")["image"][:4]
  inputs, present = {"image": images}, {"image": jnp.ones(4, bool)}
  shared = {}
  for expert in ("normal", "generation"):
    config.model.prior_expert = expert
    codes = jax.jit(lambda v: any2any.conditional_codes(config, v, jax.random.PRNGKey(1), 4, inputs, present))(
        {**variables, any2any.FITTED_PRIOR: far})
    shared[expert] = np.asarray(codes["image"][:, :config.model.latent_dim])
  np.testing.assert_allclose(shared["generation"], 50.0, atol=0.1)
  assert np.all(np.abs(shared["normal"]) < 20.0)
  config.model.prior_expert = "sharp"
  with pytest.raises(UserError, match="model.prior_expert"):
    any2any.make_model(config)


def test_the_speech_decoder_reads_the_word_form_and_the_sampler_draws_it(smoke_workdir):
  """With model.speech_word_form the speech code ends in a one-hot word form: the decoder's output changes with it
  alone, sampling draws it at the training frequencies (the commonest with `mean`), and the train step reads the
  batch's `word_form` (the smoke run trained with it)."""
  import mmgen_jax

  model = mmgen_jax.load(smoke_workdir("any2any_digits"))
  config, variables = model.config, model.variables
  assert config.model.speech_word_form and "word_form" in any2any.input_features(config)
  width = config.model.latent_dim + config.model.private_dim
  code = jax.random.normal(jax.random.PRNGKey(0), (1, width))
  forms = jnp.eye(any2any.NUM_WORD_FORMS)
  decode = lambda c: any2any.make_model(config).apply(variables, c, method=any2any.AnyToAnyVAE.decode_speech)  # noqa
  out = np.asarray(decode(jnp.concatenate([jnp.repeat(code, len(forms), 0), forms], 1)), np.float32)
  assert np.all(np.abs(out[1:] - out[:1]).max(axis=(1, 2)) > 1e-3)  # Every form changes the spectrogram.
  n = 4000
  codes = jax.jit(lambda v: any2any.conditional_codes(config, v, jax.random.PRNGKey(2), n, {}, {}))(variables)
  drawn = np.asarray(codes["speech"][:, width:])
  assert drawn.shape == (n, any2any.NUM_WORD_FORMS) and np.all(drawn.sum(1) == 1)
  np.testing.assert_allclose(drawn.mean(0), speech.word_form_probabilities(), atol=0.02)
  mean = any2any.conditional_codes(config, variables, jax.random.PRNGKey(2), 3, {}, {}, mean=True)
  assert np.all(np.asarray(mean["speech"][:, width:]).argmax(1) == 0)  # The bare digit, the commonest form.
  config.model.speech_decoder = "shifted"
  with pytest.raises(UserError, match="model.speech_word_form"):
    any2any.make_model(config)


def test_dense_speech_decoder_with_a_frame_stride_interpolates_its_coarse_frames_linearly():
  frames, stride, mels = 126, 2, 8
  coarse_net = any2any.DenseSpeechDecoder(63, mels=mels, hidden=16)
  strided_net = any2any.DenseSpeechDecoder(frames, mels=mels, hidden=16, frame_stride=stride)
  z = jax.random.normal(jax.random.PRNGKey(0), (3, 5))
  params = strided_net.init(jax.random.PRNGKey(1), z)  # The same shapes as coarse_net's: 63 x 8 outputs.
  coarse = np.asarray(coarse_net.apply(params, z))
  out = np.asarray(strided_net.apply(params, z))
  assert out.shape == (3, frames, mels)
  where = np.clip((np.arange(frames) + 0.5) / stride - 0.5, 0, 62)  # Frame centres on the coarse grid.
  for row_out, row_coarse in zip(out, coarse):
    want = np.stack([np.interp(where, np.arange(63), row_coarse[:, k]) for k in range(mels)], axis=1)
    np.testing.assert_allclose(row_out, want, atol=1e-5)


def test_labelled_experts_read_the_label_from_their_features(smoke_workdir):
  """With model.labelled_experts the batch carries the dataset's `label` and those experts (only) give [B, 10]
  label logits beside their posteriors, whose cross-entropy the smoke run (the config's setting) logged; an
  unknown modality is a user error."""
  import json

  with open(os.path.join(smoke_workdir("any2any_digits"), "metrics.jsonl")) as f:
    logged = [json.loads(line) for line in f]
  losses = [row["label_loss_speech"] for row in logged if "label_loss_speech" in row]
  assert losses and all(0.0 < loss < 10.0 for loss in losses)  # Chance over 10 digits is 2.3 nats.

  config = apply_overrides(get_config("any2any_digits", smoke=True), ['model.labelled_experts=["speech"]'])
  assert "label" in any2any.input_features(config)
  unlabelled = apply_overrides(get_config("any2any_digits", smoke=True), ["model.labelled_experts=[]"])
  assert "label" not in any2any.input_features(unlabelled)
  model = any2any.make_model(config)
  inputs = any2any._dummy_inputs(config, n=3)
  variables = model.init(jax.random.PRNGKey(0), inputs)
  experts, labels = model.apply(variables, inputs, method=any2any.AnyToAnyVAE.experts_and_labels)
  assert set(labels) == {"speech"} and labels["speech"].shape == (3, 10)
  assert set(experts) == set(config.model.modalities)
  config.model.labelled_experts = ["sound"]
  with pytest.raises(UserError, match="model.labelled_experts"):
    any2any.make_model(config)


def test_latent_label_is_one_readout_of_every_labelled_experts_mean_of_z():
  """model.label_from="latent": one Dense, shared by the labelled experts, reads the label from the mean of z each
  gives (not from its features, not from the private latent); an unknown source is a user error."""
  config = apply_overrides(get_config("any2any_digits", smoke=True),
                           ["model.label_from=latent", 'model.labelled_experts=["image","speech"]'])
  model = any2any.make_model(config)
  inputs = any2any._dummy_inputs(config, n=3)
  variables = model.init(jax.random.PRNGKey(0), inputs)
  assert "latent_label" in variables["params"] and "speech_label" not in variables["params"]
  experts, labels = model.apply(variables, inputs, method=any2any.AnyToAnyVAE.experts_and_labels)
  assert set(labels) == {"image", "speech"}
  head = variables["params"]["latent_label"]
  latent = config.model.latent_dim
  for m in labels:
    expected = experts[m][0][:, :latent] @ head["kernel"] + head["bias"]
    np.testing.assert_allclose(labels[m], expected, rtol=1e-5, atol=1e-5)
  config.model.label_from = "z"
  with pytest.raises(UserError, match="model.label_from"):
    any2any.make_model(config)
