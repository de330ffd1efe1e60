"""Shared fixtures: a tiny DCGAN config, smoke-trained workdirs shared by every worker of a suite run, and a CLI
runner that returns (exit code, stdout, stderr).

Each smoke config is trained once per suite run, by whichever pytest-xdist worker asks for it first (under a file
lock; a worker that asks while it trains waits and reads it). Grouping its tests onto one worker with xdist's
`loadgroup` is not relied on: with pytest 9.2 and pytest-xdist 3.8 the group marks are silently ignored (xdist
writes a node attribute pytest no longer reads), and half the smoke configs were trained twice.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite is bound by XLA:CPU compiling hundreds of tiny programs, not by running them. Tests compile without
# LLVM's optimisation passes and with the classic elemental emitters, which compile about twice as fast as the MLIR
# fusion emitters unoptimised (HLO passes still run; results differ from the default build in the last ulp at most,
# and every comparison in the suite is between runs made under the same flags), and every process of one suite run
# (pytest-xdist workers, CLI subprocesses: they inherit this environment) shares one persistent compilation cache,
# so the identical programs of repeated CLI runs compile once. The benchmarks and the CLI use the default flags.
if "MMGEN_TEST_XLA_SETUP" not in os.environ:
  os.environ["MMGEN_TEST_XLA_SETUP"] = "1"
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
                             " --xla_cpu_use_fusion_emitters=false").strip()
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="mmgen_jax_test_xla_cache_")
  # Set up by the first process (the xdist controller), which outlives the workers: it removes the cache at exit.
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
  os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.3"
  # Smoke-trained workdirs, shared by all workers (see `smoke_workdir`).
  os.environ["MMGEN_TEST_SMOKE_DIR"] = tempfile.mkdtemp(prefix="mmgen_jax_test_smoke_")
  atexit.register(shutil.rmtree, os.environ["MMGEN_TEST_SMOKE_DIR"], ignore_errors=True)
  # Two xdist workers already fill the two cores: CLI runs keep XLA's single CPU device instead of splitting into one
  # per core (tests/test_parallel.py covers the split and multi-device results explicitly).
  os.environ.setdefault("MMGEN_CPU_DEVICES", "1")
  # Embedded datasets through their numpy path (the same arrays, cached as .npz): importing TensorFlow costs ~9 s in
  # every worker and CLI subprocess, and writing the video datasets as TFDS records a minute. The TFDS builders and
  # the tf.data iterator are tested against the numpy path explicitly (tests/test_data.py, `tensorflow` fixture).
  os.environ.setdefault("MMGEN_NO_TF", "1")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One smoke config per family trains in bfloat16 (model.compute_dtype): the zoo smoke test then restores, samples and
# evaluates a bf16 model of every family (tests/test_precision.py checks the dtypes of every config's step).
BF16_SMOKE_CONFIGS = ("any2any_digits", "cae_digits", "caption_digits", "cgan_digits", "dcgan_digits", "edges2faces",
                      "inpaint_faces", "mvae_digits", "style_photos", "vae_digits", "vgan_digits", "vsr_photos")
# Files of tests that run whole processes (multi-device, multi-process, signals): slow, not grouped.
_PROCESS_TEST_FILES = ("test_parallel.py", "test_train_cli.py", "test_reliability.py")


def pytest_collection_modifyitems(config, items):
  """The long tests first: those that read a smoke-trained workdir and those that run processes; the quick ones
  then fill both workers up to the end. In file order the heaviest files (vsr, zoo smoke) came last and left one
  worker idle for minutes."""
  del config

  def light(item):
    return "smoke_workdir" not in getattr(item, "fixturenames", ()) and os.path.basename(str(item.fspath)) not in (
        _PROCESS_TEST_FILES)

  items.sort(key=light)  # Stable: file order within each part.


@pytest.fixture
def smoke_config():
  from mmgen_jax.config import get_config
  return get_config("dcgan_digits", smoke=True)


@pytest.fixture(scope="session")
def smoke_workdir():
  """smoke_workdir(CONFIG) -> path of a workdir where CONFIG's smoke config was trained (once per suite run, shared
  by all workers: tests only read it); in bfloat16 for BF16_SMOKE_CONFIGS."""
  from mmgen_jax.config import apply_overrides, get_config
  from mmgen_jax.locks import file_lock
  from mmgen_jax.models import get_family
  from mmgen_jax.train.trainer import train

  def get(name):
    path = os.path.join(os.environ["MMGEN_TEST_SMOKE_DIR"], name)
    done = os.path.join(path, ".smoke-trained")
    with file_lock(path + ".lock"):  # Waits while another worker trains it.
      if not os.path.exists(done):
        shutil.rmtree(path, ignore_errors=True)  # A worker that failed half-way.
        config = get_config(name, smoke=True)
        if name in BF16_SMOKE_CONFIGS:  # As `--set model.compute_dtype=bfloat16` does.
          config = apply_overrides(config, ["model.compute_dtype=bfloat16"])
        train(config, path, get_family(config.family), progress=False)
        open(done, "w").close()
    return path

  return get


@pytest.fixture
def tensorflow(monkeypatch):
  """The TensorFlow/TFDS data path for this test (the suite runs the numpy path); skips where TF is absent."""
  from mmgen_jax.data import sources

  monkeypatch.delenv("MMGEN_NO_TF", raising=False)
  sources.have_tensorflow.cache_clear()
  if not sources.have_tensorflow():
    pytest.skip("TensorFlow not installed")
  yield
  sources.have_tensorflow.cache_clear()


def run_cli(*args, env=None, timeout=300):
  """Runs `python -m mmgen_jax.cli ARGS` in a fresh process; returns CompletedProcess (text)."""
  return subprocess.run([sys.executable, "-m", "mmgen_jax.cli", *map(str, args)], capture_output=True, text=True,
                        timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


def init_state(family, config, seed=0, key=None):
  """family.init_state(config, key) through the trainer's own jitted init on one device: eagerly it dispatches
  every initialiser as its own program (a V-GAN generator's init, apply and gradient: 33 s eagerly, 12 s jitted),
  and the trainer's program is the one a smoke run of the same config compiles (a persistent-cache hit)."""
  import jax

  from mmgen_jax import parallel
  from mmgen_jax.train import trainer
  key = jax.random.PRNGKey(seed) if key is None else key
  return trainer.make_init(family, config, parallel.make_mesh(jax.devices()[:1]))(key)


def cli_main(*args):
  """`mmgen_jax.cli.main(ARGS)` in this process; returns the exit status. `train` writes a CPU device count into
  XLA_FLAGS (for the backends a fresh CLI process starts): it is taken back, or later tests' subprocesses would
  inherit it and ignore MMGEN_CPU_DEVICES."""
  from mmgen_jax import cli

  flags = os.environ.get("XLA_FLAGS")
  try:
    return cli.main([str(a) for a in args])
  finally:
    if flags is None:
      os.environ.pop("XLA_FLAGS", None)
    else:
      os.environ["XLA_FLAGS"] = flags


def run_main(capsys, *args):
  """`mmgen-jax ARGS` in this process (no start-up, shared compile caches): CompletedProcess-like, with returncode,
  stdout and stderr. For CLI behaviour; `run_cli` where the process itself matters (signals, flags, environment)."""
  capsys.readouterr()
  code = cli_main(*args)
  captured = capsys.readouterr()
  return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def wait_for_checkpoint(workdir, proc, min_step, timeout=240):
  """Polls until `workdir` holds a committed checkpoint of step >= min_step (returns its step) while `proc` runs."""
  import glob
  import time

  deadline = time.time() + timeout
  while time.time() < deadline and proc.poll() is None:
    done = [int(os.path.basename(d)) for d in glob.glob(os.path.join(str(workdir), "checkpoints", "*")) if
            os.path.basename(d).isdigit() and os.path.exists(os.path.join(d, "_CHECKPOINT_METADATA"))]
    if done and max(done) >= min_step:
      return max(done)
    time.sleep(0.05)
  raise AssertionError("the run ended or stalled before its first checkpoint")


def last_line(text):
  lines = [l for l in text.strip().splitlines() if l.strip()]
  return lines[-1] if lines else ""
