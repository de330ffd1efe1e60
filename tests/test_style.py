"""Style transfer: AdaIN statistics, the sampler's controls (strength, blends, masks, colour, any size), the
independent style distance."""
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import init_state
from mmgen_jax.config import get_config
from mmgen_jax.errors import UserError
from mmgen_jax.layers.style_stats import adain, mean_std
from mmgen_jax.metrics.style_distance import style_distances
from mmgen_jax.models import style


def test_adain_gives_the_content_the_style_statistics_and_keeps_its_pattern():
  rng = np.random.default_rng(0)
  content = jnp.asarray(rng.normal(2.0, 3.0, (2, 8, 8, 4)), jnp.float32)
  target = jnp.asarray(rng.normal(-1.0, 0.5, (2, 5, 7, 4)), jnp.float32)  # Another size: statistics only.
  out = adain(content, target)
  for got, want in zip(mean_std(out), mean_std(target)):
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
  # A per-channel affine map of the content: its normalised pattern is unchanged.
  normalise = lambda x: (x - mean_std(x)[0]) / mean_std(x)[1]
  np.testing.assert_allclose(normalise(out), normalise(content), atol=1e-3)


def test_match_colour_gives_the_reference_colour_moments_and_keeps_grey_grey():
  from mmgen_jax.layers.style_stats import gram, match_colour
  rng = np.random.default_rng(3)
  images = jnp.asarray(rng.random((2, 16, 16, 3)), jnp.float32)
  references = jnp.asarray(rng.random((2, 8, 12, 3)) @ rng.random((3, 3)), jnp.float32)  # Correlated channels.
  out = match_colour(images, references)
  centred = lambda x: x - jnp.mean(x, (1, 2), keepdims=True)
  np.testing.assert_allclose(jnp.mean(out, (1, 2)), jnp.mean(references, (1, 2)), atol=1e-5)
  np.testing.assert_allclose(gram(centred(out)), gram(centred(references)), atol=1e-3)
  grey = jnp.repeat(references[..., :1], 3, -1)
  out = match_colour(images, grey)
  assert float(jnp.max(jnp.abs(out[..., 0] - out[..., 1]))) < 2e-3  # A grey style gives a grey result.


@pytest.fixture(scope="module")
def style_model():
  config = get_config("style_photos", smoke=True)
  config.model.loss_network = "random"  # No training: a fixed seed.
  variables = init_state(style, config).variables(ema=False)
  sample = jax.jit(lambda v, **c: style.sample(config, v, None, 2, **c))
  rng = np.random.default_rng(1)
  content = rng.integers(0, 256, (2, 24, 32, 3)).astype(np.uint8)  # Not the training size: fully convolutional.
  styles = rng.integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
  return config, variables, sample, content, styles


def test_mask_keeps_the_content_outside_and_alpha_zero_differs_from_full_style(style_model):
  config, variables, sample, content, styles = style_model
  mask = np.zeros((2, 24, 32, 1), np.uint8)
  mask[:, :, 16:] = 255
  out = np.asarray(sample(variables, image=content, style=styles, mask=mask)["images"])
  np.testing.assert_array_equal(out[:, :, :16], content[:, :, :16])
  full = np.asarray(sample(variables, image=content, style=styles)["images"])
  np.testing.assert_array_equal(out[:, :, 16:], full[:, :, 16:])
  none = np.asarray(sample(variables, image=content, style=styles, alpha=np.float32(0.0))["images"])
  half = np.asarray(sample(variables, image=content, style=styles, alpha=np.float32(0.5))["images"])
  assert not np.array_equal(none, full)
  assert np.abs(half.astype(int) - none).mean() < np.abs(full.astype(int) - none).mean()


def test_style_weights_blend_and_a_one_hot_blend_is_that_style(style_model):
  config, variables, sample, content, styles = style_model
  first = np.asarray(sample(variables, image=content, style=styles[:1])["images"])
  one_hot = np.asarray(sample(variables, image=content, style=styles, style_weights=np.float32([1, 0]))["images"])
  np.testing.assert_allclose(one_hot.astype(int), first.astype(int), atol=1)
  mixed = np.asarray(sample(variables, image=content, style=styles, style_weights=np.float32([1, 1]))["images"])
  assert not np.array_equal(mixed, first)


def test_preserve_color_keeps_the_content_chroma(style_model):
  config, variables, sample, content, styles = style_model
  out = np.asarray(sample(variables, image=content, style=styles, preserve_color=np.float32(1))["images"])
  chroma = lambda x: np.asarray(style.to_yiq(x.astype(np.float32) / 255.0))[..., 1:]
  inside = np.all((out > 2) & (out < 253), -1)  # Where the result was not clipped.
  np.testing.assert_allclose(chroma(out)[inside], chroma(content)[inside], atol=0.02)


def test_sizes_that_are_not_multiples_of_8_are_one_clear_error(style_model):
  config, variables, _, content, styles = style_model
  with pytest.raises(UserError, match="multiple of 8"):
    style.sample(config, variables, None, 1, image=content[:, :20], style=styles)
  with pytest.raises(UserError, match="needs a content `image` \\(or `video`\\) and a `style`"):
    style.sample(config, variables, None, 1, image=content)


def test_style_distance_is_zero_for_itself_and_ranks_textures():
  from skimage import data
  grey = lambda im: np.repeat(im[..., None], 3, -1)
  brick, grass = grey(data.brick()), grey(data.grass())
  a, b, other = brick[:128, :128], brick[256:384, 256:384], grass[:128, :128]
  d = {k: np.asarray(v) for k, v in style_distances(np.stack([a, a]), np.stack([a, b])).items()}
  assert d["style_distance"][0] < 1e-6
  far = np.asarray(style_distances(a[None], other[None])["texture"])[0]
  assert d["texture"][1] < far  # Two crops of one texture are closer than two textures.


def test_shipped_loss_network_loads_with_the_feature_net_layout():
  import flax

  from mmgen_jax.metrics import loss_network
  for recipe in ("patches", "autoencoder"):  # Shipped: nothing trains here (a recipe trains for ~9 min).
    assert os.path.exists(loss_network.shipped_path(recipe) + ".npz")
  params = loss_network.load("patches", progress=False)
  maps = loss_network.FeatureNet().apply({"params": params}, jnp.zeros((1, 16, 24, 3)))
  assert [m.shape for m in maps] == [(1, 16, 24, 16), (1, 8, 12, 32), (1, 4, 6, 64), (1, 2, 3, 128)]
  random = loss_network.load("random")
  assert not np.allclose(flax.traverse_util.flatten_dict(params)[("conv4", "kernel")],
                         flax.traverse_util.flatten_dict(random)[("conv4", "kernel")])
  with pytest.raises(UserError, match="unknown loss network 'vgg'"):
    loss_network.load("vgg")


def test_style_splits_share_no_image_and_test_contents_are_held_out():
  from mmgen_jax.data import photos, styles
  assert not set(styles.TRAIN_STYLES) & set(styles.TEST_STYLES)
  assert not set(photos.TEST_PHOTOS) & set(styles.TRAIN_STYLES)  # Test photos are never a training style.


def test_camera_flow_aligns_consecutive_frames_of_a_clip():
  from scipy.ndimage import gaussian_filter

  from mmgen_jax.data import clips
  from mmgen_jax.layers.warp import warp
  texture = gaussian_filter(np.random.default_rng(0).random((160, 160, 3)), (2, 2, 0)).astype(np.float32)
  texture = (texture - texture.min()) / (texture.max() - texture.min())  # Detail everywhere: motion shows.
  made = clips.camera_motion_clips([texture], 4, seed=3, context=2, size=32)
  video = np.concatenate([made["video"], made["target"][:, None]], 1).astype(np.float32)
  camera = np.stack([made["camera"][:, :-1], made["camera"][:, 1:]], 2).reshape(-1, 2, 3)
  flow = clips.camera_flow(camera, 32)
  previous, current = video[:, :-1].reshape(-1, 32, 32, 3), video[:, 1:].reshape(-1, 32, 32, 3)
  inner = (slice(None), slice(4, -4), slice(4, -4))  # Away from what came into view.
  aligned = np.abs(np.asarray(warp(jnp.asarray(previous), flow)) - current)[inner].mean()
  assert aligned < 0.25 * np.abs(previous - current)[inner].mean()  # Bilinear resampling leaves a little.
  # A frame and its 1-pixel shift: no error with the matching flow (the column that came into view, which a
  # roll fills with the other edge, is left out), a large one without it.
  frame = jnp.asarray(current[:1])
  shifted = jnp.roll(frame, -1, axis=2)  # shifted[x] = frame[x + 1]
  flow_x = jnp.zeros((1, 32, 32, 2)).at[..., 1].set(1.0)
  assert float(style.warping_error(frame, shifted, flow_x)[0]) < 1e-5
  assert float(style.warping_error(frame, shifted, jnp.zeros((1, 32, 32, 2)))[0]) > 0.05


def test_clips_are_stylised_frame_by_frame_with_their_own_style(style_model):
  config, variables, sample, content, styles = style_model
  video = np.stack([content, content[::-1]], 1)  # [2 clips, 2 frames, 24, 32, 3]
  # Jitted: op by op, the sampler dispatches (and lowers) each of its operations as its own program.
  sample_n = jax.jit(functools.partial(style.sample, config), static_argnums=2)
  out = sample_n(variables, None, 2, video=video, style=styles, alpha=np.float32([1.0, 0.5]))
  assert out["video"].shape == video.shape
  frame = sample_n(variables, None, 1, image=video[1, 0], style=styles[1], alpha=np.float32(0.5))
  np.testing.assert_array_equal(np.asarray(out["video"][1, 0]), np.asarray(frame["images"][0]))
  with pytest.raises(UserError, match="`image` or `video`"):
    style.sample(config, variables, None, 2, video=video, image=content, style=styles)


def test_temporal_term_trains_on_consecutive_frames_and_is_reported():
  config = get_config("style_videos", smoke=True)
  config.model.loss_network = "random"
  state = init_state(style, config)
  rng = np.random.default_rng(2)
  batch = {"video": rng.integers(0, 256, (2, 4, 64, 64, 3)).astype(np.uint8),
           "camera": np.tile(np.float32([[100, 100, 1.0], [101, 99, 1.0], [102, 98, 1.0], [103, 97, 1.0]]), (2, 1, 1)),
           "style": rng.integers(0, 256, (2, 64, 64, 3)).astype(np.uint8)}
  assert style.input_features(config) == ("video", "camera", "style")
  _, metrics = jax.jit(lambda s, b, r: style.train_step(config, s, b, r))(state, batch, jax.random.PRNGKey(0))
  assert set(metrics) == {"loss", "content_loss", "style_loss", "colour_loss", "temporal_loss"}
  assert float(metrics["temporal_loss"]) > 0
  np.testing.assert_allclose(float(metrics["loss"]), float(metrics["content_loss"]) + config.loss.style_weight * float(
      metrics["style_loss"]) + config.loss.colour_weight * float(metrics["colour_loss"])
      + config.loss.temporal_weight * float(metrics["temporal_loss"]), rtol=1e-4)


def test_stylised_clips_export_as_gifs_with_every_frame(style_model, tmp_path):
  from PIL import Image

  from mmgen_jax.export import export_samples
  config, variables, _, content, styles = style_model
  video = np.stack([content, content[::-1], content], 1)  # [2 clips, 3 frames, 24, 32, 3]
  out = {k: np.asarray(v) for k, v in jax.jit(functools.partial(style.sample, config), static_argnums=2)(
      variables, None, 2, video=video, style=styles).items()}
  assert export_samples(out, str(tmp_path / "clips"), progress=False) == {None: 2}
  with Image.open(tmp_path / "clips" / "000001.gif") as gif:
    assert gif.n_frames == 3 and gif.size == (32, 24)
    gif.seek(2)
    np.testing.assert_allclose(np.asarray(gif.convert("RGB"), float).mean(), out["video"][1, 2].mean(), atol=8)
