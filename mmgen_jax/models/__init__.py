"""Generator families, one module each, found by name (config.family)."""
import importlib
import pkgutil

from mmgen_jax.errors import UserError, did_you_mean


def list_families():
  return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get_family(name):
  """The family module `mmgen_jax.models.<name>`."""
  if name not in list_families():
    raise UserError(f"unknown family {name!r}{did_you_mean(name, list_families())}; families: "
                    f"{', '.join(list_families())}")
  return importlib.import_module(f"mmgen_jax.models.{name}")
