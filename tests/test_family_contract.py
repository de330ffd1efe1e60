"""Every family honours the contract of `mmgen_jax/family.py`, and no family imports another."""
import ast
import os
import types

import jax
import numpy as np
import pytest

from mmgen_jax import family as contract
from mmgen_jax.config import Config, get_config, list_configs
from mmgen_jax.errors import UserError
from mmgen_jax.models import family_module, get_family, list_families

MODELS = os.path.join(os.path.dirname(contract.__file__), "models")


@pytest.mark.parametrize("name", list_families())
def test_family_conforms_to_the_contract(name):
  assert contract.contract_problems(family_module(name)) == []
  family = get_family(name)
  assert family.name == name
  for config_name in list_configs():
    config = get_config(config_name)
    if config.family == name:  # The family reads what its zoo configs give it.
      assert set(family.input_features(config)) and all(isinstance(f, str) for f in family.input_features(config))


def test_every_family_has_a_zoo_config():
  assert {get_config(n).family for n in list_configs()} == set(list_families())


def test_contract_checker_catches_what_breaks_the_contract():
  def sample(config, variables, rng, n, labels=np.zeros(3)):  # A condition default that is not None.
    del config, variables, rng, n, labels

  broken = types.ModuleType("broken")
  broken.input_features = lambda config: ("image",)
  broken.init_state = lambda config, rng, example_batch: None  # The old signature.
  broken.sample = sample
  problems = contract.contract_problems(broken)
  assert any("missing required function train_step" in p for p in problems)
  assert any("missing required function evaluate" in p for p in problems)
  assert any("init_state has parameters beyond ('config', 'rng') without defaults" in p for p in problems)
  assert any("'labels' must be a keyword argument defaulting to None" in p for p in problems)
  with pytest.raises(UserError, match="breaks the contract"):
    contract.Family(broken)


def test_old_init_signature_is_reported():
  broken = types.ModuleType("broken")
  broken.init_state = lambda cfg, rng: None
  assert any("init_state takes ('cfg', 'rng')" in p for p in contract.contract_problems(broken))


def _imported_modules(path):
  tree = ast.parse(open(path).read())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      yield node.module
      yield from (f"{node.module}.{a.name}" for a in node.names)


@pytest.mark.parametrize("filename", sorted(f for f in os.listdir(MODELS) if f.endswith(".py")))
def test_no_model_file_imports_another(filename):
  """What two families share lives in layers/, train/, data/ or metrics/: a change to one family never breaks
  another. (models/__init__.py only finds families by name.)"""
  own = filename[:-3]
  imported = set(_imported_modules(os.path.join(MODELS, filename)))
  others = sorted(m for m in imported if m.startswith("mmgen_jax.models") and m not in (
      "mmgen_jax.models", f"mmgen_jax.models.{own}") and own != "__init__")
  assert others == [], f"models/{filename} imports {others}"


def test_condition_names_are_checked_against_the_sampler_signature():
  family = get_family("dcgan")
  with pytest.raises(UserError, match="family dcgan does not take the condition.*labels.*no conditions"):
    family.check_condition_names({"labels": np.arange(3)})
  cgan = get_family("cgan")
  assert cgan.condition_names == ("labels", "text_ids", "audio", "image")
  with pytest.raises(UserError, match="does not take the condition.*lables"):
    cgan.check_condition_names({"lables": np.arange(3)})


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_sample_count_must_be_a_positive_integer(n):
  sample = get_family("dcgan").make_sampler(get_config("dcgan_digits", smoke=True))
  with pytest.raises(UserError, match="number of samples must be a positive integer"):
    sample({}, 0, n)


def test_config_defaults_fill_only_what_an_old_config_lacks():
  family = get_family("vgan")
  old = Config(get_config("vgan_digits").to_dict())
  del old.model["output"]
  assert family.complete_config(old).model.output == "direct"
  assert family.complete_config(get_config("vgan_photos")).model.output == "warp"  # Present: kept.


def test_default_conditions_are_host_arrays_and_sampling_reads_no_files(monkeypatch):
  """`sample` is pure: the defaults come from the host hook; with them given, the jitted sampler never opens a
  dataset (it would bake the split into the program as constants)."""
  import mmgen_jax.data.sources as sources

  config = get_config("cgan_digits", smoke=True)
  family = get_family("cgan")
  conditions, references = family.default_conditions(config, 4)
  assert all(isinstance(v, np.ndarray) for v in conditions.values()) and references == {}
  np.testing.assert_array_equal(conditions["labels"], [0, 1, 2, 3])
  variables = jax.eval_shape(lambda: family.init_state(config, jax.random.PRNGKey(0)).ema_variables())
  monkeypatch.setattr(sources, "open_source", lambda *a, **k: pytest.fail("sample read a dataset"))
  out = jax.eval_shape(lambda v: family.sample(config, v, jax.random.PRNGKey(0), 4, **conditions), variables)
  assert out["images"].shape == (4, 32, 32, 1)


def test_text_model_defaults_are_captions_with_their_digits_beside_them():
  config = get_config("text2img_digits", smoke=True)
  config.model.vocab = ["a", "digit", "the"]  # As prepare_config would fill it from the training captions.
  conditions, references = get_family("cgan").default_conditions(config, 3)
  assert set(conditions) == {"text_ids"} and conditions["text_ids"].dtype == np.int32
  np.testing.assert_array_equal(references["labels"], [0, 1, 2])
