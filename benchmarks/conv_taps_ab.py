"""Whole train steps with and without one of `layers/conv.Conv`'s CPU forms, in one process, alternating: the
tap-by-tap weight gradient (`--switch taps`, the default) or the one-matmul convolution over the tiniest maps
(`--switch matmul`).

  python benchmarks/conv_taps_ab.py --dcgan 64                              # DCGAN-64, batch 64 (random images)
  python benchmarks/conv_taps_ab.py --config gray2color_photos --batches DIR  # a zoo config on its dumped batch
  MMGEN_CPU_DEVICES=1 python benchmarks/conv_taps_ab.py --config any2any_digits --batches DIR --switch matmul

Both steps are compiled first (the form switched on or off by `MIN_TAPS_CHANNELS` or `MAX_MATMUL_POSITIONS` while
tracing), then timed in turn `--rounds` times, `--steps` steps each, so a drift in this shared machine's speed hits
both alike. Rules of `layers/conv.py` (which layers get the taps) apply as they stand: `--all-layers` sets
MIN_TAPS_ROWS to 0 to see what the taps would do on every layer with 8+ output channels. One JSON line per timing.
"""
import argparse
import json
import time

import numpy as np

from mmgen_jax import parallel


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--dcgan", type=int, help="DCGAN resolution (dcgan_digits' model), batch --batch")
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--config")
  p.add_argument("--batches", help="DIR/CONFIG.npz from zoo_speed.py --dump-batches")
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--all-layers", action="store_true")
  p.add_argument("--switch", choices=("taps", "matmul"), default="taps", help="the form switched off and on")
  args = p.parse_args()
  from mmgen_jax.config import apply_overrides, get_config

  if args.dcgan:
    name = "dcgan_digits"
    config = apply_overrides(get_config(name), [f"data.image_size={args.dcgan}", f"data.batch_size={args.batch}"])
    batch = {"image": np.random.default_rng(0).integers(0, 256, (args.batch, args.dcgan, args.dcgan, 1), np.uint8)}
  else:
    from zoo_speed import load_batch

    name = args.config
    config, batch = load_batch(args.batches, name, get_config(name))
  parallel.split_cpu_for(config)  # As the trainer runs.
  import jax

  from mmgen_jax.layers import conv
  from mmgen_jax.models import get_family
  from mmgen_jax.train import trainer

  family, mesh = get_family(config.family), parallel.batch_mesh(config.data.batch_size)
  data = parallel.to_global(batch, mesh)
  channels, positions = conv.MIN_TAPS_CHANNELS, conv.MAX_MATMUL_POSITIONS
  if args.all_layers:
    conv.MIN_TAPS_ROWS = 0
  runs = {}
  for on in (False, True):
    if args.switch == "taps":
      conv.MIN_TAPS_CHANNELS = channels if on else 1 << 30
    else:
      conv.MAX_MATMUL_POSITIONS = positions if on else 0
    state = trainer.build_state(family, config, mesh)[0]()
    step = trainer.make_train_step(family, config, mesh).lower(state, data).compile()
    state, metrics = step(state, data)
    jax.block_until_ready(metrics)
    runs[on] = [step, state]
  for _ in range(args.rounds):
    for on, run in runs.items():
      start = time.perf_counter()
      for _ in range(args.steps):
        run[1], metrics = run[0](run[1], data)
      jax.block_until_ready(metrics)
      ms = (time.perf_counter() - start) / args.steps * 1e3
      print(json.dumps({"config": name, "image_size": config.data.image_size, "batch": config.data.batch_size,
                        "devices": mesh.devices.size, args.switch: on, "all_layers": args.all_layers,
                        "ms_per_step": round(ms, 1)}), flush=True)


if __name__ == "__main__":
  main()
