"""V-GAN next-frame synthesis on `photo_clips` (a camera panning and zooming over real photographs; the still is a
wide shot around the last frame): the `vgan_digits` model in colour.

  mmgen-jax train vgan_photos --workdir workdirs/vgan_photos
  python benchmarks/vgan.py --workdir workdirs/vgan_photos ...
"""
from mmgen_jax.configs import vgan_digits


def get_config(smoke=False):
  config = vgan_digits.get_config(smoke)
  config.description = ("V-GAN next-frame synthesis (ConvLSTM video + CNN image encoders, fused) on camera motion "
                        "over real photographs")
  config.data.update(source="photo_clips", channels=3)
  # The camera moves the whole frame: warp the last frame by a predicted flow and draw only what is new.
  config.model.output = "warp"
  return config
