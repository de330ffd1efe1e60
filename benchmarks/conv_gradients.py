"""Per-convolution forward, input-gradient and weight-gradient time at DCGAN's shapes (batch 64 per device):
XLA's convolution, its weight gradient written as im2col + one matmul, and PyTorch's (if installed) beside it.

  python benchmarks/conv_gradients.py                    # both cores
  taskset -c 0 python benchmarks/conv_gradients.py       # pinned to one core: how much each side gains from threads
  python benchmarks/conv_gradients.py --tiny             # 3x3 convolutions over the tiniest maps: XLA vs one matmul

One JSON line per layer (milliseconds), then the totals. Layers: D's 4x4 stride-2 convolutions on [real; fake]
(2 x 64 images) and G's 3x3 convolutions (the pixel-shuffle upsamplers' and the output's), for DCGAN-32; names
starting "64" are DCGAN-64 layers at 32 images a device, "U" the 64x64 photo U-Nets' (pix2pix, inpainting) at 4 images
a device. `taps_dw` is `layers/conv.weight_grad_taps`, which `layers/conv.Conv` uses on the CPU for layers with 8+
output channels and at least 65,536 images x output positions (the per-layer wins here did not all carry over to
whole steps: `benchmarks/conv_taps_ab.py`).
With --tiny: forward + both gradients of 3x3 stride-1 convolutions over 1x1 to 8x8 maps (160 images: any2any's five
subsets of 32), XLA's against `layers/conv.conv_as_matmul`, which `layers/conv.Conv` uses on the CPU up to
MAX_MATMUL_POSITIONS output positions an image.
"""
import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.layers.conv import conv_as_matmul, weight_grad_taps

# name, batch, input size, in channels, out channels, kernel, stride, padding
LAYERS = [("D1", 128, 32, 1, 32, 4, 2, 1), ("D2", 128, 16, 32, 64, 4, 2, 1), ("D3", 128, 8, 64, 128, 4, 2, 1),
          ("G1", 64, 4, 128, 256, 3, 1, 1), ("G2", 64, 8, 64, 128, 3, 1, 1), ("G3", 64, 16, 32, 64, 3, 1, 1),
          ("G4", 64, 32, 16, 1, 3, 1, 1), ("64G3", 32, 32, 32, 64, 3, 1, 1), ("64G4", 32, 64, 16, 1, 3, 1, 1),
          ("64D1", 64, 64, 1, 32, 4, 2, 1), ("64D2", 64, 32, 32, 64, 4, 2, 1),
          ("U64rgb", 4, 64, 3, 16, 3, 1, 1), ("U64", 4, 64, 16, 16, 3, 1, 1), ("U64s2", 4, 64, 16, 32, 3, 2, 1),
          ("U32", 4, 32, 32, 32, 3, 1, 1), ("U16", 4, 16, 64, 64, 3, 1, 1), ("U64out", 4, 64, 16, 3, 3, 1, 1)]
DIMS = ("NHWC", "HWIO", "NHWC")


def ms(fn, *args, reps=10):
  jax.block_until_ready(fn(*args))
  t = time.perf_counter()
  for _ in range(reps):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - t) / reps * 1e3


def im2col_weight_grad(x, g, k, s, p):
  """d loss / d kernel [k, k, Cin, Cout] from input x [N, H, W, Cin] and output gradient g [N, Ho, Wo, Cout]."""
  n, ho, wo, cout = g.shape
  xp = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
  cols = jnp.stack([xp[:, i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s] for i in range(k) for j in range(k)], 3)
  return (cols.reshape(-1, k * k * x.shape[-1]).T @ g.reshape(-1, cout)).reshape(k, k, x.shape[-1], cout)


def torch_times(b, h, cin, cout, k, s, p):
  try:
    import torch
  except ImportError:
    return {}
  x = torch.randn(b, cin, h, h, requires_grad=True)
  conv = torch.nn.Conv2d(cin, cout, k, s, p)
  g = torch.randn_like(conv(x))

  def run(fn, reps=10):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
      fn()
    return (time.perf_counter() - t) / reps * 1e3

  fwd = run(lambda: conv(x))
  return {"torch_fwd": fwd, "torch_dx": run(lambda: torch.autograd.grad(conv(x), x, g)) - fwd,
          "torch_dw": run(lambda: torch.autograd.grad(conv(x), conv.weight, g)) - fwd}


# name, batch, map size, in channels, out channels (3x3 kernels, stride 1, SAME)
TINY_LAYERS = [("1x1", 160, 1, 64, 256), ("2x2", 160, 2, 64, 256), ("4x4", 160, 4, 64, 256),
               ("8x8", 160, 8, 128, 256)]


def tiny():
  """Forward + backward (both gradients) ms of each TINY_LAYERS convolution, XLA's and as one matmul."""
  rng = np.random.default_rng(0)
  for name, b, h, cin, cout in TINY_LAYERS:
    x = jnp.asarray(rng.standard_normal((b, h, h, cin)), jnp.float32)
    w = jnp.asarray(rng.standard_normal((3, 3, cin, cout)) * 0.05, jnp.float32)
    forms = {"xla": lambda x, w: jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DIMS),
             "matmul": lambda x, w: conv_as_matmul(x, w, ((1, 1), (1, 1)))}
    np.testing.assert_allclose(forms["matmul"](x, w), forms["xla"](x, w), rtol=1e-4, atol=1e-4)
    row = {"layer": name}
    for form, conv in forms.items():  # A nonlinear loss: the output gradient varies.
      row[f"{form}_fwd_bwd"] = round(ms(jax.jit(jax.grad(lambda x, w, c=conv: jnp.sum(jnp.sin(c(x, w))),
                                                         argnums=(0, 1))), x, w, reps=20), 2)
    print(json.dumps(row), flush=True)


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--tiny", action="store_true", help="3x3 convolutions over 1x1 to 8x8 maps: XLA vs one matmul")
  if p.parse_args().tiny:
    return tiny()
  totals = {}
  rng = np.random.default_rng(0)
  for name, b, h, cin, cout, k, s, p in LAYERS:
    x = jnp.asarray(rng.standard_normal((b, h, h, cin)), jnp.float32)
    w = jnp.asarray(rng.standard_normal((k, k, cin, cout)), jnp.float32)
    conv = lambda x, w: jax.lax.conv_general_dilated(x, w, (s, s), [(p, p), (p, p)], dimension_numbers=DIMS)  # noqa: E731,B023
    g = jax.jit(conv)(x, w)
    xla_dw = jax.jit(lambda x, w, g: jax.vjp(conv, x, w)[1](g)[1])  # noqa: B023
    fast_dw = jax.jit(lambda x, g: im2col_weight_grad(x, g, k, s, p))  # noqa: B023
    taps_dw = jax.jit(lambda x, g: weight_grad_taps(x, g, (k, k), (s, s), ((p, p), (p, p))))  # noqa: B023
    np.testing.assert_allclose(fast_dw(x, g), xla_dw(x, w, g), rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(taps_dw(x, g), xla_dw(x, w, g), rtol=1e-3, atol=1e-2)
    row = {"layer": name, "xla_fwd": ms(jax.jit(conv), x, w),
           "xla_dx": ms(jax.jit(lambda x, w, g: jax.vjp(conv, x, w)[1](g)[0]), x, w, g),  # noqa: B023
           "xla_dw": ms(xla_dw, x, w, g), "im2col_dw": ms(fast_dw, x, g),
           "taps_dw": ms(taps_dw, x, g), **torch_times(b, h, cin, cout, k, s, p)}
    row = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}
    print(json.dumps(row), flush=True)
    if name[0] in "DG":
      for key, v in row.items():
        if key != "layer":
          totals[key] = round(totals.get(key, 0.0) + v, 1)
  print(json.dumps({"totals_dcgan32": totals}))


if __name__ == "__main__":
  main()
