"""The family contract: what a generator family module provides, and the one place that calls it.

A family is a module `mmgen_jax/models/<name>.py` (found by `config.family`). The trainer, the sampler and the CLI
never call a family function directly: they wrap the module in `Family`, which checks it against this contract
once and supplies the defaults of the optional parts. `docs/architecture.md` walks through a minimal family.

Required functions (every one takes the config first, so callers bind it once):

- `input_features(config) -> tuple[str, ...]`: the dataset features one training batch needs (e.g. ('image',)).
- `init_state(config, rng) -> state`: a fresh `state.GANState` or `state.TrainState` (any pytree with `step`, `rng`
  and an `ema_variables()` method); parameter shapes come from the config alone.
- `train_step(config, state, batch, rng) -> (state, metrics)`: pure; the trainer jits it over the mesh with the
  state donated and replicated and the batch sharded. `batch` holds the `input_features` (after `encode_inputs`);
  metrics is a flat dict of scalars.
- `sample(config, variables, rng, n, **conditions) -> dict of arrays`: pure and jittable (`n` static); reads nothing
  from disk. `variables` are `state.ema_variables()`. Every condition is a keyword argument defaulting to None;
  their names are the ones users pass (`--cond FILE.npz` keys, `Sampler.sample(**conditions)`). Image outputs are
  uint8 `images` [n, H, W, C]; other natural outputs (`video`, `text_ids`, `audio`, ...) sit beside them.
- `evaluate(config, state, num, seed) -> dict`: the family's quality metrics on the eval split (`num` examples or
  samples; None: the family's default), JSON-serialisable; numbers are logged and may rank checkpoints.

Optional (defaults in parentheses):

- `CONFIG_DEFAULTS = {"dotted.key": value}`: settings that configs of older checkpoints lack, with the value those
  checkpoints were trained with; applied at load, before anything reads the config ({}).
- `prepare_config(config, source) -> config`: fills data-derived settings before the state is built, e.g. a caption
  vocabulary; they are saved with the checkpoint (the config unchanged).
- `encode_inputs(config, arrays) -> arrays`: on the host, turns what jit cannot take (strings) into arrays; applied
  to every training batch and to the conditions users pass (unchanged).
- `default_conditions(config, n) -> (conditions, references)`: two dicts of host arrays. `conditions` is what
  `sample` is given when the user gives none, e.g. eval-split labels of classes 0..9 cycling; `references` are
  returned beside the samples, e.g. the digits asked for or the true targets (({}, {}): sample from the prior).
- `decode_outputs(config, out) -> out`: on the host, after `sample`: adds what is for people, e.g. `text` strings
  from token ids, or `panels` for the sample grids (unchanged).
- `host_sample(config, sample_fn, variables, rng, n, **conditions) -> out`: on the host, around the jitted
  `sample` (`sample_fn(variables, rng, n, **conditions)`): a family whose inputs can be of any size (a video of any
  length) splits them into pieces of bounded size, calls `sample_fn` on each and joins the outputs (one call).
"""
import functools
import inspect

import jax
import numpy as np

from mmgen_jax.errors import UserError

# name -> the positional parameters it must take, in order.
REQUIRED = {
    "input_features": ("config",),
    "init_state": ("config", "rng"),
    "train_step": ("config", "state", "batch", "rng"),
    "sample": ("config", "variables", "rng", "n"),
    "evaluate": ("config", "state", "num", "seed"),
}
OPTIONAL = {
    "prepare_config": ("config", "source"),
    "encode_inputs": ("config", "arrays"),
    "default_conditions": ("config", "n"),
    "decode_outputs": ("config", "out"),
    "host_sample": ("config", "sample_fn", "variables", "rng", "n"),
}


def contract_problems(module):
  """What `module` lacks or gets wrong against the contract: a list of strings, empty when it conforms."""
  problems = []
  for name, params in {**REQUIRED, **OPTIONAL}.items():
    fn = getattr(module, name, None)
    if fn is None:
      if name in REQUIRED:
        problems.append(f"missing required function {name}{params}")
      continue
    if not callable(fn):
      problems.append(f"{name} is not a function")
      continue
    signature = list(inspect.signature(fn).parameters.values())
    got = tuple(p.name for p in signature[:len(params)])
    if got != params:
      problems.append(f"{name} takes {got}, the contract says {params}")
    elif any(p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
             for p in signature[len(params):]):
      problems.append(f"{name} has parameters beyond {params} without defaults: callers pass only those")
  sample = getattr(module, "sample", None)
  if callable(sample):
    for p in list(inspect.signature(sample).parameters.values())[len(REQUIRED["sample"]):]:
      if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.default is not None:
        problems.append(f"sample's condition {p.name!r} must be a keyword argument defaulting to None")
  defaults = getattr(module, "CONFIG_DEFAULTS", {})
  if not isinstance(defaults, dict) or not all(isinstance(k, str) and k.count(".") >= 1 for k in defaults):
    problems.append("CONFIG_DEFAULTS must map dotted config keys ('model.x') to values")
  return problems


def _unchanged(config, value):
  """The default `encode_inputs` / `decode_outputs`: the value as it is."""
  del config
  return value


def _one_call(config, sample_fn, variables, rng, n, **conditions):
  """The default `host_sample`: the jitted sampler once, on the whole input."""
  del config
  return sample_fn(variables, rng, n, **conditions)


class Family:
  """A family module checked against the contract, with every optional part filled in."""

  def __init__(self, module):
    problems = contract_problems(module)
    if problems:
      raise UserError(f"family module {module.__name__} breaks the contract ({'; '.join(problems)}): see "
                      f"mmgen_jax/family.py")
    self.module = module
    self.name = module.__name__.removeprefix("mmgen_jax.models.")
    self.input_features = module.input_features
    self.init_state = module.init_state
    self.train_step = module.train_step
    self.sample = module.sample
    self.evaluate = module.evaluate
    self.prepare_config = getattr(module, "prepare_config", lambda config, source: config)
    self.encode_inputs = getattr(module, "encode_inputs", _unchanged)
    self.decode_outputs = getattr(module, "decode_outputs", _unchanged)
    self.default_conditions = getattr(module, "default_conditions", lambda config, n: ({}, {}))
    self.host_sample = getattr(module, "host_sample", _one_call)
    self.config_defaults = dict(getattr(module, "CONFIG_DEFAULTS", {}))
    self.condition_names = tuple(inspect.signature(module.sample).parameters)[len(REQUIRED["sample"]):]

  def __repr__(self):
    return f"Family({self.name})"

  def complete_config(self, config):
    """`config` with the family's CONFIG_DEFAULTS filled in where it lacks them (configs of older checkpoints)."""
    for key, value in self.config_defaults.items():
      *groups, last = key.split(".")
      node = config
      for group in groups:
        node = node.setdefault(group, {})
      if last not in node:
        node[last] = value
    return type(config)(config)

  def check_condition_names(self, conditions):
    """One error line when `conditions` holds a name this family's sampler does not take."""
    unknown = sorted(set(conditions) - set(self.condition_names))
    if unknown:
      takes = ", ".join(self.condition_names) or "no conditions"
      raise UserError(f"family {self.name} does not take the condition(s) {', '.join(unknown)}; its sampler takes "
                      f"{takes}: rename or drop them (--labels gives `labels`, --cond FILE.npz its keys)")

  def make_sampler(self, config):
    """A host function (variables, rng, n, **conditions) -> dict of numpy-convertible arrays: encodes the
    conditions, fills in the default ones when none is given, runs the jitted `sample` and decodes its output."""
    jitted = jax.jit(functools.partial(self.sample, config), static_argnums=2)

    def run(variables, rng, n, **conditions):
      if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise UserError(f"the number of samples must be a positive integer, got {n!r}: pass e.g. --num 16")
      if isinstance(rng, (int, np.integer)):
        rng = jax.random.PRNGKey(int(rng))
      conditions = self.encode_inputs(config, conditions)
      references = {}
      if not conditions:
        conditions, references = self.default_conditions(config, int(n))
      self.check_condition_names(conditions)
      out = self.host_sample(config, jitted, variables, rng, int(n), **conditions)
      return self.decode_outputs(config, {**references, **out})

    return run

