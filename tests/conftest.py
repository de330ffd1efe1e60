"""Shared fixtures: a tiny DCGAN config and a CLI runner that returns (exit code, stdout, stderr)."""
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


def run_cli(*args, env=None, timeout=300):
  """Runs `python -m mmgen_jax.cli ARGS` in a fresh process; returns CompletedProcess (text)."""
  return subprocess.run([sys.executable, "-m", "mmgen_jax.cli", *map(str, args)], capture_output=True, text=True,
                        timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


def last_line(text):
  lines = [l for l in text.strip().splitlines() if l.strip()]
  return lines[-1] if lines else ""
