"""Inpainting on `faces` (32x32 grey LFW crops): the `inpaint_photos` model, biharmonic first guess, 10-50% holes.

  mmgen-jax train inpaint_faces --workdir workdirs/inpaint_faces
  python benchmarks/image_to_image.py --workdir workdirs/inpaint_faces   # vs skimage's inpaint_biharmonic
"""
from mmgen_jax.configs.inpaint_photos import inpaint_config


def get_config(smoke=False):
  # The biharmonic first guess: +1.52 dB over scikit-image's biharmonic on the held-out faces' holes after 2,500
  # steps (10 mask draws; README), where the push-pull guess ended 0.57 dB lower on the same single draw.
  return inpaint_config("faces", 32, 1, smoke, "gated-conv inpainting of real LFW faces (held-out faces)",
                        fill="biharmonic")
