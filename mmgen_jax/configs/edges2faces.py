"""pix2pix on `faces`: Sobel edge map of a 32x32 LFW face -> the face (U-Net, conditional PatchGAN, hinge + L1).

  mmgen-jax train edges2faces --workdir workdirs/edges2faces
  python benchmarks/image_to_image.py --workdir workdirs/edges2faces
"""
from mmgen_jax.configs.edges2photo import pix2pix_config


def get_config(smoke=False):
  return pix2pix_config("edges", "faces", 32, 1, smoke, "pix2pix edges -> face on real LFW faces (held-out faces)")
