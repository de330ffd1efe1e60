"""8 fake CPU devices, and 2 processes on loopback with CPU collectives, give the params of one device."""
import os
import socket
import subprocess
import sys

import numpy as np

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


def test_eight_devices_match_one_and_restore_on_one(tmp_path):
  assert "devices=1 " in _check(_run(tmp_path / "one.npz", "--devices", 1, devices=8))
  assert "devices=8 " in _check(_run(tmp_path / "eight.npz", "--devices", 8, "--save", tmp_path / "ckpt", devices=8))
  _assert_same(tmp_path / "one.npz", tmp_path / "eight.npz")

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
  _, abstract = trainer.build_state(dcgan, config, mesh, {"image": np.zeros((1, 32, 32, 1), np.uint8)})
  state, step = ckpt.restore(abstract)
  assert step == 3 and state.g_params is not None
  eight = np.load(tmp_path / "eight.npz")
  restored = jax.tree_util.tree_leaves_with_path(jax.device_get((state.g_params, state.d_params)))
  for k, v in restored:
    np.testing.assert_array_equal(eight[jax.tree_util.keystr(k)], v)


def test_two_processes_on_loopback_match_one(tmp_path):
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  procs = [_run(tmp_path / "multi.npz", "--coordinator", f"127.0.0.1:{port}", "--num-processes", 2,
                "--process-id", i, devices=2) for i in range(2)]
  single = _run(tmp_path / "single.npz", "--devices", 1)
  errs = [_check(p) for p in procs]
  assert "devices=4 processes=2" in errs[0]
  _check(single)
  _assert_same(tmp_path / "single.npz", tmp_path / "multi.npz")
