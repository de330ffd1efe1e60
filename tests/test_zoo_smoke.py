"""One end-to-end smoke run per zoo config on its shrunken (smoke=True) config: train, restore, sample."""
import jax
import numpy as np
import pytest

import mmgen_jax
from mmgen_jax.config import get_config, list_configs


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


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n)) for n in list_configs()])
def test_config_trains_restores_and_samples(name, smoke_workdir):
  missing = _needs_absent_data(name)
  if missing:
    pytest.skip(missing)
  config = get_config(name, smoke=True)
  model = mmgen_jax.load(smoke_workdir(name))
  assert model.step == config.train.steps
  out = model.sample(jax.random.PRNGKey(0), 3)
  images = np.asarray(out["images"])
  assert images.shape == (3, config.data.image_size, config.data.image_size, config.data.channels)
  assert images.dtype == np.uint8
  if "text_ids" in out:  # Text-producing families also return decoded strings, one per sample.
    assert np.asarray(out["text"]).shape == (3,)
