"""Fault injection: training runs SIGKILLed at random moments and resumed, and a soak of bad sampler requests.

Kills: a small DCGAN (`dcgan_digits` at width 8) trains to --steps with a checkpoint every --ckpt-every steps, once
uninterrupted (the reference) and --runs times SIGKILLed at a moment drawn uniformly over the reference's wall time
(start-up, training, and the checkpoint saves, which make up much of a small run; a kill with an unfinished
`*.orbax-checkpoint-tmp` folder on disk counts as "during a save"), then resumed by the same command. Every resumed
final state is compared bit for bit with the reference, every checkpoint left on disk is restored, and
metrics.jsonl must hold each logged step once.

Soak: --requests random bad requests to `mmgen-jax sample` (in this process, as `cli.main`) on small trained cgan
(labels) and inpainting (image + mask) workdirs: bad counts, labels out of range or of a float type, conditions of
the wrong shape, type or name, unreadable --cond files. Each must end in one `error:` line with status 2; any other
exception is counted as a traceback.

  python benchmarks/fault_injection.py --runs 30 --requests 200
"""
import argparse
import contextlib
import glob
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

TINY = ["--no-progress", "--set", "data.batch_size=8", "--set", "model.z_dim=8", "--set", "model.g_width=8",
        "--set", "model.d_width=8", "--set", "train.num_grid=4", "--set", "train.eval_every=0", "--set",
        "train.sample_every=0"]


def train_command(workdir, steps, ckpt_every, log_every):
  return [sys.executable, "-m", "mmgen_jax.cli", "train", "dcgan_digits", "--workdir", workdir, *TINY, "--set",
          f"train.steps={steps}", "--set", f"train.ckpt_every={ckpt_every}", "--set", f"train.log_every={log_every}"]


def leaves(workdir, step=None):
  import jax
  import mmgen_jax
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(mmgen_jax.load(workdir, step).state))]


def kill_runs(args, root):
  if not args.runs:
    return {"runs": 0}
  command = lambda wd: train_command(wd, args.steps, args.ckpt_every, args.log_every)  # noqa: E731
  reference = os.path.join(root, "reference")
  subprocess.run(command(os.path.join(root, "warm-up")), check=True, capture_output=True)  # Fills the XLA cache.
  start = time.perf_counter()
  subprocess.run(command(reference), check=True, capture_output=True)
  duration = time.perf_counter() - start  # What a run takes with its programs cached, as every run below does.
  expected = leaves(reference)
  rng = random.Random(args.seed)
  rows = []
  for i in range(args.runs):
    workdir = os.path.join(root, f"run{i}")
    proc = subprocess.Popen(command(workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    delay = rng.uniform(0.5, duration)
    time.sleep(delay)
    saving = bool(glob.glob(os.path.join(workdir, "checkpoints", "*orbax-checkpoint-tmp*")))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = proc.returncode == -signal.SIGKILL
    committed = sorted(int(os.path.basename(d)) for d in glob.glob(os.path.join(workdir, "checkpoints", "*"))
                       if os.path.basename(d).isdigit())
    resumed = subprocess.run(command(workdir), capture_output=True, text=True)
    row = {"run": i, "kill_at_s": round(delay, 2), "killed": killed, "during_save": saving and killed,
           "newest_checkpoint_at_kill": committed[-1] if committed else None, "resume_status": resumed.returncode,
           "traceback": "Traceback" in resumed.stderr}
    if resumed.returncode == 0:
      row["state_equal"] = all(np.array_equal(a, b) for a, b in zip(leaves(workdir), expected))
      steps = [json.loads(line)["step"] for line in open(os.path.join(workdir, "metrics.jsonl"))]
      row["metrics_steps_unique"] = len(steps) == len(set(steps))
      readable = []
      for d in glob.glob(os.path.join(workdir, "checkpoints", "*")):
        name = os.path.basename(d)
        if name.isdigit():
          try:
            leaves(workdir, int(name))
            readable.append(True)
          except Exception:  # noqa: BLE001 (any failure is an unreadable checkpoint: counted, not raised)
            readable.append(False)
      row["checkpoints_readable"] = all(readable)
    rows.append(row)
    print(json.dumps(row), flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
  return {"reference_wall_s": round(duration, 1), "runs": len(rows), "kills": sum(r["killed"] for r in rows),
          "kills_during_save": sum(r["during_save"] for r in rows),
          "kills_before_first_checkpoint": sum(r["killed"] and r["newest_checkpoint_at_kill"] is None for r in rows),
          "resumed_ok": sum(r["resume_status"] == 0 for r in rows),
          "states_equal": sum(bool(r.get("state_equal")) for r in rows),
          "metrics_one_line_per_step": sum(bool(r.get("metrics_steps_unique")) for r in rows),
          "all_checkpoints_readable": sum(bool(r.get("checkpoints_readable")) for r in rows),
          "tracebacks": sum(r["traceback"] for r in rows)}


def bad_requests(rng, workdir, family, tmp):
  """Yields argument lists for `mmgen-jax sample` that must each be refused with one line."""
  out = ["--out", os.path.join(tmp, "o.npz")]
  while True:
    kind = rng.choice(["num", "labels", "cond_shape", "cond_dtype", "cond_name", "cond_file"])
    num = rng.choice([4, 1, 9])
    if kind == "num":
      yield ["sample", "--workdir", workdir, "--num", str(rng.choice([0, -1, -3, -1000])), *out]
    elif kind == "labels" and family == "cgan":
      bad = rng.choice([[10], [-1], [0, 99], [3, 10, -7], [2**31 - 1]])
      yield ["sample", "--workdir", workdir, "--num", str(num), "--labels", ",".join(map(str, bad)), *out]
    elif kind == "labels":
      yield ["sample", "--workdir", workdir, "--num", str(num), "--labels", "1,2", *out]  # No labels here.
    else:
      path = os.path.join(tmp, f"cond{rng.randrange(10**9)}.npz")
      if kind == "cond_file":
        with open(path, "wb") as f:
          f.write(rng.choice([b"", b"PK\x03\x04broken", b"not an npz at all", os.urandom(64)]))
      elif family == "cgan":
        arrays = {"cond_shape": {"labels": np.zeros((2, 3), np.int32)},
                  "cond_dtype": {"labels": np.array([1.5, 2.0], np.float32)},
                  "cond_name": {rng.choice(["image", "audio", "label", "labelz"]): np.zeros((2,), np.int32)}}[kind]
        np.savez(path, **arrays)
      else:
        size = rng.choice([33, 7, 31])  # Odd: no U-Net stride divides it (any even size is a valid input).
        arrays = {"cond_shape": {"image": np.zeros((2, size, size, 1), np.uint8)},
                  "cond_dtype": {"image": np.random.default_rng(0).random((2, 32, 32, 1)).astype(np.float32)},
                  "cond_name": {rng.choice(["images", "labels", "source"]): np.zeros((2, 32, 32, 1), np.uint8)}}[kind]
        np.savez(path, **arrays)
      yield ["sample", "--workdir", workdir, "--num", str(num), "--cond", path, *out]


def soak(args, root):
  from mmgen_jax import cli
  from mmgen_jax.config import get_config
  from mmgen_jax.models import get_family
  from mmgen_jax.train.trainer import train

  rng = random.Random(args.seed)
  workdirs = {}
  for family, name in (("cgan", "cgan_digits"), ("inpaint", "inpaint_faces")):
    config = get_config(name, smoke=True)
    workdirs[family] = os.path.join(root, name)
    train(config, workdirs[family], get_family(config.family), progress=False)
  generators = {f: bad_requests(rng, wd, f, root) for f, wd in workdirs.items()}
  counts = {"requests": 0, "one_line_errors": 0, "accepted": 0, "tracebacks": 0}
  for i in range(args.requests):
    family = rng.choice(sorted(generators))
    argv = next(generators[family])
    err = io.StringIO()
    counts["requests"] += 1
    try:
      with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    except Exception as e:  # noqa: BLE001 (a traceback a user would see: counted and shown)
      counts["tracebacks"] += 1
      print(f"TRACEBACK {type(e).__name__}: {e} <- {argv}", flush=True)
      continue
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    if code == 2 and len(lines) == 1 and lines[0].startswith("error: "):
      counts["one_line_errors"] += 1
    elif code == 0:
      counts["accepted"] += 1
      print(f"ACCEPTED {argv}", flush=True)
    else:
      counts["tracebacks"] += 1
      print(f"UNEXPECTED status {code}: {lines[-3:]} <- {argv}", flush=True)
  return counts


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--runs", type=int, default=30)
  p.add_argument("--steps", type=int, default=120)
  p.add_argument("--ckpt-every", type=int, default=10)
  p.add_argument("--log-every", type=int, default=5)
  p.add_argument("--requests", type=int, default=200)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--out", help="also write the summary to this JSON file")
  args = p.parse_args()
  os.environ.setdefault("MMGEN_CPU_DEVICES", "1")
  root = tempfile.mkdtemp(prefix="mmgen_faults_")
  try:
    result = {"kills": kill_runs(args, root), "soak": soak(args, root)}
  finally:
    shutil.rmtree(root, ignore_errors=True)
  print(json.dumps(result, indent=2))
  if args.out:
    with open(args.out, "w") as f:
      json.dump(result, f, indent=2)


if __name__ == "__main__":
  main()
