"""The single-frame baseline of `vsr_photos`: the same network without temporal propagation (each frame alone).

  mmgen-jax train vsr_photos_single --workdir workdirs/vsr_photos_single
"""
from mmgen_jax.configs import vsr_photos


def get_config(smoke=False):
  return vsr_photos.get_config(smoke, propagation=False)
