"""Generator families, one module each, found by name (config.family); `mmgen_jax/family.py` states the contract.

`config.family` names a module of this package (the zoo), or any importable module that honours the contract
(your own family, e.g. `family="my_project.my_family"`), so a new family needs no edit here.
"""
import importlib
import pkgutil

from mmgen_jax.errors import UserError, did_you_mean


def list_families():
  return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def family_module(name):
  """The module `mmgen_jax.models.<name>`, or the importable module `name` outside the zoo."""
  if name in list_families():
    return importlib.import_module(f"mmgen_jax.models.{name}")
  try:
    return importlib.import_module(name)
  except ImportError:
    raise UserError(f"unknown family {name!r}{did_you_mean(name, list_families())}: the zoo's families are "
                    f"{', '.join(list_families())}; your own must be an importable module (on PYTHONPATH)") from None


def get_family(name):
  """The family `name` as a `mmgen_jax.family.Family` (checked against the contract)."""
  from mmgen_jax.family import Family
  return Family(family_module(name))
