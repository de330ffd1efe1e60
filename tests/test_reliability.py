"""Faults a long training job meets, each ending in a recovery or one `error:` line: damaged or emptied checkpoints,
a second trainer on the workdir, bad values and files, a full disk, NaN before the first checkpoint, SIGTERM.

Most run the CLI in this process (`run_main`) on a copy of one small trained DCGAN workdir; the ones about the
process itself (exit status on a signal, output at interpreter exit) run it as a subprocess."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

import mmgen_jax
from conftest import REPO, cli_main, last_line, run_cli, run_main, wait_for_checkpoint
from mmgen_jax.errors import UserError

TINY = ["--no-progress", "--set", "data.batch_size=8", "--set", "model.z_dim=8", "--set", "model.g_width=8",
        "--set", "model.d_width=8", "--set", "train.log_every=1", "--set", "train.num_grid=4", "--set",
        "train.eval_every=0", "--set", "train.sample_every=0", "--set", "train.ckpt_every=2"]


def _train(capsys, workdir, steps, *extra):
  return run_main(capsys, "train", "dcgan_digits", "--workdir", workdir, *TINY, "--set", f"train.steps={steps}",
                  *extra)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """A DCGAN workdir trained 4 steps (checkpoints 2 and 4, a metrics line per step); tests use copies."""
  workdir = tmp_path_factory.mktemp("trained") / "run"
  assert cli_main("train", "dcgan_digits", "--workdir", workdir, *TINY, "--set", "train.steps=4") == 0
  return workdir


@pytest.fixture
def workdir(trained, tmp_path):
  copy = tmp_path / "run"
  shutil.copytree(trained, copy)
  return copy


def _steps_logged(workdir):
  return [json.loads(line)["step"] for line in open(workdir / "metrics.jsonl")]


def _leaves(workdir):
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(mmgen_jax.load(str(workdir)).state))]


def _damage(step_dir):
  for name in ("_METADATA", "manifest.ocdbt"):
    os.remove(step_dir / "state" / name)


def test_a_damaged_newest_checkpoint_is_set_aside_and_its_step_saved_again(workdir, trained, capsys):
  _damage(workdir / "checkpoints" / "4")
  with pytest.warns(UserWarning, match="checkpoint step 4 .* unreadable"):
    result = _train(capsys, workdir, 4)
  assert result.returncode == 0, result.stderr
  assert "resumed" in result.stdout and "from step 2" in result.stdout
  assert os.path.isdir(workdir / "checkpoints_damaged" / "4")
  import warnings
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # The newest checkpoint is whole again: loading it warns about nothing.
    for x, y in zip(_leaves(workdir), _leaves(trained)):  # Steps 3-4 retrained bit for bit.
      np.testing.assert_array_equal(x, y)
  assert _steps_logged(workdir) == [1, 2, 3, 4]


def test_an_emptied_checkpoints_folder_restarts_with_a_note_and_one_metrics_line_per_step(workdir, capsys):
  for step_dir in glob.glob(str(workdir / "checkpoints" / "*")):
    shutil.rmtree(step_dir)
  result = _train(capsys, workdir, 4)
  assert result.returncode == 0, result.stderr
  assert "has metrics up to step 4 but no checkpoint: training from step 0 again" in result.stderr
  assert _steps_logged(workdir) == [1, 2, 3, 4]


def test_a_resume_past_logged_steps_never_logs_a_step_twice(workdir, capsys):
  shutil.rmtree(workdir / "checkpoints" / "4")  # As after a kill between the metrics line and the checkpoint.
  with open(workdir / "metrics.jsonl", "a") as f:
    f.write('{"step": 5, "d_lo')  # And a line the kill cut short.
  result = _train(capsys, workdir, 6)
  assert result.returncode == 0, result.stderr
  assert _steps_logged(workdir) == [1, 2, 3, 4, 5, 6]


def test_a_second_trainer_on_a_workdir_is_refused_naming_the_first(workdir, capsys):
  from mmgen_jax.locks import exclusive_lock
  before = open(workdir / "metrics.jsonl").read()
  with exclusive_lock(str(workdir / ".train-0.lock"), lambda holder: holder):  # The first run, still training.
    result = _train(capsys, workdir, 6)
  assert result.returncode == 2
  assert last_line(result.stderr) == (f"error: workdir {workdir} is being trained by another run (pid {os.getpid()} "
                                      f"on {os.uname().nodename}): wait for it to end or stop it, or use another "
                                      f"--workdir")
  assert open(workdir / "metrics.jsonl").read() == before
  assert _train(capsys, workdir, 6).returncode == 0  # The lock went with the run that held it.


@pytest.mark.parametrize("setting, expected", [
    ("data.batch_size=0", "data.batch_size=0 must be at least 1"),
    ("data.batch_size=-8", "data.batch_size=-8 must be at least 1"),
    ("train.ckpt_every=0", "train.ckpt_every=0 must be at least 1"),
    ("train.steps=0", "train.steps=0 must be at least 1"),
    ("train.steps=-5", "train.steps=-5 must be at least 1"),
    ("train.log_every=0", "train.log_every=0 must be at least 1"),
    ("train.cpu_devices=-1", "train.cpu_devices=-1 must be at least 0"),
])
def test_values_no_run_can_use_are_one_line_and_create_nothing(tmp_path, capsys, setting, expected):
  result = _train(capsys, tmp_path / "new", 4, "--set", setting)
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert last_line(result.stderr).startswith(f"error: {expected}") and "--set" in last_line(result.stderr)
  assert not os.path.exists(tmp_path / "new")


def test_a_run_that_fails_before_its_first_step_removes_the_workdir_it_created(tmp_path, capsys):
  result = _train(capsys, tmp_path / "new", 4, "--set", "data.batch_size=4096")  # More than the dataset holds.
  assert result.returncode == 2 and "fewer than data.batch_size=4096" in last_line(result.stderr)
  assert not os.path.exists(tmp_path / "new")


def test_an_explicit_cpu_device_count_that_cannot_split_the_batch_is_refused(tmp_path, capsys, monkeypatch):
  monkeypatch.setenv("MMGEN_CPU_DEVICES", "2")
  result = _train(capsys, tmp_path / "new", 4, "--set", "data.batch_size=7")
  assert result.returncode == 2
  assert "MMGEN_CPU_DEVICES=2 devices cannot split data.batch_size=7" in last_line(result.stderr)


def test_nan_before_the_first_checkpoint_says_none_was_saved(tmp_path, capsys):
  result = _train(capsys, tmp_path / "nan", 40, "--set", "optim.d_lr=1e30", "--set", "optim.g_lr=1e30", "--set",
                  "train.ckpt_every=1000")
  assert result.returncode == 2 and "Traceback" not in result.stderr
  message = last_line(result.stderr)
  assert "became" in message and "no checkpoint was saved before it" in message and "rerun to start again" in message
  assert "step None" not in message


def test_nan_after_a_checkpoint_names_it_and_it_stays_loadable(workdir, capsys):
  result = _train(capsys, workdir, 40, "--set", "optim.d_lr=1e30", "--set", "optim.g_lr=1e30", "--set",
                  "train.ckpt_every=1")
  assert result.returncode == 2 and "Traceback" not in result.stderr
  message = last_line(result.stderr)
  assert message.startswith("error: ") and "became" in message and "last good checkpoint is step" in message
  good = int(message.split("last good checkpoint is step ")[1].split()[0])
  assert good >= 4 and mmgen_jax.load(str(workdir)).step == good
  assert all(np.all(np.isfinite(x)) for x in _leaves(workdir) if np.issubdtype(x.dtype, np.floating))


def test_a_full_disk_is_one_line_before_anything_is_written_and_the_rerun_resumes(workdir, capsys, monkeypatch):
  from mmgen_jax import checkpoint
  real = shutil.disk_usage
  monkeypatch.setattr(checkpoint.shutil, "disk_usage", lambda path: real(path)._replace(free=100_000))
  result = _train(capsys, workdir, 8)
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert "saving checkpoint step 6 needs about" in last_line(result.stderr)
  assert "free space on that disk" in last_line(result.stderr)
  assert sorted(os.listdir(workdir / "checkpoints")) == ["2", "4"]  # No partial step 6.
  monkeypatch.setattr(checkpoint.shutil, "disk_usage", real)
  assert _train(capsys, workdir, 8).returncode == 0
  assert mmgen_jax.load(str(workdir)).step == 8


def test_a_storage_error_inside_an_async_save_is_one_line(workdir, capsys, monkeypatch):
  """What TensorStore raises from orbax's writer threads when the disk fills while a save is under way."""
  from mmgen_jax import checkpoint

  def fail(self, *args, **kwargs):
    raise ValueError('RESOURCE_EXHAUSTED: Error writing local file "x/_sharding": Failed to write 25465 bytes to '
                     'file 11: No space left on device [OS error: No space left on device]')

  monkeypatch.setattr(checkpoint.Checkpointer, "save", fail)
  result = _train(capsys, workdir, 8)
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert last_line(result.stderr).startswith(f"error: writing to {workdir} failed: No space left on device: ")


def test_a_cond_file_that_is_not_an_npz_of_numeric_arrays_is_one_line(workdir, tmp_path, capsys):
  text = tmp_path / "labels.txt"
  text.write_text("1,2,3")
  objects = tmp_path / "objects.npz"
  np.savez(objects, labels=np.array([{"a": 1}], dtype=object))
  for path in (text, objects, tmp_path / "single.npy"):
    if path.suffix == ".npy":
      np.save(path, np.zeros(3))
    result = run_main(capsys, "sample", "--workdir", workdir, "--num", 2, "--cond", path, "--out", tmp_path / "o.npz")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert last_line(result.stderr).startswith(f"error: --cond file {str(path)!r} is not an .npz of numeric arrays")


def test_labels_outside_the_classes_are_refused(smoke_workdir, tmp_path, capsys):
  result = run_main(capsys, "sample", "--workdir", smoke_workdir("cgan_digits"), "--num", 4, "--labels",
                    "0,10,99,-1", "--out", tmp_path / "o.npz")
  assert result.returncode == 2
  assert last_line(result.stderr) == ("error: labels condition holds -1, 10, 99, outside the model's classes 0..9: "
                                      "pass labels in 0..9")
  model = mmgen_jax.load(smoke_workdir("cgan_digits"))
  with pytest.raises(UserError, match="labels condition is float32, expected int32: pass integers"):
    model.sample(0, 2, labels=np.array([1.0, 2.7], np.float32))  # Would be truncated to 1, 2.
  assert np.asarray(model.sample(0, 2, labels=np.array([3, 9], np.uint8))["labels"]).tolist() == [3, 9]


def test_float_images_are_refused_not_scaled_as_bytes():
  from mmgen_jax.conditions import check_condition
  with pytest.raises(UserError, match=r"image condition is float32, expected uint8: .*\(x \* 255\)\.round\(\)"):
    check_condition("image", np.full((2, 8, 8, 1), 0.5, np.float32), (8, 8, 1))
  with pytest.raises(UserError, match="audio condition is int16, expected float32"):
    check_condition("audio", np.zeros((2, 40), np.int16), (40,), dtype="float32")
  assert check_condition("audio", np.zeros((2, 40), np.float64), (40,), dtype="float32").shape == (2, 40)
  assert check_condition("mask", np.ones((2, 8, 8, 1), bool), (8, 8, 1), dtype=None).dtype == bool


def _cli_process(*args):
  return subprocess.Popen([sys.executable, "-m", "mmgen_jax.cli", *map(str, args)], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_saves_then_exits_with_the_signal_status_and_a_resume_line(tmp_path):
  workdir = tmp_path / "term"
  proc = _cli_process("train", "dcgan_digits", "--workdir", workdir, *TINY, "--set", "train.steps=100000",
                      "--set", "train.ckpt_every=20", "--set", "train.log_every=20")
  wait_for_checkpoint(workdir, proc, 20)
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 128 + signal.SIGTERM, err
  assert "done:" not in out
  line = last_line(err)
  assert line.startswith("interrupted by SIGTERM at step ") and line.endswith("; rerun to resume"), err
  saved = int(line.split(" at step ")[1].split(",")[0])
  assert mmgen_jax.load(str(workdir)).step == saved


def test_sample_on_an_emptied_checkpoints_folder_prints_one_line_and_nothing_at_exit(workdir):
  for step_dir in glob.glob(str(workdir / "checkpoints" / "*")):
    shutil.rmtree(step_dir)
  result = run_cli("sample", "--workdir", workdir, "--num", 2, "--out", workdir / "o.npz")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [f"error: no readable checkpoint in {workdir / 'checkpoints'}: train "
                                                f"first with `mmgen-jax train CONFIG --workdir {workdir}`"]


def test_a_sample_count_below_one_is_one_line_that_names_the_count(workdir, tmp_path, capsys):
  for num in (0, -3):
    result = run_main(capsys, "sample", "--workdir", workdir, "--num", num, "--out", tmp_path / "o.npz")
    assert result.returncode == 2
    assert last_line(result.stderr) == f"error: --num must be a positive number of samples, got {num}: e.g. --num 16"
  with pytest.raises(UserError, match="the number of samples must be a positive integer, got -3"):
    mmgen_jax.load(str(workdir)).sample(0, -3)
