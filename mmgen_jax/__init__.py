"""mmgen_jax: a JAX/Flax model zoo for multimodal generative models.

  import mmgen_jax
  model = mmgen_jax.load("workdirs/dcgan_digits")
  images = model.sample(0, 16)["images"]      # uint8 [16, 32, 32, 1]
"""
from mmgen_jax.config import get_config, list_configs
from mmgen_jax.errors import UserError
from mmgen_jax.sampler import load

__version__ = "0.1.0"
__all__ = ["get_config", "list_configs", "load", "UserError"]
