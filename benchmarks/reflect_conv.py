"""Reflection-padded 3x3 convolutions on XLA:CPU: flax's padding="REFLECT" (an explicit pad, then a VALID
convolution) against the same pad around a SAME convolution, cropped (what `models/style.Decoder` does). Both give
the same values; the script checks that and prints the forward time of each at the style decoder's layer shapes
for a 256x256 image.

  python benchmarks/reflect_conv.py [--repeats 10]
"""
import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.layers.conv import Conv

# (height, width, input channels, output channels) of the decoder's convolutions at 256x256 (widths 64, 32).
LAYERS = ((64, 64, 64, 64), (128, 128, 96, 64), (128, 128, 64, 32), (256, 256, 51, 32), (256, 256, 32, 3))


def timed(fn, *args, repeats):
  jax.block_until_ready(fn(*args))
  start = time.perf_counter()
  for _ in range(repeats):
    jax.block_until_ready(fn(*args))
  return (time.perf_counter() - start) / repeats


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--repeats", type=int, default=10)
  args = parser.parse_args()
  print("| layer (H x W, Cin -> Cout) | REFLECT (VALID conv) ms | pad + SAME + crop ms | ratio | max difference |")
  print("|---|---|---|---|---|")
  for h, w, cin, cout in LAYERS:
    x = jnp.asarray(np.random.default_rng(0).standard_normal((1, h, w, cin)), jnp.float32)
    reflect, same = Conv(cout, (3, 3), padding="REFLECT"), Conv(cout, (3, 3), padding="SAME")
    params = reflect.init(jax.random.PRNGKey(0), x)
    flax_reflect = jax.jit(reflect.apply)
    by_hand = jax.jit(lambda p, x: same.apply(p, jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect"))[
        :, 1:-1, 1:-1])
    a, b = timed(flax_reflect, params, x, repeats=args.repeats), timed(by_hand, params, x, repeats=args.repeats)
    diff = float(jnp.max(jnp.abs(flax_reflect(params, x) - by_hand(params, x))))
    print(f"| {h}x{w}, {cin} -> {cout} | {1e3 * a:.1f} | {1e3 * b:.1f} | {a / b:.1f}x | {diff:.1e} |")


if __name__ == "__main__":
  main()
