"""V-GAN next-frame synthesis: the clip data follows its motion, each fusion wires the modalities it claims, every
part learns, and the sampler takes user clips."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import init_state, last_line, run_main
from mmgen_jax.config import get_config
from mmgen_jax.data import clips, photos
from mmgen_jax.models import vgan


def test_bounce_reflects_off_both_walls():
  np.testing.assert_array_equal(clips.bounce(np.array([0, 5, 16, 17, 20, 32, 33, -1, -3]), 16),
                                [0, 5, 16, 15, 12, 0, 1, 1, 3])


def _box(frame):
  ys, xs = np.nonzero(frame[..., 0])
  return ys.min(), xs.min()


def test_moving_digits_move_in_straight_lines_and_bounce():
  rng = np.random.default_rng(0)
  # Sprites with ink in every corner of the 16x16 block, so the bounding box is the sprite's position.
  images = np.zeros((3, 32, 32, 1), np.uint8)
  images[:, :2, :2] = images[:, -2:, -2:] = images[:, :2, -2:] = images[:, -2:, :2] = 200
  images[:, 8:24, 8:24] = rng.integers(1, 255, (3, 16, 16, 1))
  out = clips.moving_digit_clips(images, seed=3, clips_per_image=20)
  frames = np.concatenate([out["video"], out["target"][:, None]], 1)  # [60, 5, 32, 32, 1]
  assert frames.shape == (60, 5, 32, 32, 1) and np.all(out["source"] == np.repeat(np.arange(3), 20))
  for clip in frames:
    positions = np.array([_box(f) for f in clip])
    ink = [f.astype(int).sum() for f in clip]
    assert len(set(ink)) == 1  # The whole sprite is always on the canvas.
    speeds = range(-clips.MAX_DIGIT_SPEED, clips.MAX_DIGIT_SPEED + 1)
    assert any(np.array_equal(clips.bounce(positions[0] + np.outer(np.arange(5), (vy, vx)), 16), positions)
               for vy in speeds for vx in speeds), positions
    assert not np.array_equal(clip[-1], clip[-2])  # The target always differs from the last context frame.
  centred = out["image"][0, 8:24, 8:24, 0]
  assert np.array_equal(centred, frames[0, 0][tuple(slice(p, p + 16) for p in _box(frames[0, 0]))][..., 0])


def test_camera_pan_over_a_ramp_shifts_every_pixel_equally(monkeypatch):
  """On a linear ramp, bilinear sampling is exact, so a pan without zoom changes every pixel by the same amount."""
  monkeypatch.setattr(clips, "PHOTO_ZOOM", 0.0)
  y, x = np.mgrid[0:160, 0:160].astype(np.float32)
  ramp = np.stack([y / 400 + 0.2, x / 400 + 0.2, (y + x) / 800 + 0.2], -1)
  out = clips.camera_motion_clips([ramp], num_clips=6, seed=0)
  frames = np.concatenate([out["video"], out["target"][:, None]], 1).astype(np.float32)
  steps = np.diff(frames, axis=1)  # [6, 4, 32, 32, 3]
  spread = steps.max(axis=(2, 3)) - steps.min(axis=(2, 3))
  assert spread.max() <= 1.0  # Uniform up to uint8 rounding.
  assert np.abs(steps).mean() > 0.1  # ... and the camera does move.
  # The still is the 2x wide shot centred on the last context frame: its centre holds that frame's mean colour.
  np.testing.assert_allclose(out["image"][:, 12:20, 12:20].mean((1, 2)), out["video"][:, -1].mean((1, 2)), atol=2)


def test_photo_split_holds_out_whole_photos():
  assert not set(photos.TRAIN_PHOTOS) & set(photos.TEST_PHOTOS)
  for split in ("train", "test"):
    for p in photos.split_photos(split, short_side=64):
      assert min(p.shape[:2]) == 64 and p.shape[2] == 3 and p.dtype == np.float32


def _config(**model):
  config = get_config("vgan_digits", smoke=True)
  config.model.update(model)
  return config


def _inputs(config, n=2, seed=0):
  rng = np.random.default_rng(seed)
  video = jnp.asarray(rng.uniform(-1, 1, (n, 4, 32, 32, 1)), jnp.float32)
  image = jnp.asarray(rng.uniform(-1, 1, (n, 32, 32, 1)), jnp.float32)
  return video, image, jnp.asarray(rng.normal(size=vgan._noise_shape(config, n)), jnp.float32)


@pytest.mark.parametrize("fusion,use_video,use_image,modules,absent", [
    ("early", True, True, {"video_encoder"}, {"image_encoder", "fuse_late"}),
    ("late", True, True, {"video_encoder", "image_encoder", "fuse_late"}, set()),
    ("film", True, True, {"video_encoder", "image_encoder", "FiLM_0"}, {"fuse_late"}),
    ("late", False, True, {"image_encoder"}, {"video_encoder", "fuse_late"}),
    ("late", True, False, {"video_encoder"}, {"image_encoder", "fuse_late"}),
])
def test_each_fusion_wires_the_modalities_it_claims(fusion, use_video, use_image, modules, absent):
  config = _config(fusion=fusion, use_video=use_video, use_image=use_image)
  video, image, z = _inputs(config)
  generator = vgan.make_generator(config)
  variables = jax.jit(generator.init)(jax.random.PRNGKey(0), video, image, z)
  names = set(variables["params"])
  assert modules <= names and not absent & names, names
  # Perturb every parameter: FiLM starts as the identity (zero-initialised), which would hide its input.
  # Host noise: a jax.random draw per parameter compiled one program per parameter shape.
  rng = np.random.default_rng(1)
  variables = jax.tree.map(lambda x: x + 0.05 * rng.normal(size=x.shape).astype(np.float32), variables)
  apply = jax.jit(generator.apply)
  frame = apply(variables, video, image, z)
  assert frame.shape == (2, 32, 32, 1) and float(jnp.max(jnp.abs(frame))) <= 1.0
  # The output depends on exactly the modalities in use.
  other_video, other_image, _ = _inputs(config, seed=1)
  assert bool(jnp.any(apply(variables, other_video, image, z) != frame)) == use_video
  assert bool(jnp.any(apply(variables, video, other_image, z) != frame)) == use_image


def test_discriminator_judges_the_frame_with_its_condition():
  config = _config()
  video, image, _ = _inputs(config)
  d = vgan.make_discriminator(config)
  variables = jax.jit(functools.partial(d.init, train=False))(jax.random.PRNGKey(0), image, video, image)
  apply = jax.jit(functools.partial(d.apply, train=False))
  logits = apply(variables, image, video, image)
  assert logits.shape == (2, 8, 8)
  other_video, _, _ = _inputs(config, seed=1)
  assert bool(jnp.any(apply(variables, image, other_video, image) != logits))


def test_training_fits_a_batch_and_moves_every_generator_parameter():
  config = _config()
  config.optim.update(g_lr=1e-3, d_lr=1e-3)
  arrays = clips.moving_digit_clips(np.random.default_rng(0).integers(0, 255, (4, 32, 32, 1), np.uint8), 0, 2)
  batch = {k: arrays[k] for k in ("video", "image", "target")}
  state = init_state(vgan, config)
  init = state.g_params
  step = jax.jit(lambda s, r: vgan.train_step(config, s, batch, r))
  l1 = []
  for i in range(40):
    state, metrics = step(state, jax.random.PRNGKey(i))
    l1.append(float(metrics["l1"]))
  assert np.mean(l1[-5:]) < 0.6 * np.mean(l1[:5]), l1
  moved = jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)), init, state.g_params))
  assert all(moved)
  assert {"d_loss", "g_loss", "g_adv_loss", "l1"} <= set(metrics)


def test_evaluate_scores_the_copy_baseline_exactly():
  config = _config()
  state = init_state(vgan, config)
  scores = vgan.evaluate(config, state, num=20, batch=16)
  target = vgan.eval_clips(config, 20)
  mse = ((target["video"][:, -1].astype(np.float64) - target["target"]) ** 2).mean((1, 2, 3))
  np.testing.assert_allclose(scores["copy_last_psnr"], np.mean(10 * np.log10(255.0 ** 2 / mse)), rtol=1e-4)
  assert scores["num_clips"] == 20 and np.isfinite(scores["psnr"])


def test_cli_samples_next_frames_for_user_clips(smoke_workdir, tmp_path, capsys):
  workdir = smoke_workdir("vgan_digits")
  test = vgan.eval_clips(get_config("vgan_digits"), 3)
  cond = tmp_path / "clips.npz"
  np.savez(cond, video=test["video"], image=test["image"])
  out = tmp_path / "next.npz"
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 3, "--cond", cond, "--out", out)
  assert result.returncode == 0, result.stderr
  with np.load(out) as f:
    assert f["images"].shape == (3, 32, 32, 1) and f["images"].dtype == np.uint8
    assert f["panels"].shape == (3, 6, 32, 32, 1)
  np.savez(cond, video=test["video"][:, :3], image=test["image"])
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 3, "--cond", cond, "--out", out)
  assert result.returncode == 2 and "video condition has shape [3, 3, 32, 32, 1]" in last_line(result.stderr)
  np.savez(cond, video=test["video"])
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 3, "--cond", cond, "--out", out)
  assert result.returncode == 2 and "needs `image`" in last_line(result.stderr)


def test_warp_matches_scipy_bilinear_sampling():
  from scipy.ndimage import map_coordinates

  from mmgen_jax.layers.warp import warp

  rng = np.random.default_rng(0)
  image = rng.random((2, 9, 11, 3)).astype(np.float32)
  flow = (rng.random((2, 9, 11, 2)) * 6 - 3).astype(np.float32)
  y, x = np.meshgrid(np.arange(9), np.arange(11), indexing="ij")
  reference = np.stack([np.stack([map_coordinates(
      image[b, ..., c], [np.clip(y + flow[b, ..., 0], 0, 8), np.clip(x + flow[b, ..., 1], 0, 10)], order=1)
      for c in range(3)], -1) for b in range(2)])
  np.testing.assert_allclose(np.asarray(warp(jnp.asarray(image), jnp.asarray(flow))), reference, atol=1e-5)
  shifted = np.asarray(warp(jnp.asarray(image), jnp.ones((2, 9, 11, 2)) * jnp.array([0.0, 1.0])))
  np.testing.assert_allclose(shifted[:, :, :-1], image[:, :, 1:], atol=1e-6)  # dx = 1: the pixel to the right.


def test_fresh_warp_head_nearly_copies_the_last_frame_and_learns_flow():
  config = _config(output="warp")
  video, image, z = _inputs(config)
  generator = vgan.make_generator(config)
  variables = jax.jit(generator.init)(jax.random.PRNGKey(0), video, image, z)
  frame = jax.jit(generator.apply)(variables, video, image, z)
  # The blend starts at sigmoid(-3) = 0.047: the output is the last frame up to that share of the drawn frame.
  assert float(jnp.max(jnp.abs(frame - video[:, -1]))) < 2 * 0.05 + 1e-6
  grads = jax.jit(jax.grad(lambda p: jnp.sum(generator.apply({"params": p}, video, image, z) ** 2)))(
      variables["params"])
  assert float(jnp.abs(grads["flow_head"]["kernel"]).max()) > 0

