"""Configs: nested dicts with attribute access, `--set key=value` overrides, JSON round trips.

A zoo config is a Python file with `get_config(smoke=False) -> Config` (big_vision style); `smoke=True` shrinks it
for tests. Overrides are type-checked against the value already in the config, so `--set train.steps=abc` fails with
one line instead of crashing hours later.
"""
import ast
import importlib.util
import json
import os
import pkgutil

from mmgen_jax.errors import UserError, did_you_mean


class Config(dict):
  """A dict whose keys are also attributes; nested dicts become Configs."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    for k, v in self.items():
      if isinstance(v, dict) and not isinstance(v, Config):
        self[k] = Config(v)

  def __getattr__(self, name):
    try:
      return self[name]
    except KeyError:
      raise AttributeError(name) from None

  def __setattr__(self, name, value):
    self[name] = Config(value) if isinstance(value, dict) and not isinstance(value, Config) else value

  def to_dict(self):
    return json.loads(json.dumps(self))

  def flat_keys(self, prefix=""):
    for k, v in self.items():
      if isinstance(v, Config):
        yield from v.flat_keys(prefix + k + ".")
      else:
        yield prefix + k


def _parse(key, text, current):
  """Parses `text` into the type of `current` (the value the config already holds)."""
  if isinstance(current, bool):
    if text.lower() in ("true", "1", "yes"):
      return True
    if text.lower() in ("false", "0", "no"):
      return False
    raise UserError(f"config key {key} expects true/false, got {text!r}: pass e.g. --set {key}=true")
  if current is None:
    return None if text.lower() in ("none", "null") else text
  if isinstance(current, str):
    return text
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    value = text
  if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
    value = float(value)
  if isinstance(current, (list, tuple)) and isinstance(value, (list, tuple)):
    return type(current)(value)
  if type(value) is not type(current):
    raise UserError(f"config key {key} expects {type(current).__name__} (now {current!r}), got {text!r}: "
                    f"pass e.g. --set {key}={current!r}")
  return value


def apply_overrides(config, overrides):
  """Applies ["a.b=value", ...] in place; unknown keys and values of the wrong type raise UserError."""
  for item in overrides or ():
    if "=" not in item:
      raise UserError(f"--set expects key=value, got {item!r}: e.g. --set train.steps=1000")
    key, text = item.split("=", 1)
    parts = key.strip().split(".")
    node = config
    for i, part in enumerate(parts):
      if not isinstance(node, Config) or part not in node:
        raise UserError(f"unknown config key {key!r}{did_you_mean(key, list(config.flat_keys()))}; "
                        f"`mmgen-jax train CONFIG --set` takes the keys the config file defines")
      if i < len(parts) - 1:
        node = node[part]
    if isinstance(node[parts[-1]], Config):
      raise UserError(f"config key {key!r} is a group; set one of its keys, e.g. {key}.{next(iter(node[parts[-1]]))}")
    node[parts[-1]] = _parse(key, text.strip(), node[parts[-1]])
  return config


def list_configs():
  """Names of the zoo configs (modules of mmgen_jax/configs with a get_config)."""
  import mmgen_jax.configs as pkg
  return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def get_config(name_or_path, smoke=False):
  """Loads a zoo config by name, or a config file by path; returns a Config."""
  if name_or_path.endswith(".py") or os.path.sep in name_or_path:
    if not os.path.isfile(name_or_path):
      raise UserError(f"config file {name_or_path!r} does not exist: pass a zoo name (mmgen-jax list) or a .py path")
    spec = importlib.util.spec_from_file_location("user_config", name_or_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  else:
    names = list_configs()
    if name_or_path not in names:
      raise UserError(f"unknown config {name_or_path!r}{did_you_mean(name_or_path, names)}; "
                      f"`mmgen-jax list` shows the zoo")
    module = importlib.import_module(f"mmgen_jax.configs.{name_or_path}")
  if not hasattr(module, "get_config"):
    raise UserError(f"config {name_or_path!r} has no get_config() function: define get_config(smoke=False)")
  return Config(module.get_config(smoke=smoke))
