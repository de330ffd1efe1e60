"""The FID Inception architecture with random weights: parameter counts, shapes, jit; the converter; the error."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mmgen_jax.errors import UserError
from mmgen_jax.metrics import inception
from mmgen_jax.metrics.inception_convert import convert_state_dict


def _flat(tree):
  return {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_leaves_with_path(tree)}


def test_parameter_counts_match_keras_inception_v3():
  """Keras' InceptionV3 (same convolutions; its BN has no scale) reports 21,802,784 params without the top:
  21,751,136 conv weights + 17,216 BN betas + 2 x 17,216 moving statistics."""
  flat = {jax.tree_util.keystr(k): v for k, v in
          jax.tree_util.tree_leaves_with_path(jax.eval_shape(inception.init_variables))}
  conv = sum(np.prod(v.shape) for k, v in flat.items() if k.endswith("['kernel']") and "'fc'" not in k)
  bn_channels = sum(np.prod(v.shape) for k, v in flat.items() if k.endswith("['mean']"))
  assert conv == 21_751_136 and bn_channels == 17_216
  assert flat["['params']['fc']['kernel']"].shape == (2048, 1008)


@pytest.fixture(scope="module")
def variables():
  """Variables of the real structure with every leaf distinct and random (so a swapped name in the converter shows),
  filled without compiling the 22M-parameter initialiser: He-scaled kernels, variances in [1, 2)."""
  rng = np.random.default_rng(2)

  def fill(path, leaf):
    name, shape = jax.tree_util.keystr(path), leaf.shape
    if name.endswith("['kernel']"):
      return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[:-1]))).astype(np.float32)
    if name.endswith("['var']"):
      return (1.0 + rng.random(shape)).astype(np.float32)
    return (0.1 * rng.standard_normal(shape)).astype(np.float32)

  return jax.tree_util.tree_map_with_path(fill, jax.eval_shape(inception.init_variables))


def test_jitted_forward_shapes_on_small_images(variables):
  images = jax.random.uniform(jax.random.PRNGKey(1), (2, 32, 32, 3))
  features, logits = jax.jit(inception.FIDInceptionV3().apply)(variables, images)
  assert features.shape == (2, 2048) and logits.shape == (2, 1008)
  assert bool(jnp.all(jnp.isfinite(features))) and bool(jnp.all(features >= 0))  # Mean of ReLU outputs.


def test_converter_maps_pytorch_fid_names_and_layouts(tmp_path, variables):
  ours = _flat(variables)
  # Build the state dict pytorch-fid would have for these values (torch layouts and names).
  torch_like = {}
  for key, value in ours.items():
    collection, *path, leaf = key[2:-2].split("']['")
    if leaf == "kernel" and path[-1] == "conv":
      torch_like[".".join(path[:-1] + ["conv", "weight"])] = value.transpose(3, 2, 0, 1)
    elif path == ["fc"]:
      torch_like["fc." + {"kernel": "weight", "bias": "bias"}[leaf]] = value.T if leaf == "kernel" else value
    else:
      name = {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}[leaf]
      torch_like[".".join(path + [name])] = value
  torch_like["Mixed_5b.branch1x1.bn.num_batches_tracked"] = np.array(0)
  converted = convert_state_dict(torch_like)
  assert converted.keys() == ours.keys()
  for k in ours:
    np.testing.assert_array_equal(converted[k], ours[k], err_msg=k)
  np.savez(tmp_path / "w.npz", **converted)
  loaded = _flat(inception.load_fid_inception(str(tmp_path / "w.npz")))
  np.testing.assert_array_equal(loaded["['params']['fc']['kernel']"], ours["['params']['fc']['kernel']"])


def test_missing_weights_error_names_the_file_and_the_conversion(tmp_path):
  with pytest.raises(UserError, match=r"pt_inception-2015-12-05-6726825d.pth.*inception_convert"):
    inception.load_fid_inception(str(tmp_path / "nope.npz"))
