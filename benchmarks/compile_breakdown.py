"""Where a config's train-step compile time goes: tracing, lowering, XLA's compile, and which fusions it emits.

  python benchmarks/compile_breakdown.py CONFIG [CONFIG ...] --batches DIR [--repeats 2] [--optimizer adam,sgd]

Each measurement runs in a fresh process (nothing cached in memory; XLA's persistent cache is off), configs and
variants taking turns, `--repeats` times, because this shared machine's compile times drift by tens of percent. For
the step as the trainer builds it (one device per core), one JSON line per run: seconds to trace, to lower and to
compile, and the compiled module's fusions split by origin: random-number generation (threefry kernels are large
and slow to compile), the model's forward ("jvp"), its backward ("transpose") and everything else, mostly the
per-parameter optimizer and EMA updates (XLA:CPU emits one kernel per output array, so Adam + EMA cost about four
kernels per parameter array). `--optimizer sgd` is an ablation, not a training setting: every state update is
replaced by plain SGD without EMA (one kernel per parameter array), so the difference to `adam` is what the
optimizer's kernels cost to compile. Last, one summary line per config and variant (medians).

DIR holds one batch per config (`python benchmarks/zoo_speed.py --dump-batches DIR`).
"""
import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import time


def plain_sgd(lr=1e-3):
  """Swaps every train state's update for p - lr * g, without optimizer state updates or EMA (the ablation)."""
  import jax

  from mmgen_jax import state

  sgd = lambda params, grads: jax.tree.map(lambda p, g: p - lr * g, params, grads)
  state.TrainState.apply_gradients = lambda self, grads, model_state: self.replace(
      step=self.step + 1, params=sgd(self.params, grads), model_state=model_state)
  state.GANState.apply_d_gradients = lambda self, grads, d_model_state: self.replace(
      d_params=sgd(self.d_params, grads), d_model_state=d_model_state)
  state.GANState.apply_g_gradients = lambda self, grads, g_model_state: self.replace(
      step=self.step + 1, g_params=sgd(self.g_params, grads), g_model_state=g_model_state)


# jax.random's threefry hash, split and samplers, by the op names they leave in the HLO's metadata.
RANDOM = re.compile(r"jit\(_(?:threefry\w*|uniform|normal|normal_real|truncated_normal|bernoulli|gumbel|randint)\)"
                    r"|random_bits|random_wrap|random_unwrap")


def fusion_origins(hlo_text):
  """Counts of the entry computation's fusions by where their ops came from: random-number generation, the
  model's forward and backward passes, other (mostly the optimizer and EMA)."""
  entry = hlo_text[hlo_text.index("\nENTRY"):]
  counts = collections.Counter()
  for line in re.findall(r"= \S+ fusion\(.*", entry):
    op = re.search(r'op_name="([^"]*)"', line)
    op = op.group(1) if op else ""
    counts["random" if RANDOM.search(op) else "backward" if "transpose(jvp(" in op else "forward" if "jvp(" in op
           else "other"] += 1
  return dict(counts)


def measure(config_name, batches, optimizer):
  """One run in this process: trace / lower / compile seconds of the config's step, and its fusion origins."""
  from mmgen_jax import parallel
  from mmgen_jax.config import get_config

  parallel.split_cpu_for(get_config(config_name))  # As the trainer runs.
  from zoo_speed import dumped_step

  if optimizer == "sgd":
    plain_sgd()
  _, _, step, state, data = dumped_step(batches, config_name)
  t0 = time.perf_counter()
  traced = step.trace(state, data)
  t1 = time.perf_counter()
  lowered = traced.lower()
  t2 = time.perf_counter()
  compiled = lowered.compile()
  t3 = time.perf_counter()
  fusions = fusion_origins(compiled.as_text())
  return {"config": config_name, "optimizer": optimizer, "trace_s": round(t1 - t0, 2), "lower_s": round(t2 - t1, 2),
          "compile_s": round(t3 - t2, 2), "total_s": round(t3 - t0, 2), "fusions": sum(fusions.values()), **fusions}


def main():
  p = argparse.ArgumentParser()
  p.add_argument("configs", nargs="+")
  p.add_argument("--batches", required=True)
  p.add_argument("--repeats", type=int, default=2)
  p.add_argument("--optimizer", default="adam,sgd", help="variants: adam (the config's own), sgd (the ablation)")
  p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # Internal: measure in this process.
  args = p.parse_args()
  if args.one:
    print(json.dumps(measure(args.configs[0], args.batches, args.optimizer)), flush=True)
    return
  runs = collections.defaultdict(list)
  for _ in range(args.repeats):
    for name in args.configs:
      for optimizer in args.optimizer.split(","):
        out = subprocess.run([sys.executable, __file__, name, "--batches", args.batches, "--optimizer", optimizer,
                              "--one"], capture_output=True, text=True, env={**os.environ, "MMGEN_XLA_CACHE": "0"})
        if out.returncode:
          raise SystemExit(f"{name} ({optimizer}) failed:\n{out.stderr[-2000:]}")
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        runs[(name, optimizer)].append(row)
  for (name, optimizer), rows in runs.items():
    print(json.dumps({"config": name, "optimizer": optimizer, "runs": len(rows),
                      **{f"median_{k}": round(statistics.median(r[k] for r in rows), 2)
                         for k in ("trace_s", "lower_s", "compile_s", "total_s", "fusions")}}), flush=True)


if __name__ == "__main__":
  main()
