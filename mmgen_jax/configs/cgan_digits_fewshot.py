"""Few-shot class-conditional GAN: `cgan_digits` trained on k = 10 real digits per class (100 images) for 800
steps, about a minute and a half on 2 CPU cores, with classic augmentation of its training images. The
data-expansion benchmark trains one per k-shot subset and adds its samples to a classifier's training set
(docs/results/data_expansion.md).

DiffAugment (`--set model.diffaugment=translation,cutout`, or any subset of color,translation,cutout) is there and
was measured here: at these short runs it slows G down more than it stops D memorising (k = 10, 1,500 steps: FID
7.6 -> 10.1 and recall 0.34 -> 0.06; 800 steps at width 16: class accuracy of the samples 98% -> 50-57%), so it is
off by default; it is meant for long runs, where D overfits.

  mmgen-jax train cgan_digits_fewshot --workdir workdirs/cgan_fewshot --set data.per_class=5 --set data.subset_seed=3
  mmgen-jax sample --workdir workdirs/cgan_fewshot --num 500 --export expanded/     # class folders 00..09
  python benchmarks/data_expansion.py                                              # does it help a classifier?
"""
from mmgen_jax.configs import cgan_digits


def get_config(smoke=False):
  config = cgan_digits.get_config(smoke)
  config.description = "class-conditional GAN on 10 real digits per class (few-shot; DiffAugment optional)"
  config.data.per_class = 10
  config.data.augment = ["affine_elastic"]  # G learns the subset's shifted, turned and bent versions too.
  if not smoke:
    config.ema.update(decay=0.99, start_step=200)
    config.train.update(steps=800, sample_every=400, ckpt_every=400, eval_every=800, eval_num=500)
  return config
