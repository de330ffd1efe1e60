"""One end-to-end smoke run per zoo config on its shrunken (smoke=True) config: train, restore, sample, evaluate."""
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mmgen_jax
from conftest import BF16_SMOKE_CONFIGS
from mmgen_jax.config import get_config, list_configs
from mmgen_jax.models import list_families


def _needs_absent_data(name):
  """Configs on data this machine lacks (tfds:mnist is never downloaded here) cannot train; say so, don't fail."""
  from mmgen_jax.data import open_source
  from mmgen_jax.errors import UserError
  config = get_config(name)
  try:
    open_source(config.data.source, config.data.split)
  except UserError as e:
    return str(e)
  return None


@pytest.mark.parametrize("name", list_configs())
def test_config_trains_restores_samples_and_evaluates(name, smoke_workdir):
  missing = _needs_absent_data(name)
  if missing:
    pytest.skip(missing)
  config = get_config(name, smoke=True)
  model = mmgen_jax.load(smoke_workdir(name))
  assert model.step == config.train.steps
  assert model.config.model.compute_dtype == ("bfloat16" if name in BF16_SMOKE_CONFIGS else "float32")
  floats = {str(x.dtype) for x in jax.tree.leaves(model.state) if jnp.issubdtype(x.dtype, jnp.floating)}
  assert floats == {"float32"}, floats  # bf16 compute keeps params, optimizer state and statistics in float32.
  n = config.train.num_grid  # The trainer's grid size: the same program, from the persistent compilation cache.
  out = model.sample(jax.random.PRNGKey(0), n)
  frame = (config.data.image_size, config.data.image_size, config.data.channels)
  if "images" in out:
    images = np.asarray(out["images"])
    assert images.shape == (n,) + frame
  else:  # Clip-producing samplers (style_videos): n clips of the config's frames.
    images = np.asarray(out["video"])
    assert images.shape == (n, config.data.frames) + frame
  assert images.dtype == np.uint8
  if "text_ids" in out:  # Text-producing families also return decoded strings, one per sample.
    assert np.asarray(out["text"]).shape == (n,)
  scores = model.evaluate(num=8)
  json.dumps(scores)  # `mmgen-jax eval` prints it as JSON.
  # The trainer ranks checkpoints by this metric: evaluate must report it, as a number.
  assert math.isfinite(scores[config.train.best_metric]), scores
  assert all(math.isfinite(v) for v in scores.values() if isinstance(v, float)), scores


def test_every_family_has_a_bf16_smoke_config():
  assert sorted({get_config(name).family for name in BF16_SMOKE_CONFIGS}) == list_families()
