"""A drop-in `nn.Conv` whose weight gradient is fast on XLA:CPU.

XLA differentiates a convolution's kernel as another convolution whose window is the output's spatial size (32x32
for a 32x32 feature map). XLA:CPU's convolution is slow with such windows: DCGAN-64's 32x32 layer (32 images, 32 ->
64 channels) takes 280-470 ms for its weight gradient on this project's CPU, against ~20 ms in PyTorch. Written as
one matmul per kernel tap (`weight_grad_taps`: the input shifted by the tap, contracted with the output gradient over
batch and positions) the same gradient takes ~60-70 ms (`python benchmarks/conv_gradients.py`). The taps form is
used where XLA's falls off that cliff, large windows over many images (MIN_TAPS_ROWS below, with MIN_TAPS_CHANNELS
output channels); elsewhere XLA's own is kept, because smaller layers' per-layer gains did not survive in whole
training steps (measured below).

Convolutions over the tiniest maps (at most MAX_MATMUL_POSITIONS output positions an image, a decoder's 2x2 start)
fall off another XLA:CPU cliff, forward and backward: there the convolution is computed as one matmul of the
stacked taps (`conv_as_matmul`; 160 images of 2x2x64 -> 256 channels: 44 ms for XLA's forward and backward against
4 ms, `python benchmarks/conv_gradients.py --tiny`; any2any's whole step 372 -> 342 ms, `benchmarks/README.md`).

Only the CPU lowering uses the taps and matmul forms (`lax.platform_dependent`): on GPUs and TPUs the convolution
and its gradients are XLA's, as with `nn.Conv`. Outside the tiniest maps, the forward pass and the input gradient
are always XLA's. Parameters are named and initialised exactly as `nn.Conv`'s, so checkpoints do not change.
"""
import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

# Measured on a 2-core AVX2 CPU. Per layer (benchmarks/conv_gradients.py) the taps win or tie for most shapes with
# 8+ output channels (1-channel outputs: 1.4-3x slower), but inside whole training steps only the cliff's cases
# gained: DCGAN-64 (64 images x 32x32 positions per layer) 1,522 -> 1,188 ms a step, while gray2color_photos
# (8 x 64x64) went 187 -> 257 ms and DCGAN-32 (64 x 16x16) 190 -> 240 ms. So the taps are used from
# MIN_TAPS_ROWS rows (images x output positions of the traced, whole-batch convolution) up.
MIN_TAPS_CHANNELS = 8
MIN_TAPS_ROWS = 64 * 32 * 32
# Forward + backward at 2x2, 64 -> 256 channels, 160 images: XLA:CPU 43.8 ms, the matmul form 3.9 ms; at 4x4 18.0
# against 13.6 ms and at 8x8 145 against 114 (`benchmarks/conv_gradients.py --tiny`). Only the cliff is taken: the
# gains at 4x4 and up are per layer and untried in whole steps, where the taps' per-layer gains once vanished.
MAX_MATMUL_POSITIONS = 4
_DIMS = ("NHWC", "HWIO", "NHWC")


def tap_windows(x, kernel_size, strides, padding, out_size):
  """What each kernel tap sees: [kh * kw] arrays [N, Ho, Wo, Cin], taps in row-major order, for the 2-D convolution
  of x [N, H, W, Cin] with that kernel size, strides (sh, sw), padding ((top, bottom), (left, right)) and output
  size (Ho, Wo)."""
  (kh, kw), (sh, sw), (ho, wo) = kernel_size, strides, out_size
  xp = jnp.pad(x, ((0, 0), *padding, (0, 0)))
  n, cin = x.shape[0], x.shape[-1]
  return [lax.slice(xp, (0, i, j, 0), (n, i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1, cin), (1, sh, sw, 1))
          for i in range(kh) for j in range(kw)]


def weight_grad_taps(x, g, kernel_size, strides, padding, precision=None):
  """d loss / d kernel [kh, kw, Cin, Cout] of a 2-D convolution, as one matmul per kernel tap.

  x: the convolution's input [N, H, W, Cin]; g: the gradient of its output [N, Ho, Wo, Cout]; padding: ((top,
  bottom), (left, right)); strides: (sh, sw). Equal to XLA's weight gradient up to float summation order."""
  n, ho, wo, cout = g.shape
  g2 = g.reshape(n * ho * wo, cout)
  dw = jnp.stack([lax.dot_general(window.reshape(n * ho * wo, -1), g2, (((0,), (0,)), ((), ())),
                                  precision=precision, preferred_element_type=jnp.float32)
                  for window in tap_windows(x, kernel_size, strides, padding, (ho, wo))])
  return dw.reshape(*kernel_size, x.shape[-1], cout)


def conv_as_matmul(x, w, padding, precision=None):
  """A stride-1 2-D convolution (NHWC input x, HWIO kernel w, padding ((top, bottom), (left, right))) as one matmul:
  the kh x kw tap windows stacked on the channel axis, times the kernel reshaped to [kh * kw * Cin, Cout]. Equal
  to XLA's convolution up to float summation order; autodiff gives matmul gradients."""
  kh, kw, cin, cout = w.shape
  (top, bottom), (left, right) = padding
  n, ho, wo = x.shape[0], x.shape[1] + top + bottom - kh + 1, x.shape[2] + left + right - kw + 1
  windows = jnp.concatenate(tap_windows(x, (kh, kw), (1, 1), padding, (ho, wo)), axis=-1)
  out = lax.dot_general(windows.reshape(n * ho * wo, kh * kw * cin), w.reshape(kh * kw * cin, cout),
                        (((1,), (0,)), ((), ())), precision=precision)
  return out.reshape(n, ho, wo, cout)


def _xla_conv(x, w, strides, padding, precision):
  return lax.conv_general_dilated(x, w, strides, padding, dimension_numbers=_DIMS, precision=precision)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_taps_grad(x, w, strides, padding, precision):
  return _xla_conv(x, w, strides, padding, precision)


def _conv_fwd(x, w, strides, padding, precision):
  return _xla_conv(x, w, strides, padding, precision), (x, w)


def _conv_bwd(strides, padding, precision, residuals, g):
  x, w = residuals
  dx = jax.vjp(lambda x: _xla_conv(x, w, strides, padding, precision), x)[1](g)[0]
  xla_dw = lambda x, g: jax.vjp(lambda w: _xla_conv(x, w, strides, padding, precision), w)[1](g)[0]
  taps_dw = lambda x, g: weight_grad_taps(x, g, w.shape[:2], strides, padding, precision).astype(w.dtype)
  return dx, lax.platform_dependent(x, g, cpu=taps_dw, default=xla_dw)


_conv_taps_grad.defvjp(_conv_fwd, _conv_bwd)


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, precision=None, **kwargs):
  """`lax.conv_general_dilated`, on CPU with two changes for plain 2-D NHWC convolutions: at stride 1 over at most
  MAX_MATMUL_POSITIONS output positions an image, `conv_as_matmul`; from MIN_TAPS_CHANNELS output channels and
  MIN_TAPS_ROWS images x output positions, `weight_grad_taps` as the kernel's gradient. Anything else is
  `lax.conv_general_dilated`."""
  def plain(x=lhs, w=rhs):
    return lax.conv_general_dilated(x, w, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                                    feature_group_count, precision=precision, **kwargs)

  dims = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
  undilated = all(d == 1 for d in (lhs_dilation or ()) + (rhs_dilation or ()))
  if (lhs.ndim != 4 or dims != lax.conv_dimension_numbers(lhs.shape, rhs.shape, _DIMS) or not undilated
      or feature_group_count != 1 or kwargs):
    return plain()
  pads = lax.padtype_to_pads(lhs.shape[1:3], rhs.shape[:2], window_strides, padding) if isinstance(
      padding, str) else padding
  pads = tuple(map(tuple, pads))
  positions = math.prod((n + lo + hi - k) // s + 1 for n, (lo, hi), k, s in
                        zip(lhs.shape[1:3], pads, rhs.shape[:2], window_strides))
  if positions <= MAX_MATMUL_POSITIONS and tuple(window_strides) == (1, 1):
    return lax.platform_dependent(lhs, rhs, cpu=lambda x, w: conv_as_matmul(x, w, pads, precision), default=plain)
  if rhs.shape[-1] < MIN_TAPS_CHANNELS or lhs.shape[0] * positions < MIN_TAPS_ROWS:
    return plain()
  return _conv_taps_grad(lhs, rhs, tuple(window_strides), pads, precision)


# nn.Conv with the weight gradient above: same parameters, same names ("Conv_0", ...), same initialisers.
Conv = functools.partial(nn.Conv, conv_general_dilated=conv_general_dilated)
