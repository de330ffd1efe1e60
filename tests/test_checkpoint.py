"""Checkpoint round trips, retention, damaged-step fallback and restore onto another device count."""
import glob
import os

import jax
import jax.numpy as jnp
import pytest

from mmgen_jax import parallel
from mmgen_jax.checkpoint import Checkpointer, abstract_with_sharding
from mmgen_jax.errors import UserError


def _state(value):
  return {"w": jnp.full((3, 4), value, jnp.float32), "step": jnp.asarray(int(value), jnp.int32)}


def _abstract():
  return abstract_with_sharding(jax.eval_shape(lambda: _state(0.0)), parallel.replicated(parallel.make_mesh()))


def test_round_trip_with_config_and_metadata(tmp_path):
  ckpt = Checkpointer(tmp_path / "c", keep=2)
  ckpt.save(1, _state(1.0), {"family": "toy", "nested": {"a": 1}}, {"note": "x"})
  ckpt.wait()
  state, step = ckpt.restore(_abstract())
  assert step == 1 and float(state["w"][0, 0]) == 1.0
  assert ckpt.read_json() == ({"family": "toy", "nested": {"a": 1}}, {"note": "x"})
  ckpt.close()


def test_keeps_latest_n_and_best_by_metric(tmp_path):
  ckpt = Checkpointer(tmp_path / "c", keep=2, keep_best=1, best_metric="fid", best_mode="min")
  for step, fid in [(1, 5.0), (2, 1.0), (3, 4.0), (4, 6.0), (5, 7.0)]:
    ckpt.save(step, _state(step), {}, {}, metrics={"fid": fid})
    ckpt.wait()
  assert ckpt.steps() == [2, 4, 5]  # The best (fid 1.0 at step 2) and the latest two.
  ckpt.close()


def test_damaged_latest_falls_back_to_previous_with_warning(tmp_path):
  ckpt = Checkpointer(tmp_path / "c", keep=3)
  for step in (1, 2):
    ckpt.save(step, _state(step), {"family": "toy"}, {})
  ckpt.close()
  for f in glob.glob(str(tmp_path / "c" / "2" / "state" / "**" / "*"), recursive=True):
    if os.path.isfile(f):
      with open(f, "wb") as fh:
        fh.write(b"\0garbage")
  ckpt = Checkpointer(tmp_path / "c", keep=3)
  with pytest.warns(UserWarning, match="checkpoint step 2 .* unreadable"):
    state, step = ckpt.restore(_abstract())
  assert step == 1 and float(state["w"][0, 0]) == 1.0


def test_nothing_restorable_is_a_clear_error(tmp_path):
  ckpt = Checkpointer(tmp_path / "c")
  with pytest.raises(UserError, match="no checkpoint .* could be restored"):
    ckpt.restore(_abstract())


def test_an_interrupted_atomic_write_leaves_the_previous_file(tmp_path):
  from mmgen_jax.files import atomic_write
  path = str(tmp_path / "f.json")
  with atomic_write(path) as f:
    f.write("old")
  with pytest.raises(RuntimeError):
    with atomic_write(path) as f:
      f.write("new, half")
      raise RuntimeError("killed")
  assert open(path).read() == "old"
