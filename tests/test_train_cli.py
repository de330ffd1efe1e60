"""End to end through the CLI and the trainer: train, sample, resume (also after SIGKILL), SIGTERM, bad input."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import mmgen_jax
from conftest import REPO, last_line, run_cli, run_main

SMOKE = ["--set", "data.batch_size=8", "--set", "model.z_dim=8", "--set", "model.g_width=8", "--set",
         "model.d_width=8", "--set", "train.log_every=1", "--set", "train.num_grid=4", "--set", "train.eval_every=0"]


def _params(state):
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get((state.g_params, state.d_params,
                                                                 state.g_ema_params)))]


def test_cli_train_sample_and_python_load(tmp_path):
  wd = tmp_path / "run"
  r = run_cli("train", "dcgan_digits", "--workdir", wd, *SMOKE, "--set", "train.steps=4", "--set",
              "train.sample_every=2", "--set", "train.ckpt_every=2")
  assert r.returncode == 0, r.stderr
  assert sorted(os.listdir(wd / "samples")) == ["step_000002.png", "step_000004.png"]
  lines = [json.loads(l) for l in open(wd / "metrics.jsonl")]
  assert [l["step"] for l in lines] == [1, 2, 3, 4] and {"d_loss", "g_loss", "images_per_s"} <= set(lines[0])
  assert glob.glob(str(wd / "tensorboard" / "events.*"))
  r = run_cli("sample", "--workdir", wd, "--num", 5, "--out", tmp_path / "s.npz", "--seed", 1)
  assert r.returncode == 0, r.stderr
  images = np.load(tmp_path / "s.npz")["images"]
  assert images.shape == (5, 32, 32, 1) and images.dtype == np.uint8
  model = mmgen_jax.load(str(wd))
  assert model.step == 4
  np.testing.assert_array_equal(np.asarray(model.sample(jax.random.PRNGKey(1), 5)["images"]), images)


def _train_cmd(wd, steps):
  return [sys.executable, "-m", "mmgen_jax.cli", "train", "dcgan_digits", "--workdir", str(wd), "--no-progress",
          *SMOKE, "--set", f"train.steps={steps}", "--set", "train.ckpt_every=40", "--set", "train.sample_every=0",
          "--set", "train.log_every=20", "--set", "data.batch_size=32"]


def _wait_for_checkpoint(wd, proc, min_step, timeout=240):
  deadline = time.time() + timeout
  while time.time() < deadline and proc.poll() is None:
    done = [int(os.path.basename(d)) for d in glob.glob(str(wd / "checkpoints" / "*")) if
            os.path.basename(d).isdigit() and os.path.exists(os.path.join(d, "_CHECKPOINT_METADATA"))]
    if done and max(done) >= min_step:
      return max(done)
    time.sleep(0.05)
  raise AssertionError("the run ended or stalled before its first checkpoint")


def test_sigkill_mid_training_then_rerun_matches_uninterrupted(tmp_path):
  steps = 160  # Killed after the checkpoint at 40: 120 steps (seconds) of margin for the kill to land.
  wd = tmp_path / "killed"
  proc = subprocess.Popen(_train_cmd(wd, steps), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  _wait_for_checkpoint(wd, proc, 40)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
  r = subprocess.run(_train_cmd(wd, steps), cwd=REPO, capture_output=True, text=True)
  assert r.returncode == 0, r.stderr
  assert "resumed" in r.stdout
  r = subprocess.run(_train_cmd(tmp_path / "straight", steps), cwd=REPO, capture_output=True, text=True)
  assert r.returncode == 0, r.stderr
  a, b = mmgen_jax.load(str(wd)), mmgen_jax.load(str(tmp_path / "straight"))
  assert a.step == b.step == steps
  for x, y in zip(_params(a.state), _params(b.state)):
    np.testing.assert_array_equal(x, y)


def test_sigterm_saves_a_checkpoint_then_exits(tmp_path):
  wd = tmp_path / "term"
  proc = subprocess.Popen(_train_cmd(wd, 100000), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
  _wait_for_checkpoint(wd, proc, 40)
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err
  assert "SIGTERM: saved step" in out + err
  saved = int((out + err).split("SIGTERM: saved step ")[1].split()[0])
  assert mmgen_jax.load(str(wd)).step == saved


def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path):
  wd = tmp_path / "nan"
  r = run_cli("train", "dcgan_digits", "--workdir", wd, *SMOKE, "--set", "train.steps=2", "--set",
              "train.ckpt_every=2")
  assert r.returncode == 0, r.stderr
  r = run_cli("train", "dcgan_digits", "--workdir", wd, *SMOKE, "--set", "train.steps=40", "--set",
              "optim.d_lr=1e30", "--set", "optim.g_lr=1e30", "--set", "train.ckpt_every=1")
  assert r.returncode == 2
  msg = last_line(r.stderr)
  assert msg.startswith("error: ") and "became" in msg and "at step" in msg and "last good checkpoint is step" in msg
  assert "Traceback" not in r.stderr
  good = int(msg.split("last good checkpoint is step ")[1].split()[0])
  assert mmgen_jax.load(str(wd)).step == good
  leaves = jax.tree.leaves(jax.device_get(mmgen_jax.load(str(wd)).state))
  assert all(np.all(np.isfinite(x)) for x in leaves if np.issubdtype(np.asarray(x).dtype, np.floating))


@pytest.mark.parametrize("args,expected", [
    (["train", "dcgan_digit", "--workdir", "{wd}"], "did you mean: dcgan_digits"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "optim.glr=1"], "did you mean: optim.g_lr"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "train.steps=ten"], "train.steps expects int"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "data.source=tfds:no_such_set"], "not known to"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "data.source=folder:{wd}_gone"], "does not exist"),
    (["sample", "--workdir", "{wd}", "--num", "2", "--out", "{wd}/x.npz"], "train first"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, expected):
  r = run_main(capsys, *[a.format(wd=tmp_path / "w") for a in args])
  assert r.returncode == 2, r.stderr
  assert "Traceback" not in r.stderr
  assert last_line(r.stderr).startswith("error: ") and expected in last_line(r.stderr)


def test_cli_keeps_compiled_programs_in_the_cache_dir_unless_told_otherwise(tmp_path):
  code = ("import jax; from mmgen_jax.cli import enable_compilation_cache; enable_compilation_cache(); "
          "print(jax.config.jax_compilation_cache_dir)")
  env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
  run = lambda extra: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                     env={**env, "MMGEN_CACHE_DIR": str(tmp_path), **extra}).stdout.strip()
  assert run({}) == str(tmp_path / "xla")
  assert run({"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "mine")}) == str(tmp_path / "mine")  # JAX's own wins
  assert run({"MMGEN_XLA_CACHE": "0"}) == "None"
