import pytest

from mmgen_jax.config import apply_overrides, get_config, list_configs
from mmgen_jax.errors import UserError


def test_zoo_lists_dcgan_digits():
  assert "dcgan_digits" in list_configs()


def test_unknown_config_name_suggests_closest():
  with pytest.raises(UserError, match=r"unknown config 'dcgan_digit'.*did you mean: dcgan_digits"):
    get_config("dcgan_digit")


def test_unknown_key_suggests_closest(smoke_config):
  with pytest.raises(UserError, match=r"unknown config key 'model.g_widht'.*did you mean: model.g_width"):
    apply_overrides(smoke_config, ["model.g_widht=3"])


def test_wrong_type_names_expected_type(smoke_config):
  with pytest.raises(UserError, match=r"train.steps expects int .*got 'abc'"):
    apply_overrides(smoke_config, ["train.steps=abc"])
  from mmgen_jax.config import Config
  with pytest.raises(UserError, match=r"flag expects true/false"):
    apply_overrides(Config({"flag": True}), ["flag=maybe"])


def test_overrides_parse_to_the_existing_type(smoke_config):
  apply_overrides(smoke_config, ["optim.g_lr=1", "train.steps=7", "model.g_norm=none", "data.source=folder:/x"])
  assert smoke_config.optim.g_lr == 1.0 and isinstance(smoke_config.optim.g_lr, float)
  assert smoke_config.train.steps == 7
  assert smoke_config.model.g_norm == "none"
  assert smoke_config.data.source == "folder:/x"


def test_config_json_round_trip(smoke_config):
  from mmgen_jax.config import Config
  assert Config(smoke_config.to_dict()) == smoke_config
