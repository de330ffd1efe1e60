"""`load(workdir)`: a trained model as an object with a jit-compiled `.sample(rng, n, **conditions)`."""
import json
import os

from mmgen_jax import parallel
from mmgen_jax.config import Config, apply_overrides
from mmgen_jax.errors import UserError
from mmgen_jax.models import get_family
from mmgen_jax.train import trainer


class Sampler:
  """A restored model: `config`, `family` (a `mmgen_jax.family.Family`), `state`, `step`, `variables` (the EMA
  weights samplers run on), `sample(rng, n, **conditions)` and `evaluate(num, seed)`."""

  def __init__(self, config, family, state, step):
    self.config, self.family, self.state, self.step = config, family, state, step
    self.variables = state.ema_variables()
    self._sample = family.make_sampler(config)

  def sample(self, rng, n, **conditions):
    """The family's jitted sampler on the EMA weights: a dict of arrays, e.g. {'images': uint8 [n, H, W, C]}.

    rng: a `jax.random` key or an int seed. Conditions are keyed by feature name (labels, text (str [k]), audio,
    image, ...) as `family.condition_names` lists and the family's `sample` documents; with none, the family's
    default conditions (e.g. eval-split labels 0..9 cycling) are used and returned beside the samples. Text outputs
    come back as `text` (str [n]) too."""
    return self._sample(self.variables, rng, n, **conditions)

  def evaluate(self, num=1000, seed=0):
    """The family's metrics (a dict) on the eval split, e.g. FID for image generators, PSNR for translators."""
    return self.family.evaluate(self.config, self.state, num, seed)


def load(workdir, step=None, settings=()):
  """Restores the newest good checkpoint of `workdir` (or `step`) onto this process's devices. settings:
  ["infer.KEY=VALUE", ...], inference settings to change (the config's `infer` group, e.g. the chunk size of long
  videos); everything else is the checkpoint's."""
  fixed = [item.split("=")[0] for item in settings if not item.strip().startswith("infer.")]
  if fixed:
    raise UserError(f"--set {fixed[0]}: sampling changes inference settings only (infer.*); the rest of the config "
                    f"is the checkpoint's")
  if not os.path.isdir(trainer.checkpoint_dir(workdir)):
    raise UserError(f"{workdir} has no checkpoints/ folder: train first with `mmgen-jax train CONFIG --workdir "
                    f"{workdir}`")
  ckpt = trainer.make_checkpointer(Config(_any_config(workdir)), workdir, read_only=True)
  try:
    config, _ = ckpt.read_json(step)
    family = get_family(config["family"])
    config = apply_overrides(family.complete_config(Config(config)), settings)
    _, abstract = trainer.build_state(family, config, parallel.make_mesh())
    state, step = ckpt.restore(abstract, step)
  finally:
    ckpt.close()
  return Sampler(config, family, state, step)


def _any_config(workdir):
  """The workdir's config.json, only to set up the manager's retention (the checkpoint's own copy is used)."""
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise UserError(f"{workdir} has no config.json: it is not an mmgen-jax workdir")
  with open(path) as f:
    return json.load(f)
