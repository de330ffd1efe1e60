"""Audio -> image on `digits`: each digit's 0.5 s DTMF clip (8 kHz, random onset, loudness and noise) through a JAX
log-mel front end and a CNN; FiLM fusion; projection D.

  mmgen-jax train audio2img_digits --workdir workdirs/audio2img_digits
  mmgen-jax sample --workdir workdirs/audio2img_digits --num 8 --cond clips.npz --out samples.npz  # audio [N, 4000]
"""
from mmgen_jax.configs import cgan_digits


def get_config(smoke=False):
  config = cgan_digits.get_config(smoke)
  config.description = "audio-conditioned GAN (log-mel CNN of DTMF clips, FiLM, projection D) on digits"
  config.model.condition = "audio"
  return config
