"""End to end through the CLI and the trainer: train, sample, resume after SIGKILL, bad input, the compile cache
(the other faults a run meets: tests/test_reliability.py)."""
import glob
import json
import os
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

import mmgen_jax
from conftest import REPO, last_line, run_cli, run_main, wait_for_checkpoint

SMOKE = ["--set", "data.batch_size=8", "--set", "model.z_dim=8", "--set", "model.g_width=8", "--set",
         "model.d_width=8", "--set", "train.log_every=1", "--set", "train.num_grid=4", "--set", "train.eval_every=0"]


def _params(state):
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get((state.g_params, state.d_params,
                                                                 state.g_ema_params)))]


def test_cli_train_sample_and_python_load(tmp_path, capsys):
  wd = tmp_path / "run"
  r = run_cli("train", "dcgan_digits", "--workdir", wd, *SMOKE, "--set", "train.steps=4", "--set",
              "train.sample_every=2", "--set", "train.ckpt_every=2")
  assert r.returncode == 0, r.stderr
  assert sorted(os.listdir(wd / "samples")) == ["step_000002.png", "step_000004.png"]
  lines = [json.loads(l) for l in open(wd / "metrics.jsonl")]
  assert [l["step"] for l in lines] == [1, 2, 3, 4] and {"d_loss", "g_loss", "images_per_s"} <= set(lines[0])
  assert glob.glob(str(wd / "tensorboard" / "events.*"))
  r = run_main(capsys, "sample", "--workdir", wd, "--num", 5, "--out", tmp_path / "s.npz", "--seed", 1)
  assert r.returncode == 0, r.stderr
  images = np.load(tmp_path / "s.npz")["images"]
  assert images.shape == (5, 32, 32, 1) and images.dtype == np.uint8
  model = mmgen_jax.load(str(wd))
  assert model.step == 4
  np.testing.assert_array_equal(np.asarray(model.sample(jax.random.PRNGKey(1), 5)["images"]), images)


def test_sigkill_mid_training_then_rerun_matches_uninterrupted(tmp_path, capsys):
  steps = 100  # Killed after the checkpoint at 20: 80 steps (a few seconds) of margin for the kill to land.
  args = ["train", "dcgan_digits", *SMOKE, "--no-progress", "--set", f"train.steps={steps}", "--set",
          "train.ckpt_every=20", "--set", "train.sample_every=0", "--set", "train.log_every=10"]
  wd = tmp_path / "killed"
  proc = subprocess.Popen([sys.executable, "-m", "mmgen_jax.cli", *args, "--workdir", str(wd)], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  wait_for_checkpoint(wd, proc, 20)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
  r = run_main(capsys, *args, "--workdir", wd)  # The resumed and the straight run: in this process.
  assert r.returncode == 0, r.stderr
  assert "resumed" in r.stdout
  r = run_main(capsys, *args, "--workdir", tmp_path / "straight")
  assert r.returncode == 0, r.stderr
  a, b = mmgen_jax.load(str(wd)), mmgen_jax.load(str(tmp_path / "straight"))
  assert a.step == b.step == steps
  for x, y in zip(_params(a.state), _params(b.state)):
    np.testing.assert_array_equal(x, y)
  steps_logged = [json.loads(line)["step"] for line in open(wd / "metrics.jsonl")]
  assert steps_logged == list(range(10, steps + 1, 10))  # Each step once, across the kill.


@pytest.mark.parametrize("args,expected", [
    (["train", "dcgan_digit", "--workdir", "{wd}"], "did you mean: dcgan_digits"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "optim.glr=1"], "did you mean: optim.g_lr"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "train.steps=ten"], "train.steps expects int"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "data.source=tfds:no_such_set"], "no_such_set"),
    (["train", "dcgan_digits", "--workdir", "{wd}", "--set", "data.source=folder:{wd}_gone"], "does not exist"),
    (["sample", "--workdir", "{wd}", "--num", "2", "--out", "{wd}/x.npz"], "train first"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, expected):
  r = run_main(capsys, *[a.format(wd=tmp_path / "w") for a in args])
  assert r.returncode == 2, r.stderr
  assert "Traceback" not in r.stderr
  assert last_line(r.stderr).startswith("error: ") and expected in last_line(r.stderr)


def test_cli_keeps_compiled_programs_in_the_cache_dir_unless_told_otherwise(tmp_path):
  # Compiles one program after enabling the cache: in a fresh install the cache needs `filelock` (a dependency), or
  # JAX only warns and the folder stays empty.
  code = ("import jax, jax.numpy as jnp; from mmgen_jax.cli import enable_compilation_cache; "
          "enable_compilation_cache(); jax.jit(lambda x: jnp.tanh(x) @ x)(jnp.ones((8, 8))).block_until_ready(); "
          "print(jax.config.jax_compilation_cache_dir)")
  env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
  env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
  run = lambda extra: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                     env={**env, "MMGEN_CACHE_DIR": str(tmp_path), **extra})
  result = run({})
  assert result.stdout.strip() == str(tmp_path / "xla") and "filelock" not in result.stderr, result.stderr
  assert os.listdir(tmp_path / "xla"), "nothing was written to the compilation cache"
  assert run({"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "mine")}).stdout.strip() == str(tmp_path / "mine")
  assert run({"MMGEN_XLA_CACHE": "0"}).stdout.strip() == "None"
