"""Few-shot training: k-per-class subsets, DiffAugment, classic augmentation against scipy, the conditional VAE."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage as ndi

from conftest import init_state
from mmgen_jax.config import get_config
from mmgen_jax.data import open_source, per_class_subset
from mmgen_jax.errors import UserError
from mmgen_jax.layers import augment
from mmgen_jax.models import vae


def test_per_class_subset_takes_k_of_each_class_nested_in_larger_k_and_seeded():
  source = open_source("digits", "train")
  small, large = per_class_subset(source, 5, 3), per_class_subset(source, 20, 3)
  assert np.array_equal(np.bincount(small.arrays["label"]), [5] * 10)
  assert set(small.arrays["id"]) <= set(large.arrays["id"])  # Growing k adds examples, keeps the old ones.
  again, other = per_class_subset(source, 5, 3), per_class_subset(source, 5, 4)
  assert np.array_equal(small.arrays["id"], again.arrays["id"])
  assert not np.array_equal(small.arrays["id"], other.arrays["id"])
  for name, values in small.arrays.items():  # Every feature cut the same way: images still match their ids.
    assert len(values) == 50, name
  full = dict(zip(source.arrays["id"], source.arrays["image"]))
  assert all(np.array_equal(full[i], im) for i, im in zip(small.arrays["id"], small.arrays["image"]))
  assert per_class_subset(source, 0, 3) is source
  with pytest.raises(UserError, match="class .* has only .* examples: set data.per_class to at most"):
    per_class_subset(source, 10_000, 0)


def test_affine_elastic_matches_scipy_for_shifts_rotations_and_scaling():
  image = np.random.default_rng(0).uniform(0, 255, (16, 16)).astype(np.float32)
  no_field = jnp.zeros((2, 16, 16))
  outside = dict(mode="grid-constant", cval=0.0)  # Points outside read `fill`, interpolated with the edge pixels.
  warp = lambda shift, angle, scale: np.asarray(augment.apply_affine_elastic(
      image[..., None], jnp.asarray(shift, jnp.float32), np.deg2rad(angle), scale, no_field, fill=0.0))[..., 0]
  np.testing.assert_array_equal(warp((0, 0), 0.0, 1.0), image)
  np.testing.assert_allclose(warp((2, -3), 0.0, 1.0), ndi.shift(image, (2, -3), order=1, **outside), atol=1e-3)
  np.testing.assert_allclose(warp((0, 0), 20.0, 1.0), ndi.rotate(image, 20.0, reshape=False, order=1, **outside),
                             atol=1e-3)  # Positive angles turn counter-clockwise, as in scipy.
  centre = 7.5
  zoomed = ndi.affine_transform(image, np.eye(2) / 1.25, offset=centre - centre / 1.25, order=1, **outside)
  np.testing.assert_allclose(warp((0, 0), 0.0, 1.25), zoomed, atol=1e-3)


def test_random_affine_elastic_moves_ink_but_keeps_it():
  images = np.zeros((8, 32, 32, 1), np.float32)
  images[:, 12:20, 14:18] = 255.0
  out = np.asarray(augment.random_affine_elastic(jax.random.PRNGKey(0), jnp.asarray(images), fill=0.0))
  assert out.shape == images.shape and out.min() >= 0.0 and out.max() <= 255.01
  assert all(not np.allclose(o, images[0]) for o in out)
  # Without scaling and distortion, shifts and rotations keep a centred stroke's ink (bilinear: to a few percent).
  rigid = np.asarray(augment.random_affine_elastic(jax.random.PRNGKey(1), jnp.asarray(images), scale_range=(1, 1),
                                                   elastic_alpha=0.0, fill=0.0))
  np.testing.assert_allclose(rigid.sum((1, 2, 3)), images.sum((1, 2, 3)), rtol=0.05)


def test_diff_augment_translates_cuts_out_and_passes_gradients():
  x = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, (16, 32, 32, 1)), jnp.float32)
  moved = augment.diff_augment(jax.random.PRNGKey(0), x, ("translation",))
  for a, b in zip(np.asarray(moved), np.asarray(x)):  # Each image is the original shifted by <= 4 px, zero filled.
    matches = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
               if np.array_equal(a, ndi.shift(b, (dy, dx, 0), order=0, cval=0.0))]
    assert len(matches) == 1
  cut = np.asarray(augment.diff_augment(jax.random.PRNGKey(0), x, ("cutout",)))
  holes = cut != np.asarray(x)
  assert np.all(cut[holes] == 0.0)
  assert 0 < holes.sum((1, 2, 3)).max() <= 16 * 16
  grad = jax.grad(lambda v: jnp.sum(augment.diff_augment(jax.random.PRNGKey(2), v, ("color", "translation",
                                                                                       "cutout")) ** 2))(x)
  assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
  with pytest.raises(UserError, match="unknown DiffAugment policy 'flip'"):
    augment.check_diff_augment_policy("translation,flip")


@pytest.fixture(scope="module")
def cvae_setup():
  config = get_config("cvae_digits_fewshot", smoke=True)
  return config, init_state(vae, config).variables(ema=False)


def test_conditional_vae_decodes_per_label_and_returns_the_labels(cvae_setup):
  config, variables = cvae_setup
  labels = np.arange(10, dtype=np.int32)
  out = jax.jit(lambda v: vae.sample(config, v, jax.random.PRNGKey(0), 20, labels=labels))(variables)
  assert out["images"].shape == (20, 32, 32, 1) and np.array_equal(out["labels"], np.arange(20) % 10)
  z = jnp.zeros((2, config.model.latent_dim))
  model = vae.make_model(config)
  a, b = (model.apply(variables, z, jnp.asarray([c, c]), method=vae.VAE.decode) for c in (0, 7))
  assert not np.allclose(a, b)  # Same z, another class: the decoder reads the label.
  with pytest.raises(UserError, match="conditioned on class labels"):
    vae.sample(config, variables, jax.random.PRNGKey(0), 4)
  assert vae.input_features(config) == ("image", "label")
  conditions, references = vae.default_conditions(config, 12)
  assert np.array_equal(conditions["labels"], np.arange(12) % 10) and references == {}


def test_conditional_vae_likelihood_depends_on_the_label(cvae_setup):
  config, variables = cvae_setup
  images = open_source("digits", "test").arrays["image"][:8]
  right = vae.likelihood_metrics(config, variables, images, 4, labels=np.zeros(8, np.int32))["elbo"]
  other = vae.likelihood_metrics(config, variables, images, 4, labels=np.full(8, 5, np.int32))["elbo"]
  assert right != other


def test_unconditional_vae_refuses_labels():
  config = get_config("vae_digits", smoke=True)
  with pytest.raises(UserError, match="unconditional: drop --labels"):
    vae._labels_of(config, np.zeros(2, np.int32), 2)
