"""Train-step and sampler speed of every zoo config (full size, not smoke) on this machine's first device.

  python benchmarks/zoo_speed.py [--configs dcgan_digits,vae_digits] [--steps 10] [--set model.compute_dtype=bfloat16]
  python benchmarks/zoo_speed.py --set data.batch_size=256 --peak-tflops 989   # a large batch; MFU against a peak
  python benchmarks/zoo_speed.py --dump-batches DIR    # save one real batch per config (for a machine without
                                                       # scikit-learn / scikit-image, e.g. a GPU image)
  python benchmarks/zoo_speed.py --batches DIR         # time on those saved batches

On a CPU the step runs as the trainer runs it: split into one device per core (`parallel.split_cpu_into_devices`),
at most the config's `train.cpu_devices` when it is timed alone (`parallel.split_cpu_for`); MMGEN_CPU_DEVICES=1
measures XLA's single CPU device. Samplers run on one device, as `load(workdir).sample` does.
Per config, one JSON line: init and train-step compile seconds (lower + compile, measured apart from running; XLA's
persistent cache is off, so these are first-run compiles), step milliseconds and images/s at the config's batch
size, the step's FLOPs (XLA's cost analysis) and achieved TFLOP/s (model FLOPs utilisation too, given the device's
peak for the dtype with --peak-tflops), the step's memory (the compiled program's arguments + outputs + temporaries,
and the device's peak where it reports one), and the jitted sampler's compile seconds, batch-1 latency and batch-256
throughput, on a batch drawn once from the config's own dataset.
"""
import argparse
import json
import os
import sys
import time

import jax
import numpy as np

from mmgen_jax import parallel
from mmgen_jax.config import Config, apply_overrides, get_config, list_configs
from mmgen_jax.data import host_batches, open_source
from mmgen_jax.errors import UserError
from mmgen_jax.models import get_family
from mmgen_jax.train import trainer


def real_batch(config, family):
  """One training batch of the config's dataset (encoded as the trainer encodes it), and the prepared config."""
  d = config.data
  source = open_source(d.source, d.split, d.image_size, d.channels, d.get("frames"))  # As the trainer opens it.
  if hasattr(family, "prepare_config"):
    config = family.prepare_config(config, source)
  batch = next(host_batches(source, d.batch_size, config.seed, features=family.input_features(config)))
  return config, getattr(family, "encode_inputs", lambda c, a: a)(config, batch)


def load_batch(batches, name, config):
  """(config, batch) from BATCHES/NAME.npz (written by --dump-batches): the batch's arrays, and `config` with the
  values `prepare_config` filled in when it was dumped (`with_prepared_values`)."""
  saved = np.load(os.path.join(batches, f"{name}.npz"))
  config = with_prepared_values(config, Config(json.loads(str(saved["__config__"]))))
  return config, {k: saved[k] for k in saved.files if k != "__config__"}


def dumped_step(batches, name):
  """(config, mesh, jitted train step, initial state, global batch) for BATCHES/NAME.npz, built as the trainer builds
  them on the current devices (split the CPU first, as the trainer does)."""
  config, batch = load_batch(batches, name, get_config(name))
  family = get_family(config.family)
  mesh = parallel.batch_mesh(config.data.batch_size)
  state = trainer.make_init(family, config, mesh)(jax.random.PRNGKey(0))
  return config, mesh, trainer.make_train_step(family, config, mesh), state, parallel.to_global(batch, mesh)


def with_prepared_values(config, saved):
  """The config file's current settings, plus what `prepare_config` filled in when the batch was dumped (values the
  file leaves empty, e.g. mvae's vocabulary), so a dump does not pin settings changed since."""
  for key in config.flat_keys():
    *path, last = key.split(".")
    node, old = config, saved
    for part in path:
      node, old = node[part], old.get(part, {})
    if node[last] in ([], (), None, "") and last in old:
      node[last] = old[last]
  return config


def train_step_flops(family, config, state, batch):
  """XLA's count of floating-point operations in one train step, read from the step lowered for the CPU.

  Device-independent on purpose: once compiled for a GPU, convolutions are cuDNN custom calls that XLA's cost
  analysis counts as 0 FLOPs (and the GPU's lowered module reports none)."""
  step = trainer.make_train_step(family, config, parallel.make_mesh(jax.devices("cpu")[:1]))
  spec = lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype)
  cost = step.lower(jax.tree.map(spec, state), jax.tree.map(spec, batch)).cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return (cost or {}).get("flops")


def timed(fn, *args):
  t = time.perf_counter()
  out = jax.block_until_ready(fn(*args))
  return out, time.perf_counter() - t


def compile_seconds(jitted, *args):
  """(compiled, seconds to lower and compile)."""
  t = time.perf_counter()
  compiled = jitted.lower(*args).compile()
  return compiled, time.perf_counter() - t


def step_memory_mib(compiled):
  """MiB the compiled step holds at its peak: arguments + outputs + temporaries, less the donated (aliased) state."""
  m = compiled.memory_analysis()
  if m is None:
    return None
  total = m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes
  return round(total / 2 ** 20, 1)


def device_peak_mib():
  """The first device's peak memory in use (GPUs and TPUs report it; the CPU does not: None)."""
  stats = jax.devices()[0].memory_stats() or {}
  return round(stats["peak_bytes_in_use"] / 2 ** 20, 1) if "peak_bytes_in_use" in stats else None


def bench_config(name, config, family, batch, steps, peak_tflops=None, sample=True):
  mesh = parallel.batch_mesh(config.data.batch_size)
  rng = jax.random.PRNGKey(config.seed)
  init, init_compile = compile_seconds(trainer.make_init(family, config, mesh), rng)
  state = init(rng)
  step = trainer.make_train_step(family, config, mesh)
  data = parallel.to_global(batch, mesh)
  step_c, step_compile = compile_seconds(step, state, data)
  state, m = step_c(state, data)  # Warm-up (first-run allocations), not timed.
  jax.block_until_ready(m)
  t = time.perf_counter()
  for _ in range(steps):
    state, m = step_c(state, data)
  jax.block_until_ready(m)
  step_s = (time.perf_counter() - t) / steps
  flops = train_step_flops(family, config, state, batch)
  achieved = flops / step_s / 1e12 if flops else None
  row = {"config": name, "family": config.family, "batch": config.data.batch_size,
         "compute_dtype": config.model.get("compute_dtype", "float32"),
         "init_compile_s": round(init_compile, 2), "step_compile_s": round(step_compile, 2),
         "step_ms": round(step_s * 1e3, 2), "images_per_s": round(config.data.batch_size / step_s, 1),
         "step_gflops": round(flops / 1e9, 2) if flops else None,
         "achieved_tflops": round(achieved, 4) if achieved else None,
         "mfu": round(achieved / peak_tflops, 4) if achieved and peak_tflops else None,
         "step_memory_mib": step_memory_mib(step_c), "device_peak_mib": device_peak_mib(),
         "devices": mesh.devices.size}
  if not sample:
    return row
  variables = jax.device_put(state.ema_variables(), jax.devices()[0])
  sample = family.make_sampler(config)  # With the family's default conditions, as `load(workdir).sample` runs.
  for n, key in ((1, "sample_b1"), (256, "sample_b256")):
    _, first = timed(sample, variables, jax.random.PRNGKey(0), n)
    reps = 10 if n == 1 else 3
    t = time.perf_counter()
    for i in range(reps):
      out = sample(variables, jax.random.PRNGKey(i + 1), n)
    jax.block_until_ready(out)
    per = (time.perf_counter() - t) / reps
    row[key + "_first_s"] = round(first, 2)
    row[key + ("_ms" if n == 1 else "_per_s")] = round(per * 1e3, 2) if n == 1 else round(n / per, 1)
  return row


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--configs", default=",".join(list_configs()))
  p.add_argument("--steps", type=int, default=10)
  p.add_argument("--set", action="append", default=[], help="override applied to every config, e.g. data.batch_size=64")
  p.add_argument("--dump-batches", help="write DIR/CONFIG.npz (one real batch) and exit")
  p.add_argument("--batches", help="read DIR/CONFIG.npz instead of opening the datasets")
  p.add_argument("--peak-tflops", type=float, help="the device's peak TFLOP/s for the compute dtype (MFU)")
  p.add_argument("--no-sample", action="store_true", help="time the train step only, not the sampler")
  args = p.parse_args()
  names = args.configs.split(",")
  if len(names) == 1:  # As the trainer runs it; configs timed together share one split, one device per core.
    config = get_config(names[0])
    parallel.split_cpu_for(apply_overrides(config, [s for s in args.set if s.split("=")[0] in config.flat_keys()]))
  else:
    parallel.split_cpu_into_devices()
    capped = [n for n in names if get_config(n).train.get("cpu_devices", 0)]
    if capped:
      print(f"note: {', '.join(capped)} train(s) on fewer CPU devices than one per core (train.cpu_devices): time "
            f"each alone to run its step as the trainer does", file=sys.stderr)
  device = jax.devices()[0].device_kind
  for name in names:
    config = get_config(name)
    family = get_family(config.family)
    try:
      if args.batches:
        config, batch = load_batch(args.batches, name, config)
      keys = set(config.flat_keys())
      apply_overrides(config, [s for s in args.set if s.split("=")[0] in keys])
      if not args.batches:
        config, batch = real_batch(config, family)
    except (UserError, FileNotFoundError) as e:
      print(json.dumps({"config": name, "skipped": str(e).splitlines()[0]}), flush=True)
      continue
    if args.dump_batches:
      os.makedirs(args.dump_batches, exist_ok=True)
      np.savez(os.path.join(args.dump_batches, f"{name}.npz"), __config__=json.dumps(config.to_dict()), **batch)
      continue
    row = bench_config(name, config, family, batch, args.steps, args.peak_tflops, not args.no_sample)
    print(json.dumps({**row, "device": device}), flush=True)


if __name__ == "__main__":
  main()
