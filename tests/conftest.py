"""Shared fixtures: a tiny DCGAN config, smoke-trained workdirs shared within a worker, and a CLI runner that
returns (exit code, stdout, stderr).

Tests that read the same smoke workdir carry `pytest.mark.xdist_group(CONFIG)` (run with `--dist loadgroup`), so
pytest-xdist sends them to one worker and each config is trained once per suite run.
"""
import os
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def smoke_config():
  from mmgen_jax.config import get_config
  return get_config("dcgan_digits", smoke=True)


@pytest.fixture(scope="session")
def smoke_workdir(tmp_path_factory):
  """smoke_workdir(CONFIG) -> path of a workdir where CONFIG's smoke config was trained (once per worker)."""
  from mmgen_jax.config import get_config
  from mmgen_jax.models import get_family
  from mmgen_jax.train.trainer import train

  trained = {}

  def get(name):
    if name not in trained:
      config = get_config(name, smoke=True)
      path = str(tmp_path_factory.mktemp(name))
      train(config, path, get_family(config.family), progress=False)
      trained[name] = path
    return trained[name]

  return get


def run_cli(*args, env=None, timeout=300):
  """Runs `python -m mmgen_jax.cli ARGS` in a fresh process; returns CompletedProcess (text)."""
  return subprocess.run([sys.executable, "-m", "mmgen_jax.cli", *map(str, args)], capture_output=True, text=True,
                        timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


def last_line(text):
  lines = [l for l in text.strip().splitlines() if l.strip()]
  return lines[-1] if lines else ""
