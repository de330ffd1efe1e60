"""Forward+backward time of the three x2 upsampling layers on this machine, at DCGAN-generator shapes.

  python benchmarks/upsample.py [--batch 64]

Prints one JSON line per (method, input shape): milliseconds per forward+backward, compile seconds.
"""
import argparse
import json
import time

import jax
import jax.numpy as jnp

from mmgen_jax.layers.updown import UPSAMPLE_METHODS, Upsample2x


def time_fn(fn, *args, reps=20):
  t = time.perf_counter()
  jax.block_until_ready(fn(*args))
  compile_s = time.perf_counter() - t
  t = time.perf_counter()
  for _ in range(reps):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - t) / reps * 1e3, compile_s


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--batch", type=int, default=64)
  args = p.parse_args()
  for hw, cin in [(4, 128), (8, 64), (16, 32)]:
    x = jnp.ones((args.batch, hw, hw, cin))
    for method in UPSAMPLE_METHODS:
      layer = Upsample2x(cin // 2, method)
      params = layer.init(jax.random.PRNGKey(0), x[:1])
      step = jax.jit(jax.grad(lambda p, x: jnp.sum(layer.apply(p, x) ** 2)))
      ms, compile_s = time_fn(step, params, x)
      print(json.dumps({"method": method, "input": [args.batch, hw, hw, cin], "fwd_bwd_ms": round(ms, 2),
                        "compile_s": round(compile_s, 2), "device": jax.devices()[0].device_kind}))


if __name__ == "__main__":
  main()
