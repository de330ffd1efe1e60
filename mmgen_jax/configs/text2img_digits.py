"""Text -> image on `digits`: captions ("a handwritten seven", "the digit 7", ...) through a word tokenizer (built
from the training captions, saved in the config) and a 2-block transformer; FiLM fusion; projection D.

  mmgen-jax train text2img_digits --workdir workdirs/text2img_digits
  python -c "import numpy as np; np.savez('c.npz', text=np.array(['a drawing of a three', 'the number 8']))"
  mmgen-jax sample --workdir workdirs/text2img_digits --num 8 --cond c.npz --out samples.npz
"""
from mmgen_jax.configs import cgan_digits


def get_config(smoke=False):
  config = cgan_digits.get_config(smoke)
  config.description = "text-conditioned GAN (caption transformer, FiLM, projection D) on digits"
  config.model.condition = "text"
  config.model.word_dropout = 0.3  # Unknown words become familiar noise: unseen wordings still name the digit.
  return config
