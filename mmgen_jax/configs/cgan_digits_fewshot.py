"""Few-shot class-conditional GAN: `cgan_digits` trained on k = 10 real digits per class (100 images), with
DiffAugment (translation + cutout) on everything D sees, in about a minute on 2 CPU cores. The data-expansion
benchmark trains one per k-shot subset and adds its samples to a classifier's training set.

  mmgen-jax train cgan_digits_fewshot --workdir workdirs/cgan_fewshot --set data.per_class=5 --set data.subset_seed=3
  mmgen-jax sample --workdir workdirs/cgan_fewshot --num 500 --export expanded/     # class folders 00..09
  python benchmarks/data_expansion.py                                              # does it help a classifier?
"""
from mmgen_jax.configs import cgan_digits


def get_config(smoke=False):
  config = cgan_digits.get_config(smoke)
  config.description = "class-conditional GAN with DiffAugment on 10 real digits per class"
  config.data.per_class = 10
  config.model.diffaugment = "translation,cutout"
  if not smoke:
    config.ema.update(decay=0.99, start_step=200)
    config.train.update(steps=1500, sample_every=500, ckpt_every=500, eval_every=1500, eval_num=500)
  return config
