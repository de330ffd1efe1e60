"""Photos/faces data, inpainting masks, the U-Net, pix2pix and inpainting families."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import init_state, last_line, run_main
from mmgen_jax.config import get_config
from mmgen_jax.data import faces, masks, photos
from mmgen_jax.errors import UserError
from mmgen_jax.models import inpaint, pix2pix


@pytest.mark.parametrize("kind", masks.KINDS)
def test_random_masks_cover_ten_to_fifty_percent(kind):
  m = np.asarray(jax.jit(lambda k: masks.random_masks(k, 256, 64, 48, kind))(jax.random.PRNGKey(0)))
  assert m.shape == (256, 64, 48, 1) and set(np.unique(m)) <= {0.0, 1.0}
  cover = m.mean((1, 2, 3))
  assert cover.min() >= 0.1 and cover.max() <= 0.5, (cover.min(), cover.max())
  assert cover.std() > 0.05  # Spread over the range, not one size.
  other = np.asarray(masks.random_masks(jax.random.PRNGKey(1), 256, 64, 48, kind))
  assert np.mean(np.any(other != m, axis=(1, 2, 3))) > 0.95


def test_masks_take_their_random_numbers_from_one_draw():
  # Each key split and draw becomes threefry kernels in the train step; separate ones cost the inpainting steps
  # 3-5 s of compile on a 2-core CPU (benchmarks/compile_breakdown.py).
  jaxpr = str(jax.make_jaxpr(lambda k: masks.random_masks(k, 8, 32, 32, "mixed"))(jax.random.PRNGKey(0)))
  assert jaxpr.count("random_bits") == 1 and "random_split" not in jaxpr and "random_fold_in" not in jaxpr


def test_rectangle_masks_are_one_rectangle():
  m = np.asarray(masks.random_masks(jax.random.PRNGKey(3), 32, 32, 32, "rectangles"))[..., 0]
  for mask in m:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    assert mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()  # Its bounding box is full.
    assert mask.sum() == len(rows) * len(cols)


def test_folder_masks_are_drawn_from_the_folder(tmp_path):
  from PIL import Image

  bank = np.zeros((3, 16, 16), np.uint8)
  bank[0, :8], bank[1, :, :4], bank[2, 4:12, 4:12] = 255, 255, 255
  for i, m in enumerate(bank):
    Image.fromarray(m).save(tmp_path / f"m{i}.png")
  drawn = np.asarray(masks.mask_sampler(f"folder:{tmp_path}", 16, 16)(jax.random.PRNGKey(0), 30))[..., 0]
  expected = {(b > 127).astype(np.float32).tobytes() for b in bank}
  assert {d.tobytes() for d in drawn} == expected
  with pytest.raises(UserError, match="data.masks"):
    masks.mask_sampler("blobs", 16, 16)


def test_photo_patches_split_by_photo():
  train, test = photos.photo_patches_arrays("train"), photos.photo_patches_arrays("test")
  assert train["image"].shape[1:] == test["image"].shape[1:] == (64, 64, 3)
  assert set(np.unique(train["source"])) == set(range(len(photos.TRAIN_PHOTOS)))
  assert set(np.unique(test["source"])) == set(range(len(photos.TEST_PHOTOS)))
  assert not set(photos.TRAIN_PHOTOS) & set(photos.TEST_PHOTOS)
  # A patch is a window of its photo: the first one is the photo's top-left corner.
  first = np.round(photos.split_photos("test", photos.PATCH_SHORT_SIDE)[0][:64, :64] * 255)
  np.testing.assert_array_equal(test["image"][0], first.astype(np.uint8))


def test_faces_are_real_lfw_faces_split_by_index():
  train, test = faces.faces_arrays("train"), faces.faces_arrays("test")
  assert train["image"].shape == (80, 32, 32, 1) and test["image"].shape == (20, 32, 32, 1)
  assert not set(train["id"]) & set(test["id"])
  assert train["image"].std() > 20  # Real images, not blank.


def test_translation_inputs_match_scikit_image():
  from skimage.color import rgb2gray
  from skimage.filters import sobel

  image = photos.photo_patches_arrays("test")["image"][:4]
  x = image.astype(np.float32) / 127.5 - 1.0
  gray = (np.asarray(pix2pix.translation_input("gray", x)) + 1) / 2
  np.testing.assert_allclose(gray[..., 0], rgb2gray(image / 255.0), atol=1e-5)
  edges = (np.asarray(pix2pix.translation_input("edges", x)) + 1) / 2
  reference = np.clip(np.stack([sobel(rgb2gray(im / 255.0)) for im in image]) * pix2pix.EDGE_GAIN, 0, 1)
  np.testing.assert_allclose(edges[..., 0], reference, atol=1e-4)


def test_masked_psnr_matches_scikit_image_on_the_hole():
  from skimage.metrics import peak_signal_noise_ratio

  from mmgen_jax.metrics.image import masked_psnr

  rng = np.random.default_rng(0)
  a, b = rng.integers(0, 256, (2, 3, 16, 16, 3)).astype(np.uint8)
  m = np.asarray(masks.random_masks(jax.random.PRNGKey(0), 3, 16, 16, "rectangles"))
  got = np.asarray(masked_psnr(a, b, m, max_val=255.0))
  for i in range(3):
    hole = m[i, ..., 0] > 0
    np.testing.assert_allclose(got[i], peak_signal_noise_ratio(a[i][hole], b[i][hole], data_range=255), rtol=1e-5)


def test_biharmonic_fill_matches_scikit_image_and_keeps_known_pixels():
  from skimage.restoration import inpaint_biharmonic

  from mmgen_jax.layers.fill import biharmonic_fill, pyramid_fill
  from mmgen_jax.metrics.image import masked_psnr

  images = photos.photo_patches_arrays("test")["image"][::20]  # 8 held-out patches from both photos.
  m = np.asarray(masks.random_masks(jax.random.PRNGKey(2), len(images), 64, 64, "mixed"))
  x, known = images / 255.0, 1.0 - m
  x32, known = jnp.asarray(x, jnp.float32), jnp.asarray(known)
  reference = np.stack([inpaint_biharmonic(im, hole[..., 0] > 0, channel_axis=-1) for im, hole in zip(x, m)])
  # Run to convergence it is scikit-image's surface (to well under a uint8 level; the image border's boundary
  # condition differs slightly, so holes touching it agree to ~38 dB, interior ones to > 100 dB). Compiled with
  # LLVM's optimisations: 1,500 CG steps of unoptimised code (the suite's setting) ran 18 s instead of 1.5 s.
  solve = jax.jit(lambda a, k: biharmonic_fill(a, k, 1500), compiler_options={"xla_backend_optimization_level": 2})
  solved = np.asarray(solve(x32, known))
  agree = np.asarray(masked_psnr(solved, reference, m, max_val=1.0))
  assert agree.min() > 35.0 and np.median(agree) > 60.0, agree
  # The default 150 steps stop short of that surface on wide holes, but are far closer to it than their push-pull
  # start (by well over the 5 dB asserted on every mask draw tried).
  ours = np.asarray(jax.jit(biharmonic_fill)(x32, known))
  start = np.asarray(jax.jit(pyramid_fill)(x32, known))
  np.testing.assert_array_equal(ours[known[..., 0] > 0], x32[known[..., 0] > 0])
  to_surface = lambda fill: np.median(np.asarray(masked_psnr(fill, reference, m, max_val=1.0)))
  assert to_surface(ours) > to_surface(start) + 5.0, (to_surface(ours), to_surface(start))
  score = lambda fill: float(np.mean(masked_psnr(fill, x, m, max_val=1.0)))
  assert score(start) < score(reference) - 0.5  # The converged surface beats the start against the truth.


def test_unknown_fill_is_one_error_line():
  config = get_config("inpaint_photos", smoke=True)
  config.model.fill = "telea"
  with pytest.raises(UserError, match="model.fill='telea'.*push_pull"):
    inpaint.make_generator(config)


def _smoke(name):
  config = get_config(name, smoke=True)
  return config, jax.random.PRNGKey(0)


def test_inpainting_keeps_known_pixels_bit_for_bit_and_ignores_hidden_ones():
  config, key = _smoke("inpaint_photos")
  state = init_state(inpaint, config, key=key)
  variables = state.ema_variables()
  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (3, 48, 64, 3)).astype(np.uint8)
  mask = np.asarray(masks.random_masks(key, 3, 48, 64, "mixed"), np.uint8)
  sample = jax.jit(lambda v, image, mask: inpaint.sample(config, v, key, 3, image=image, mask=mask))  # Not op by op.
  out = sample(variables, image, mask)
  known = np.broadcast_to(mask == 0, image.shape)
  np.testing.assert_array_equal(np.asarray(out["images"])[known], image[known])
  assert np.any(np.asarray(out["images"])[~known] != image[~known])
  # What lies under the holes cannot leak into the fill: the generator sees the holes zeroed.
  changed = np.where(mask > 0, 255 - image, image).astype(np.uint8)
  again = sample(variables, changed, mask)
  np.testing.assert_array_equal(np.asarray(again["images"])[~known], np.asarray(out["images"])[~known])


@pytest.mark.parametrize("name", ["gray2color_photos", "inpaint_photos"])
def test_training_fits_a_batch_and_moves_every_generator_parameter(name):
  config, key = _smoke(name)
  config.optim.update(g_lr=1e-3, d_lr=1e-3)
  family = pix2pix if config.family == "pix2pix" else inpaint
  batch = {"image": photos.photo_patches_arrays("train")["image"][::300][:4]}
  state = init_state(family, config, key=key)
  init = state.g_params
  step = jax.jit(lambda s, r: family.train_step(config, s, batch, r))
  metric = "l1" if family is pix2pix else "l1_hole"
  losses = []
  for _ in range(40):  # One key: the same masks and flips every step, so the batch can be fitted.
    state, metrics = step(state, jax.random.PRNGKey(0))
    losses.append(float(metrics[metric]))
  if family is pix2pix:  # Inpainting starts at the push-pull guess: 40 steps do not move its hole loss reliably.
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5]), losses
  assert np.all(np.isfinite(losses))
  assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)), init, state.g_params)))


def test_evaluate_reports_the_grey_baseline_exactly():
  config, key = _smoke("gray2color_photos")
  state = init_state(pix2pix, config, key=key)
  scores = pix2pix.evaluate(config, state, num=10, batch=8)
  from skimage.color import rgb2gray
  from skimage.metrics import peak_signal_noise_ratio

  images = photos.photo_patches_arrays("test")["image"][:10]
  grey = np.round(np.clip(rgb2gray(images / 255.0), 0, 1) * 255).astype(np.uint8)
  reference = np.mean([peak_signal_noise_ratio(im, np.repeat(g[..., None], 3, -1), data_range=255)
                       for im, g in zip(images, grey)])
  np.testing.assert_allclose(scores["input_copy_psnr"], reference, atol=0.05)
  assert scores["num_images"] == 10 and np.isfinite(scores["psnr"])


def test_cli_inpaints_user_images_of_another_size(smoke_workdir, tmp_path, capsys):
  workdir = smoke_workdir("inpaint_photos")
  image = np.random.default_rng(0).integers(0, 256, (2, 96, 128, 3)).astype(np.uint8)
  mask = np.zeros((2, 96, 128, 1), np.uint8)
  mask[:, 20:60, 30:90] = 1
  cond, out = tmp_path / "holes.npz", tmp_path / "filled.npz"
  np.savez(cond, image=image, mask=mask)
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out)
  assert result.returncode == 0, result.stderr
  with np.load(out) as f:
    assert f["images"].shape == (2, 96, 128, 3) and f["images"].dtype == np.uint8
    np.testing.assert_array_equal(f["images"][:, :20], image[:, :20])
  np.savez(cond, image=image, mask=mask[:, :64])
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out)
  assert result.returncode == 2 and "mask condition has shape [2, 64, 128, 1]" in last_line(result.stderr)


def test_cli_translates_photos_and_edge_maps_of_another_size(smoke_workdir, tmp_path, capsys):
  workdir = smoke_workdir("edges2photo")
  image = np.random.default_rng(0).integers(0, 256, (2, 96, 128, 3)).astype(np.uint8)
  cond, out = tmp_path / "in.npz", tmp_path / "out.npz"
  np.savez(cond, image=image)
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out)
  assert result.returncode == 0, result.stderr
  with np.load(out) as f:
    assert f["images"].shape == (2, 96, 128, 3) and f["source"].shape == (2, 96, 128, 1)
    assert f["panels"].shape == (2, 3, 96, 128, 3)
  np.savez(cond, source=image[..., :1])
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out)
  assert result.returncode == 0, result.stderr
  np.savez(cond, source=image[:, :95, :, :1])
  result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", cond, "--out", out)
  assert result.returncode == 2 and "a multiple of 2" in last_line(result.stderr)
