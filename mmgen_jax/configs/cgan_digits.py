"""Class-conditional GAN on `digits`: conditional batch norm (FiLM) G, spectral-norm projection D, hinge, EMA.

  mmgen-jax train cgan_digits --workdir workdirs/cgan_digits
  mmgen-jax sample --workdir workdirs/cgan_digits --num 20 --labels 0,1,2,3,4,5,6,7,8,9 --out samples.npz

The text, audio and feature-conditioned configs start from this one and change `model.condition`.
"""
from mmgen_jax.configs._base import GAN_LOSS, GAN_OPTIM, shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "cgan", "class-conditional GAN (cond. BN + projection D, hinge) on the real scikit-learn digits",
      data=dict(source="digits", image_size=32, channels=1, batch_size=32, augment=[]),
      # condition: label | text | audio | features; fusion: early | late | film | cross_attention;
      # diffaugment: a comma-separated subset of color, translation, cutout ('' for none).
      model=dict(condition="label", fusion="film", num_classes=10, z_dim=64, cond_dim=64, g_width=32, d_width=32,
                 upsample="pixel_shuffle", vocab=[], text_max_len=16, word_dropout=0.0, audio_samples=4000,
                 features=["edges", "texture", "colour"], diffaugment=""),
      loss=GAN_LOSS, optim=GAN_OPTIM, ema=dict(decay=0.999, start_step=1000),
      train=dict(steps=5000, sample_every=1000, ckpt_every=1000, best_metric="fid", best_mode="min",
                 eval_every=1000, eval_num=1000, num_grid=100),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=8, num_grid=4, z_dim=8, cond_dim=8, g_width=8, d_width=8)
  return config
