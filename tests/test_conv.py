"""layers/conv.py: the drop-in Conv whose weight gradient is computed tap by tap on the CPU."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mmgen_jax.layers import conv as conv_lib
from mmgen_jax.layers.conv import Conv, weight_grad_taps


def _grads(module, x):
  variables = module.init(jax.random.PRNGKey(0), x)
  loss = lambda v, x: jnp.sum(jnp.sin(module.apply(v, x)))  # noqa: E731: a nonlinear loss: the output gradient varies.
  grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
  return variables, grad(variables, x), grad.lower(variables, x).compile().as_text()


@pytest.mark.parametrize("features, strides, padding, batch, size", [
    (16, (1, 1), "SAME", 64, 32),           # 64 images x 32x32 outputs: the taps path
    (8, (2, 2), ((1, 2), (0, 1)), 64, 64),  # strided, uneven explicit padding, 32x32 outputs: taps
    (3, (1, 1), "SAME", 64, 32),            # RGB output: XLA's gradient
    (16, (1, 1), "SAME", 16, 32),           # 16 images x 32x32: XLA's gradient
    (64, (1, 1), "SAME", 160, 2),           # a 2x2 map: one matmul, forward and backward
    (3, (1, 1), ((0, 0), (1, 0)), 8, 3),    # 1x2 outputs from 3x3 by uneven padding: one matmul
    (16, (2, 2), "SAME", 16, 4),            # 2x2 outputs, strided: XLA's
])
def test_conv_matches_nn_conv_parameters_outputs_and_gradients(features, strides, padding, batch, size):
  x = jax.random.normal(jax.random.PRNGKey(1), (batch, size, size, 5))
  ours, ref = Conv(features, (3, 3), strides, padding), nn.Conv(features, (3, 3), strides, padding)
  (v, (gv, gx), hlo), (v_ref, (gv_ref, gx_ref), hlo_ref) = _grads(ours, x), _grads(ref, x)
  # Same parameter names, shapes and initial values: checkpoints of either load into the other.
  jax.tree.map(np.testing.assert_array_equal, v, v_ref)
  close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())  # noqa: E731
  positions = np.prod(ref.apply(v_ref, x).shape[1:3])
  matmul = positions <= conv_lib.MAX_MATMUL_POSITIONS and strides == (1, 1)
  if matmul:  # Another order of the same float32 products.
    close(ours.apply(v, x), ref.apply(v_ref, x))
  else:
    np.testing.assert_array_equal(ours.apply(v, x), ref.apply(v_ref, x))
  jax.tree.map(close, (gv, gx), (gv_ref, gx_ref))  # Sums of 65,536 products: float32 order differences only.
  taps = features >= conv_lib.MIN_TAPS_CHANNELS and batch * positions >= conv_lib.MIN_TAPS_ROWS
  # The reference differentiates the kernel with a third convolution; the taps path with matrix products instead;
  # the matmul path has none.
  assert hlo_ref.count("convolution(") == 3
  assert hlo.count("convolution(") == (0 if matmul else 2 if taps else 3)


def test_weight_grad_taps_equals_xla_weight_gradient():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((2, 33, 30, 4)), jnp.float32)
  w = jnp.asarray(rng.standard_normal((4, 3, 4, 6)), jnp.float32)
  padding, strides = ((2, 1), (0, 3)), (2, 3)
  conv = lambda w: jax.lax.conv_general_dilated(x, w, strides, padding,  # noqa: E731
                                                dimension_numbers=("NHWC", "HWIO", "NHWC"))
  y, vjp = jax.vjp(conv, w)
  g = jnp.asarray(rng.standard_normal(y.shape), jnp.float32)
  np.testing.assert_allclose(weight_grad_taps(x, g, (4, 3), strides, padding), vjp(g)[0], rtol=1e-4, atol=1e-4)


def test_bfloat16_compute_keeps_float32_kernel_gradient():
  x = jax.random.normal(jax.random.PRNGKey(1), (64, 32, 32, 8))
  module = Conv(16, (3, 3), dtype=jnp.bfloat16)
  v, (gv, _), hlo = _grads(module, x)
  assert gv["params"]["kernel"].dtype == jnp.float32 and hlo.count("convolution(") == 2
  _, (gv_ref, _), _ = _grads(nn.Conv(16, (3, 3), dtype=jnp.bfloat16), x)
  rel = jnp.linalg.norm(gv["params"]["kernel"] - gv_ref["params"]["kernel"]) / jnp.linalg.norm(gv_ref["params"]["kernel"])
  assert rel < 2e-2  # bf16 rounding on both sides, not a different gradient.


def test_dilated_and_grouped_convolutions_fall_back_to_xla():
  x = jax.random.normal(jax.random.PRNGKey(1), (64, 36, 36, 8))
  for module in (Conv(16, (3, 3), kernel_dilation=(2, 2)), Conv(16, (3, 3), feature_group_count=2)):
    ref = nn.Conv(16, (3, 3), kernel_dilation=module.kernel_dilation, feature_group_count=module.feature_group_count)
    _, grads, hlo = _grads(module, x)
    _, grads_ref, _ = _grads(ref, x)
    jax.tree.map(np.testing.assert_array_equal, grads, grads_ref)
    assert hlo.count("convolution(") == 3
