"""Features -> image on `digits`: the Sobel edges, Gabor texture energy and HSV histogram of a reference image
(computed in JAX) condition a new image with those features; FiLM fusion; projection D on (image, features).

  mmgen-jax train features2img_digits --workdir workdirs/features2img_digits
  mmgen-jax sample --workdir workdirs/features2img_digits --num 8 --cond refs.npz --out samples.npz  # image uint8
"""
from mmgen_jax.configs import cgan_digits


def get_config(smoke=False):
  config = cgan_digits.get_config(smoke)
  config.description = "feature-conditioned GAN (edges + texture + colour of a reference, FiLM) on digits"
  config.model.condition = "features"
  return config
