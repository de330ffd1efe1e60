"""Optimizers chosen by config (train/optim.py) and the condition checks every sampler shares (conditions.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.config import Config
from mmgen_jax.errors import UserError
from mmgen_jax.train.optim import make_optimizer

PARAMS = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}


def _structure(optim, lr=1e-3, steps=100):
  return jax.tree.structure(make_optimizer(Config(optim), lr, steps).init(PARAMS))


def test_state_structure_depends_only_on_name_clipping_and_scheduling():
  """Checkpoints restore across rates, moments and schedule shapes, and each family's earlier hand-built
  transformation is reproduced (so checkpoints from before `train/optim.py` still load)."""
  plain = _structure({})
  assert _structure({"b1": 0.5, "b2": 0.99}, lr=5.0) == plain
  assert plain == jax.tree.structure(optax.adam(1e-3).init(PARAMS))
  cosine = _structure({"schedule": "cosine", "grad_clip": 1.0})
  assert cosine == _structure({"schedule": "warmup_cosine", "warmup_steps": 10, "grad_clip": 1.0}, lr=3.0)
  assert cosine == jax.tree.structure(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(
      optax.cosine_decay_schedule(1e-3, 100))).init(PARAMS))
  clipped = _structure({"grad_clip": 1.0})
  assert clipped != plain
  assert clipped == jax.tree.structure(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3)).init(PARAMS))
  adamw = _structure({"name": "adamw", "weight_decay": 1e-4, "grad_clip": 1.0, "schedule": "warmup_cosine",
                      "warmup_steps": 10})
  assert adamw == jax.tree.structure(optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(
      optax.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 100), weight_decay=1e-4)).init(PARAMS))


def test_schedules_follow_their_definitions():
  grads = jax.tree.map(jnp.ones_like, PARAMS)

  def first_update(optim, steps=100, skip=0):
    tx = make_optimizer(Config(optim), 1.0, steps)
    state = tx.init(PARAMS)
    for _ in range(skip):
      _, state = tx.update(grads, state, PARAMS)
    return float(tx.update(grads, state, PARAMS)[0]["b"][0])

  assert first_update({}) == pytest.approx(-1.0, rel=1e-3)  # Adam's first step is the rate.
  assert first_update({"schedule": "cosine"}, skip=100) == pytest.approx(-0.01, rel=1e-2)  # Ends at 1%.
  assert first_update({"schedule": "warmup_cosine", "warmup_steps": 10}) == 0.0  # Warmup starts at 0.


@pytest.mark.parametrize("optim,match", [({"name": "sgd"}, "optim.name='sgd'"),
                                         ({"schedule": "linear"}, "optim.schedule='linear'")])
def test_unknown_optimizer_settings_are_one_error_line(optim, match):
  with pytest.raises(UserError, match=match):
    make_optimizer(Config(optim), 1e-3, 10)


def test_tile_cycles_rows_on_host_and_under_jit():
  x = np.arange(6).reshape(3, 2)
  np.testing.assert_array_equal(tile(x, 7)[:, 0], [0, 2, 4, 0, 2, 4, 0])
  assert isinstance(tile(x, 2), np.ndarray)
  np.testing.assert_array_equal(jax.jit(lambda a: tile(a, 4))(x), tile(x, 4))


def test_check_condition_batches_a_single_example_and_reports_the_expected_shape():
  assert check_condition("image", np.zeros((4, 4, 1), np.uint8), (4, 4, 1)).shape == (1, 4, 4, 1)
  with pytest.raises(UserError, match=r"image condition has shape \[2, 4, 5, 1\], expected uint8 \[N, 4, 4, 1\]"):
    check_condition("image", np.zeros((2, 4, 5, 1), np.uint8), (4, 4, 1))
  with pytest.raises(UserError, match=r"\[N, \*, \*, 3\]; each \* a multiple of 4"):
    check_condition("image", np.zeros((1, 8, 6, 3), np.uint8), (None, None, 3), multiple_of=4)
  with pytest.raises(UserError, match="expected uint8"):
    check_condition("lr_video", np.zeros((6, 8, 8, 3)), (None, None, None, 3), single=False)
  with pytest.raises(UserError, match="has shape \\[0, 4\\]"):
    check_condition("audio", np.zeros((0, 4)), (4,), dtype="float32")
