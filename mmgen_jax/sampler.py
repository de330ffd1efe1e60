"""`load(workdir)`: a trained model as an object with a jit-compiled `.sample(rng, n, **conditions)`."""
import functools
import json
import os

import jax
import numpy as np

from mmgen_jax import parallel
from mmgen_jax.config import Config
from mmgen_jax.errors import UserError
from mmgen_jax.models import get_family
from mmgen_jax.train import trainer


class Sampler:
  """A restored model: `config`, `family`, `state`, `step`, and `sample(rng, n, **conditions) -> dict of arrays`."""

  def __init__(self, config, family, state, step):
    self.config, self.family, self.state, self.step = config, family, state, step
    self.variables = family.sampling_variables(state)
    self._sample = jax.jit(functools.partial(family.sample, config), static_argnums=2)

  def sample(self, rng, n, **conditions):
    """Jitted family sampler on the EMA weights; e.g. {'images': uint8 [n, H, W, C]}. Conditions are keyed by
    feature name (labels, text (str [k]), audio, image), as the family's `sample` documents; text outputs come back
    as `text` (str [n]) too."""
    if isinstance(rng, int):
      rng = jax.random.PRNGKey(rng)
    if hasattr(self.family, "encode_inputs"):
      conditions = self.family.encode_inputs(self.config, conditions)
    out = self._sample(self.variables, rng, int(n), **conditions)
    if hasattr(self.family, "decode_outputs"):
      out = self.family.decode_outputs(self.config, out)
    return out


def load(workdir, step=None):
  """Restores the newest good checkpoint of `workdir` (or `step`) onto this process's devices."""
  if not os.path.isdir(trainer.checkpoint_dir(workdir)):
    raise UserError(f"{workdir} has no checkpoints/ folder: train first with `mmgen-jax train CONFIG --workdir "
                    f"{workdir}`")
  ckpt = trainer.make_checkpointer(Config(_any_config(workdir)), workdir)
  config, _ = ckpt.read_json(step)
  config = Config(config)
  family = get_family(config.family)
  mesh = parallel.make_mesh()
  example = {"image": np.zeros((1, config.data.image_size, config.data.image_size, config.data.channels), np.uint8)}
  _, abstract = trainer.build_state(family, config, mesh, example)
  state, step = ckpt.restore(abstract, step)
  ckpt.close()
  return Sampler(config, family, state, step)


def _any_config(workdir):
  """The workdir's config.json, only to set up the manager's retention (the checkpoint's own copy is used)."""
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise UserError(f"{workdir} has no config.json: it is not an mmgen-jax workdir")
  with open(path) as f:
    return json.load(f)
