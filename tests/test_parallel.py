"""8 fake CPU devices, and 2 processes on loopback with CPU collectives, give the params of one device."""
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO

WORKER = os.path.join(REPO, "tests", "parallel_worker.py")


def _run(out, *args, devices=1):
  flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
  env = {**os.environ, "XLA_FLAGS": flags}
  return subprocess.Popen([sys.executable, WORKER, str(out), *map(str, args)], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check(proc):
  out, err = proc.communicate(timeout=300)
  assert proc.returncode == 0, err[-3000:]
  return err


def _assert_same(a, b):
  a, b = np.load(a), np.load(b)
  assert sorted(a.files) == sorted(b.files) and len(a.files) > 4
  for k in a.files:
    np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-5, err_msg=k)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
  """The params after the worker's steps on this process's one device (in-process: the suite runs XLA's single CPU
  device, under the same flags as the worker processes)."""
  import parallel_worker

  out = tmp_path_factory.mktemp("one_device") / "one.npz"
  parallel_worker.train_and_save(out, devices=1)
  return out


def test_eight_devices_match_one_and_restore_on_one(tmp_path, one_device):
  assert "devices=8 " in _check(_run(tmp_path / "eight.npz", "--devices", 8, "--save", tmp_path / "ckpt", devices=8))
  _assert_same(one_device, tmp_path / "eight.npz")

  # The 8-device checkpoint restores onto this process's single device with the same values.
  import jax
  from mmgen_jax import parallel
  from mmgen_jax.checkpoint import Checkpointer
  from mmgen_jax.config import Config
  from mmgen_jax.models import dcgan
  from mmgen_jax.train import trainer
  ckpt = Checkpointer(tmp_path / "ckpt")
  config = Config(ckpt.read_json()[0])
  mesh = parallel.make_mesh(jax.devices()[:1])
  _, abstract = trainer.build_state(dcgan, config, mesh)
  state, step = ckpt.restore(abstract)
  assert step == 3 and state.g_params is not None
  eight = np.load(tmp_path / "eight.npz")
  restored = jax.tree_util.tree_leaves_with_path(jax.device_get((state.g_params, state.d_params)))
  for k, v in restored:
    np.testing.assert_array_equal(eight[jax.tree_util.keystr(k)], v)


def test_two_processes_on_loopback_match_one(tmp_path, one_device):
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  procs = [_run(tmp_path / "multi.npz", "--coordinator", f"127.0.0.1:{port}", "--num-processes", 2,
                "--process-id", i, devices=2) for i in range(2)]
  errs = [_check(p) for p in procs]
  assert "devices=4 processes=2" in errs[0]
  _assert_same(one_device, tmp_path / "multi.npz")


def test_cpu_device_count_divides_the_batch_and_reads_the_environment(monkeypatch):
  from mmgen_jax import parallel
  from mmgen_jax.errors import UserError
  monkeypatch.setenv(parallel.CPU_DEVICES_ENV, "4")
  assert parallel.cpu_device_count() == 4
  assert parallel.cpu_device_count(batch_size=8) == 4
  # A count asked for explicitly is never lowered without a word: it must divide the batch.
  with pytest.raises(UserError, match=r"MMGEN_CPU_DEVICES=4 devices cannot split data.batch_size=6.*batch_size=4"):
    parallel.cpu_device_count(batch_size=6)
  monkeypatch.setenv(parallel.CPU_DEVICES_ENV, "2")
  with pytest.raises(UserError, match=r"cannot split data.batch_size=7.*MMGEN_CPU_DEVICES=1"):
    parallel.cpu_device_count(batch_size=7)
  monkeypatch.setenv(parallel.CPU_DEVICES_ENV, "two")
  with pytest.raises(UserError, match="MMGEN_CPU_DEVICES='two'"):
    parallel.cpu_device_count()
  # One device per core by default, lowered to the largest count that divides the batch.
  monkeypatch.delenv(parallel.CPU_DEVICES_ENV)
  monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
  assert parallel.cpu_device_count() == 4
  assert parallel.cpu_device_count(batch_size=6) == 3
  # A config's `train.cpu_devices` caps the count; the environment, when set, wins over it.
  assert parallel.cpu_device_count(batch_size=8, most=1) == 1
  assert parallel.cpu_device_count(batch_size=6, most=2) == 2
  monkeypatch.setenv(parallel.CPU_DEVICES_ENV, "4")
  assert parallel.cpu_device_count(batch_size=8, most=1) == 4


_SPLIT = ("from mmgen_jax import parallel; parallel.split_cpu_into_devices({batch}); import jax; "
          "print(jax.device_count())")


@pytest.mark.parametrize("flags, batch, expected", [("", 8, "4"), ("--xla_force_host_platform_device_count=2", 6, "2")])
def test_split_cpu_into_devices_sets_the_count_unless_xla_flags_do(flags, batch, expected):
  env = {**os.environ, "MMGEN_CPU_DEVICES": "4", "XLA_FLAGS": flags}
  out = subprocess.run([sys.executable, "-c", _SPLIT.format(batch=batch)], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.split()[-1] == expected



def test_split_cpu_for_a_config_keeps_its_cap_as_the_trainer_does(monkeypatch):
  """The CLI and the step benchmarks split the CPU for a config through one function: any2any_digits, capped at one
  device, runs as one on a machine of any core count (the benchmarks once timed it split per core)."""
  from mmgen_jax import parallel
  from mmgen_jax.config import get_config

  env = {k: v for k, v in os.environ.items() if k != parallel.CPU_DEVICES_ENV}
  env["XLA_FLAGS"] = ""
  code = ("from mmgen_jax import parallel; from mmgen_jax.config import get_config; "
          "parallel.split_cpu_for(get_config('any2any_digits')); import jax; print(jax.device_count())")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.split()[-1] == "1"
  calls = []
  monkeypatch.setattr(parallel, "split_cpu_into_devices", lambda batch, most: calls.append((batch, most)))
  config = get_config("dcgan_digits")
  parallel.split_cpu_for(config, processes=2)
  assert calls == [(config.data.batch_size // 2, 0)]

def test_the_adversarial_step_moves_no_examples_between_devices():
  """D sees real and fake interleaved, so on a batch-sharded mesh each device keeps its own slices: a compiled
  two-device DCGAN step has the gradient and batch-norm all-reduces and no all-to-all or permutation."""
  code = ("from mmgen_jax import parallel; parallel.split_cpu_into_devices()\n"
          "import numpy as np\n"
          "from mmgen_jax.config import get_config\nfrom mmgen_jax.models import dcgan\n"
          "from mmgen_jax.train import trainer\n"
          "config = get_config('dcgan_digits', smoke=True)\n"
          "mesh = parallel.make_mesh()\n"
          "batch = {'image': np.zeros((config.data.batch_size, 32, 32, 1), np.uint8)}\n"
          "_, abstract = trainer.build_state(dcgan, config, mesh)\n"
          "hlo = trainer.make_train_step(dcgan, config, mesh).lower(abstract, parallel.to_global(batch, mesh))"
          ".compile().as_text()\n"
          "print(mesh.devices.size, hlo.count(' all-reduce('), hlo.count(' all-to-all('), "
          "hlo.count(' collective-permute('))\n")
  env = {**os.environ, "MMGEN_CPU_DEVICES": "2"}
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  devices, all_reduce, all_to_all, permute = map(int, out.stdout.split()[-4:])
  assert devices == 2 and all_reduce > 0 and all_to_all == 0 and permute == 0
