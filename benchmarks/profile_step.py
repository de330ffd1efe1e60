"""Where a config's train step spends its time: a `jax.profiler` trace of a few steps, summarised.

  python benchmarks/profile_step.py CONFIG --batches DIR [--steps 5] [--top 15]
  MMGEN_CPU_DEVICES=1 python benchmarks/profile_step.py ...      # as one CPU device

DIR holds one batch per config (`python benchmarks/zoo_speed.py --dump-batches DIR`). Prints one JSON line: the
step's wall milliseconds under the profiler, the summed busy time of its kernels per step (over all devices; above
the wall time when operations run concurrently), and the kernels taking the most time per step (summed over
devices), each with the HLO op it computes.
"""
import argparse
import collections
import glob
import gzip
import json
import re
import tempfile
import time

from mmgen_jax import parallel
from mmgen_jax.config import get_config


def main():
  p = argparse.ArgumentParser()
  p.add_argument("config")
  p.add_argument("--batches", required=True)
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--top", type=int, default=15)
  args = p.parse_args()
  parallel.split_cpu_for(get_config(args.config))  # As the trainer runs.
  import jax
  from zoo_speed import dumped_step

  _, mesh, step, state, data = dumped_step(args.batches, args.config)
  step = step.lower(state, data).compile()
  hlo = step.as_text()
  for _ in range(2):
    state, m = step(state, data)
  jax.block_until_ready(m)
  with tempfile.TemporaryDirectory() as d:
    with jax.profiler.trace(d, create_perfetto_trace=True):
      t = time.perf_counter()
      for _ in range(args.steps):
        state, m = step(state, data)
      jax.block_until_ready(m)
      wall = (time.perf_counter() - t) / args.steps
    trace = json.load(gzip.open(glob.glob(f"{d}/**/*.trace.json.gz", recursive=True)[0]))
  kernels = collections.Counter()
  for e in trace["traceEvents"]:
    name = e.get("name", "")
    if e.get("ph") == "X" and re.search(rf"%{re.escape(name)} = ", hlo):  # HLO instructions, not runtime spans.
      kernels[name] += e["dur"] / 1e3 / args.steps
  top = []
  for name, per_step in kernels.most_common(args.top):
    line = re.search(rf"%{re.escape(name)} = [^\n]*", hlo).group(0)
    op = re.search(r'op_name="([^"]*)"', line)
    top.append({"kernel": name, "ms_per_step": round(per_step, 2), "shape": line.split(" = ")[1].split(" ")[0][:60],
                "op": op.group(1)[-100:] if op else ""})
  print(json.dumps({"config": args.config, "devices": mesh.devices.size, "step_ms": round(wall * 1e3, 1),
                    "kernel_busy_ms": round(sum(kernels.values()), 1), "top": top}, indent=1))


if __name__ == "__main__":
  main()
