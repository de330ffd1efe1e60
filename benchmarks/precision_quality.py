"""bfloat16 against float32 compute, trained to quality on this CPU: the same config, seed and data, each a full
`mmgen-jax train` run in its own workdir, then `mmgen-jax eval` on the held-out split. A third run in float32 with
another seed says what the noise is: the bf16 - fp32 gap is within noise when it is no larger than the seed-to-seed
one.

  python benchmarks/precision_quality.py --configs cgan_digits,vsr_photos [--root workdirs/precision] [--parallel 2]
  python benchmarks/precision_quality.py --configs vsr_photos --set train.steps=500   # a shorter schedule, all runs
  python benchmarks/precision_quality.py --configs cgan_digits,vsr_photos --report   # the table of finished runs

Runs that already finished (a `done.json` in their workdir) are not run again. Each run is
`mmgen-jax train CONFIG --workdir ROOT/CONFIG-VARIANT --set model.compute_dtype=... --set seed=...`, with
MMGEN_CPU_DEVICES=1 when runs share the machine (one device each, so two runs fill two cores).
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

VARIANTS = {"fp32": ("float32", 0), "bf16": ("bfloat16", 0), "fp32-seed1": ("float32", 1)}
# What the table shows per config: (key in `mmgen-jax eval`'s JSON, label, format).
METRICS = {"cgan_digits": [("fid", "FID (classifier features)", "{:.2f}"), ("class_accuracy", "class accuracy",
                                                                              "{:.1%}"),
                           ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}")],
           "vsr_photos": [("psnr", "PSNR (Y, dB)", "{:.2f}"), ("ssim", "SSIM (Y)", "{:.4f}")]}


def workdir(root, config, variant):
  return os.path.join(root, f"{config}-{variant}")


def run(root, config, variant, devices, overrides=()):
  """Trains and evaluates one variant (skipped when done); returns its done.json record."""
  wd = workdir(root, config, variant)
  done = os.path.join(wd, "done.json")
  if os.path.exists(done):
    with open(done) as f:
      return json.load(f)
  dtype, seed = VARIANTS[variant]
  env = {**os.environ, **({"MMGEN_CPU_DEVICES": str(devices)} if devices else {})}
  cli = [sys.executable, "-m", "mmgen_jax.cli"]
  start = time.time()
  sets = [f"model.compute_dtype={dtype}", f"seed={seed}", *overrides]
  subprocess.run(cli + ["train", config, "--workdir", wd, "--no-progress"] + [a for s in sets for a in ("--set", s)],
                 check=True, env=env, stdout=subprocess.DEVNULL)
  train_seconds = time.time() - start
  scores = subprocess.run(cli + ["eval", "--workdir", wd], check=True, env=env, capture_output=True, text=True)
  record = {"config": config, "variant": variant, "compute_dtype": dtype, "seed": seed, "overrides": list(overrides),
            "train_seconds": round(train_seconds), "eval": json.loads(scores.stdout.strip().splitlines()[-1])}
  with open(done, "w") as f:
    json.dump(record, f)
  print(json.dumps(record), flush=True)
  return record


def report(records):
  """A markdown table per config: each metric for fp32, bf16, bf16 - fp32 and the seed-to-seed fp32 difference."""
  lines = []
  for config, metrics in METRICS.items():
    got = {r["variant"]: r for r in records if r["config"] == config}
    if "fp32" not in got or "bf16" not in got:
      continue
    lines += [f"`{config}` | fp32 (seed 0) | bf16 (seed 0) | bf16 - fp32 | fp32 seed 1 - seed 0 (noise)",
              "---|---|---|---|---"]
    for key, label, fmt in metrics:
      a, b = got["fp32"]["eval"][key], got["bf16"]["eval"][key]
      noise = got["fp32-seed1"]["eval"][key] - a if "fp32-seed1" in got else None
      diff = "{:+.4f}".format
      lines.append(f"{label} | {fmt.format(a)} | {fmt.format(b)} | {diff(b - a)} | "
                   f"{diff(noise) if noise is not None else 'not run'}")
    minutes = lambda v: f"{got[v]['train_seconds'] // 60} min {got[v]['train_seconds'] % 60} s" if v in got else "-"
    lines += [f"train wall time | {minutes('fp32')} | {minutes('bf16')} | | {minutes('fp32-seed1')}", ""]
  return "\n".join(lines)


def main():
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--configs", default="cgan_digits,vsr_photos")
  p.add_argument("--variants", default=",".join(VARIANTS))
  p.add_argument("--root", default="workdirs/precision")
  p.add_argument("--parallel", type=int, default=2, help="runs at once (each on one CPU device when > 1)")
  p.add_argument("--report", action="store_true", help="only print the table of the finished runs")
  p.add_argument("--set", action="append", default=[], help="a config override for every run, e.g. train.steps=500")
  args = p.parse_args()
  jobs = [(c, v) for c in args.configs.split(",") for v in args.variants.split(",")]
  if args.report:
    records = []
    for c, v in jobs:
      done = os.path.join(workdir(args.root, c, v), "done.json")
      if os.path.exists(done):
        with open(done) as f:
          records.append(json.load(f))
  else:
    devices = 1 if args.parallel > 1 else 0
    with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
      records = list(pool.map(lambda job: run(args.root, *job, devices, args.set), jobs))
  print(report(records))


if __name__ == "__main__":
  main()
