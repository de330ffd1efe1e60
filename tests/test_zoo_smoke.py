"""One end-to-end smoke run per zoo config on its shrunken (smoke=True) config: train, restore, sample."""
import jax
import numpy as np
import pytest

import mmgen_jax
from mmgen_jax.config import get_config, list_configs
from mmgen_jax.models import get_family
from mmgen_jax.train.trainer import train


@pytest.mark.parametrize("name", list_configs())
def test_config_trains_restores_and_samples(name, tmp_path):
  config = get_config(name, smoke=True)
  train(config, str(tmp_path), get_family(config.family), progress=False)
  model = mmgen_jax.load(str(tmp_path))
  assert model.step == config.train.steps
  out = model.sample(jax.random.PRNGKey(0), 3)
  images = np.asarray(out["images"])
  assert images.shape == (3, config.data.image_size, config.data.image_size, config.data.channels)
  assert images.dtype == np.uint8
  if "text_ids" in out:  # Text-producing families also return decoded strings, one per sample.
    assert np.asarray(out["text"]).shape == (3,)
