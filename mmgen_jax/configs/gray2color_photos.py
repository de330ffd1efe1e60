"""pix2pix colourisation on `photos`: grey 64x64 patch -> colour patch (U-Net, conditional PatchGAN, hinge + L1).

  mmgen-jax train gray2color_photos --workdir workdirs/gray2color_photos
  mmgen-jax sample --workdir workdirs/gray2color_photos --cond photos.npz --out colour.npz  # image (or source)
  python benchmarks/image_to_image.py --workdir workdirs/gray2color_photos   # vs the grey image, other sizes
"""
from mmgen_jax.configs.edges2photo import pix2pix_config


def get_config(smoke=False):
  return pix2pix_config("gray", "photos", 64, 3, smoke,
                        "pix2pix colourisation of real photo patches (held-out photos), grey -> colour")
