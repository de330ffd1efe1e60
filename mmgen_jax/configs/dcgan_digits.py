"""DCGAN on `digits`: scikit-learn's 1,797 real handwritten digits at 32x32, hinge loss, EMA generator.

  mmgen-jax train dcgan_digits --workdir workdirs/dcgan_digits
  mmgen-jax sample --workdir workdirs/dcgan_digits --num 64 --out samples.npz
"""
from mmgen_jax.configs._base import GAN_LOSS, GAN_OPTIM, shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "dcgan", "DCGAN, hinge loss, on the 1,797 real scikit-learn digits (32x32 gray)",
      data=dict(source="digits", image_size=32, channels=1, batch_size=32),
      model=dict(z_dim=64, g_width=32, d_width=32, g_norm="batch", d_norm="none", upsample="pixel_shuffle",
                 compute_dtype="float32"),
      loss=GAN_LOSS, optim=GAN_OPTIM, ema=dict(decay=0.999, start_step=1000),
      train=dict(steps=5000, sample_every=1000, ckpt_every=1000, best_metric="fid", best_mode="min",
                 eval_every=1000, eval_num=1000, num_grid=100),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=8, num_grid=4, z_dim=8, g_width=8, d_width=8)
  return config
