"""Video super-resolution: LR/HR data, the bidirectional propagation's reach, rolled vs unrolled scans, training,
memory with sequence length, the sampler on user videos."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import init_state, last_line, run_main
from mmgen_jax.config import get_config
from mmgen_jax.data import videos
from mmgen_jax.errors import UserError
from mmgen_jax.models import vsr
from mmgen_jax.pieces import windows


def test_low_resolution_frames_are_antialiased_bicubic_downsamplings():
  from skimage.transform import resize

  arrays = videos.camera_videos("test", 2, 3, seed=0)
  assert arrays["hr_video"].shape == (2, 3, 64, 64, 3) and arrays["lr_video"].shape == (2, 3, 16, 16, 3)
  hr = arrays["hr_video"][1, 2] / 255.0
  expected = np.round(np.clip(resize(hr, (16, 16, 3), order=3, anti_aliasing=True), 0, 1) * 255)
  np.testing.assert_array_equal(arrays["lr_video"][1, 2], expected.astype(np.uint8))
  # The camera moves: consecutive frames differ.
  assert np.mean(np.abs(np.diff(arrays["hr_video"].astype(float), axis=1))) > 1
  # Any frame size, and frames whose range is narrower than [0, 255] (skimage clips the cubic's overshoot to the
  # frame's own range): every value equals skimage's frame-by-frame resize.
  rng = np.random.default_rng(0)
  frames = np.concatenate([rng.integers(0, 256, (3, 40, 72, 3)), rng.integers(90, 160, (3, 40, 72, 3))]).astype(np.uint8)
  expected = [np.round(np.clip(resize(f / 255.0, (10, 18, 3), order=3, anti_aliasing=True), 0, 1) * 255) for f in frames]
  np.testing.assert_array_equal(videos.downsample(frames), np.asarray(expected, np.uint8))


def _model(propagation=True):
  config = get_config("vsr_photos", smoke=True)
  config.model.propagation = propagation
  variables = jax.jit(vsr.make_model(config).init)(jax.random.PRNGKey(0), jnp.zeros((1, 5, 8, 8, 3)))
  return config, variables


def _frames_affected(config, variables, t=5, changed=0):
  """Which output frames change when LR frame `changed` does."""
  rng = np.random.default_rng(0)
  lr = rng.random((1, t, 8, 8, 3)).astype(np.float32)
  other = lr.copy()
  other[:, changed] = rng.random((8, 8, 3))
  # A non-zero flow head, so propagation does more than carry features in place.
  variables = jax.tree.map(lambda a: a + 0.01, variables)
  apply = jax.jit(vsr.make_model(config).apply)
  a, b = apply(variables, jnp.asarray(lr)), apply(variables, jnp.asarray(other))
  return [bool(jnp.any(a[:, i] != b[:, i])) for i in range(t)]


def test_propagation_reaches_every_frame_in_both_directions_and_the_baseline_none():
  config, variables = _model(True)
  assert all(_frames_affected(config, variables, changed=0))  # Forward pass: frame 0 reaches frame 4.
  assert all(_frames_affected(config, variables, changed=4))  # Backward pass: frame 4 reaches frame 0.
  config, variables = _model(False)
  assert _frames_affected(config, variables, changed=2) == [False, False, True, False, False]
  assert "FlowEstimator_0" not in str(jax.tree.map(lambda a: a.shape, variables))


def test_rolled_scan_equals_the_unrolled_one_and_runs_four_times_longer_sequences():
  config, variables = _model(True)
  lr = jnp.asarray(np.random.default_rng(1).integers(0, 256, (2, 24, 8, 12, 3)), jnp.uint8)
  rolled = jax.jit(lambda v, x: vsr.upscale(config, v, x))(variables, lr)
  unrolled = jax.jit(vsr.make_model(config).apply)(variables, lr.astype(jnp.float32) / 255.0)
  assert rolled.shape == (2, 24, 32, 48, 3) and rolled.dtype == jnp.uint8
  np.testing.assert_array_equal(np.asarray(rolled),
                                np.clip(np.round(np.asarray(unrolled) * 255.0), 0, 255).astype(np.uint8))


def test_inference_memory_grows_only_by_low_resolution_features_and_outputs():
  config, variables = _model(True)
  temp = {}
  for t in (6, 24):
    lr = jax.ShapeDtypeStruct((1, t, 16, 16, 3), jnp.uint8)
    compiled = jax.jit(lambda v, x: vsr.upscale(config, v, x)).lower(variables, lr).compile()
    temp[t] = compiled.memory_analysis().temp_size_in_bytes
  per_frame = (temp[24] - temp[6]) / 18
  lr_features = 16 * 16 * config.model.width * 4  # One direction's float32 features per frame.
  hr_activations = 64 * 64 * config.model.width * 4  # What a frame's upsampling holds.
  assert per_frame <= 2 * lr_features < hr_activations, (temp, per_frame)


@pytest.mark.parametrize("size,overlap", [(8, 2), (16, 4), (5, 0), (9, 4)])
def test_windows_cover_the_input_once_with_context_on_both_sides(size, overlap):
  for length in range(1, 60):
    found = windows(length, size, overlap)
    kept = np.concatenate([np.arange(a, b) for _, a, b in found])
    np.testing.assert_array_equal(kept, np.arange(length))  # Each item kept once, in order.
    width = min(size, length)
    for start, a, b in found:
      assert 0 <= start <= a < b <= start + width <= length
      assert a == 0 or a - start >= overlap  # Context before the kept part, unless it starts the input.
      assert b == length or start + width - b >= overlap  # And after it.
  with pytest.raises(UserError, match="larger than twice the overlap"):
    windows(20, 8, 4)


def test_long_videos_in_chunks_and_tiles_equal_the_whole_video_where_context_covers_the_receptive_field():
  """The single-frame model sees about 5 LR pixels around each (convolutions, then the bicubic base): with 6 pixels
  of tile context and whole frames per chunk, the pieces' outputs are the whole video's. With propagation, one
  piece that covers the video is exactly `sample`; overlapping chunks differ where propagation is cut (measured in
  benchmarks/vsr_long_video.py), and chunks that carry the recurrent maps across (infer.carry_state) equal the
  whole video, for chunks of any length (two compiled lengths when they do not divide the video)."""
  import functools

  lr = np.random.default_rng(2).integers(0, 256, (1, 11, 22, 30, 3)).astype(np.uint8)
  for propagation in (False, True):
    config, variables = _model(propagation)
    variables = jax.tree.map(lambda a: a + 0.01, variables)  # A non-zero residual (to_rgb starts at 0).
    sample_fn = jax.jit(functools.partial(vsr.sample, config), static_argnums=2)
    whole = np.asarray(sample_fn(variables, None, 1, lr_video=lr)["video"])
    pieces = lambda **infer: vsr.host_sample(type(config)({**config, "infer": infer}), sample_fn, variables, None,
                                             1, lr_video=lr)["video"]
    np.testing.assert_array_equal(pieces(chunk_frames=11, chunk_overlap=0, tile=0, tile_overlap=0,
                                         carry_state=False), whole)
    for infer in (dict(chunk_frames=4, chunk_overlap=1, tile=16, tile_overlap=6, carry_state=False),
                  # Tiles of whole clips.
                  dict(chunk_frames=0, chunk_overlap=0, tile=16, tile_overlap=6, carry_state=False)):
      chunked = pieces(**infer)
      assert chunked.shape == whole.shape and chunked.dtype == np.uint8
      if not propagation:
        difference = np.abs(chunked.astype(int) - whole)
        assert difference.max() <= 1 and np.mean(difference == 0) > 0.999, (infer, difference.max())
  carried = pieces(chunk_frames=4, chunk_overlap=0, tile=0, tile_overlap=0, carry_state=True)  # 4, 3, 4 frames.
  np.testing.assert_array_equal(carried, whole)
  with pytest.raises(UserError, match="set infer.tile=0"):
    pieces(chunk_frames=4, chunk_overlap=0, tile=16, tile_overlap=6, carry_state=True)


def test_training_fits_a_batch_and_moves_every_parameter():
  config = get_config("vsr_photos", smoke=True)
  config.data.augment = []  # One fixed batch to fit.
  # 40 steps at a high constant rate: the loss ends near 0.90 of its start (150 cosine-decayed steps at the zoo's
  # 1e-3 ended at 0.918, at the bound's edge).
  config.train.steps = 40
  config.optim.update(lr=1e-2, schedule="constant")
  arrays = videos.camera_videos("train", 2, 6, seed=0)
  batch = {k: arrays[k] for k in ("lr_video", "hr_video")}
  state = init_state(vsr, config)
  init = state.params
  # The residual head starts at zero: the untrained network is exactly bicubic.
  lr = batch["lr_video"].astype(np.float32) / 255.0
  fresh = vsr.make_model(config).apply({"params": init}, lr)
  base = jax.image.resize(lr, fresh.shape, "bicubic")
  np.testing.assert_allclose(np.asarray(fresh), np.asarray(base), atol=1e-6)
  step = jax.jit(lambda s, r: vsr.train_step(config, s, batch, r))
  losses = []
  for i in range(config.train.steps):
    state, metrics = step(state, jax.random.PRNGKey(i))
    losses.append(float(metrics["loss"]))
  assert np.mean(losses[-5:]) < 0.92 * np.mean(losses[:5]), losses
  assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)), init, state.params)))


def test_augment_keeps_lr_and_hr_aligned():
  lr = jax.random.uniform(jax.random.PRNGKey(0), (16, 6, 4, 4, 3))
  hr = jnp.repeat(jnp.repeat(lr, 4, 2), 4, 3)  # Nearest x4: any geometric transform must commute with it.
  a, b = vsr.augment(jax.random.PRNGKey(1), lr, hr, vsr.AUGMENTATIONS)
  np.testing.assert_array_equal(np.asarray(jnp.repeat(jnp.repeat(a, 4, 2), 4, 3)), np.asarray(b))
  changed = np.asarray(jnp.any(a != lr, axis=(1, 2, 3, 4)))
  assert changed.sum() >= 10  # A clip stays as it is with probability 1/48 (3 coins and 1 of 6 colour orders).
  with pytest.raises(UserError, match="data.augment"):
    vsr.augment(jax.random.PRNGKey(1), lr, hr, ("rotate",))


def test_evaluate_scores_bicubic_with_the_basicsr_protocol():
  from skimage.color import rgb2ycbcr
  from skimage.metrics import peak_signal_noise_ratio

  config = get_config("vsr_photos", smoke=True)
  state = init_state(vsr, config)
  scores = vsr.evaluate(config, state, num=3, batch=2)
  arrays = videos.photo_videos_arrays("test")
  up = vsr.bicubic(arrays["lr_video"][:3])
  y = lambda x: rgb2ycbcr(x)[4:-4, 4:-4, 0]  # noqa: E731 (skimage's BT.601 Y, as MATLAB and BasicSR)
  reference = np.mean([peak_signal_noise_ratio(y(h), y(u), data_range=255)
                       for h, u in zip(arrays["hr_video"][:3].reshape(-1, 64, 64, 3), up.reshape(-1, 64, 64, 3))])
  np.testing.assert_allclose(scores["bicubic_psnr"], reference, atol=0.02)
  assert scores["num_clips"] == 3 and np.isfinite(scores["psnr"])


def test_cli_upscales_user_videos_of_any_length_and_size(smoke_workdir, tmp_path, capsys):
  workdir = smoke_workdir("vsr_photos")
  lr = np.random.default_rng(0).integers(0, 256, (2, 9, 12, 20, 3)).astype(np.uint8)
  cond, out = tmp_path / "lr.npz", tmp_path / "hr.npz"
  np.savez(cond, lr_video=lr)
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out)
  assert result.returncode == 0, result.stderr
  with np.load(out) as f:
    assert f["video"].shape == (2, 9, 48, 80, 3) and f["video"].dtype == np.uint8
  np.savez(cond, lr_video=lr[:, 0])
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out)
  assert result.returncode == 2 and "lr_video condition has shape [2, 12, 20, 3]" in last_line(result.stderr)
  # Inference settings (`infer.*`, the only ones sampling may change; chunking itself: the test above). A chunk
  # longer than the clip changes nothing, so this run reuses the compiled sampler.
  np.savez(cond, lr_video=lr)
  with np.load(out) as f:
    whole = f["video"]
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out,
                    "--set", "infer.chunk_frames=64")
  assert result.returncode == 0, result.stderr
  with np.load(out) as f:
    np.testing.assert_array_equal(f["video"], whole)
  result = run_main(capsys, "sample", "--workdir", workdir, "--cond", cond, "--out", out, "--set", "model.width=4")
  assert result.returncode == 2 and "inference settings only (infer.*)" in last_line(result.stderr)
  result = run_main(capsys, "sample", "--workdir", workdir, "--cond", cond, "--out", out, "--set", "infer.tile=4")
  assert result.returncode == 2 and "larger than twice the overlap" in last_line(result.stderr)


def _write_videos(root, lengths, size=(40, 72)):
  """Videos as subfolders of numbered PNG frames: a pattern that moves one pixel per frame."""
  from PIL import Image

  base = np.random.default_rng(0).integers(0, 256, (size[0], size[1] + 16, 3), dtype=np.uint8)
  for v, length in enumerate(lengths):
    (root / f"clip{v}").mkdir(parents=True)
    for t in range(length):
      Image.fromarray(base[:, t:t + size[1]]).save(root / f"clip{v}" / f"{t:04d}.png")
  return base


def test_video_folder_is_cut_into_clips_and_windows(tmp_path):
  from mmgen_jax.data import open_source

  base = _write_videos(tmp_path, (13, 5))  # 13 frames: two 6-frame clips; 5 frames: too short, skipped.
  arrays = open_source(f"folder:{tmp_path}", "train", 32, 3, frames=6).arrays
  # 40x72 frames hold 1x2 windows of 32x32: 2 clips x 2 windows, all from the first video.
  assert arrays["hr_video"].shape == (4, 6, 32, 32, 3) and arrays["lr_video"].shape == (4, 6, 8, 8, 3)
  np.testing.assert_array_equal(arrays["source"], [0, 0, 0, 0])
  np.testing.assert_array_equal(arrays["hr_video"][3, 2], base[:32, 6 + 2 + 32:6 + 2 + 64])  # Clip 2, right.
  np.testing.assert_array_equal(arrays["lr_video"], videos.downsample(arrays["hr_video"]))
  with pytest.raises(UserError, match="no video with 24 frames"):
    open_source(f"folder:{tmp_path}", "train", 32, 3, frames=24)


def test_trains_and_samples_on_a_video_folder(tmp_path):
  from mmgen_jax.models import get_family
  from mmgen_jax.train.trainer import train

  _write_videos(tmp_path / "videos", (12, 12))
  config = get_config("vsr_photos", smoke=True)
  # Clips of 3 frames (training unrolls over frames: half the program of the zoo's 6).
  config.data.update(source=f"folder:{tmp_path / 'videos'}", eval_split="train", image_size=32, frames=3)
  train(config, str(tmp_path / "run"), get_family("vsr"), progress=False)
  assert sorted(os.listdir(tmp_path / "run" / "samples"))  # The sample grid came from the folder's clips.


def test_adversarial_variant_trains_both_networks_and_samples():
  config = get_config("vsr_photos", smoke=True)
  config.loss.update(adv_weight=0.01, d_width=8)
  # Three frames: both passes still carry features across frames, and training unrolls them (each frame is one
  # more copy of both networks to compile).
  arrays = videos.camera_videos("train", 2, 3, seed=0)
  batch = {k: arrays[k] for k in ("lr_video", "hr_video")}
  state = init_state(vsr, config)
  before = state
  step = jax.jit(lambda s, r: vsr.train_step(config, s, batch, r))
  for i in range(3):  # The zero-initialised head moves first; the layers before it from the second step.
    state, metrics = step(state, jax.random.PRNGKey(i))
  assert {"d_loss", "g_adv_loss", "loss", "psnr"} <= set(metrics)
  for old, new in ((before.g_params, state.g_params), (before.d_params, state.d_params)):
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)), old, new)))
  out = vsr.sample(config, state.ema_variables(), None, 2, lr_video=jnp.asarray(batch["lr_video"]))
  assert out["video"].shape == (2, 3, 64, 64, 3)
