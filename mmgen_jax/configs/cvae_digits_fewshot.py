"""Few-shot conditional VAE: `vae_digits` conditioned on the class label (`model.num_classes=10`), trained on k = 10
real digits per class (100 images, shifted, turned and bent at random) for 600 steps, about a minute on 2 CPU
cores. The data-expansion benchmark's second generator beside `cgan_digits_fewshot`.

  mmgen-jax train cvae_digits_fewshot --workdir workdirs/cvae_fewshot --set data.per_class=5 --set data.subset_seed=3
  mmgen-jax sample --workdir workdirs/cvae_fewshot --num 20 --labels 0,1,2,3,4,5,6,7,8,9 --out samples.npz
"""
from mmgen_jax.configs import vae_digits


def get_config(smoke=False):
  config = vae_digits.get_config(smoke)
  config.description = "conditional VAE (labels join encoder and decoder) on 10 real digits per class"
  config.data.per_class = 10
  config.data.augment = ["affine_elastic"]  # G learns the subset's shifted, turned and bent versions too.
  config.data.batch_size = min(config.data.batch_size, 32)
  config.model.num_classes = 10
  if not smoke:
    config.ema.update(decay=0.99, start_step=200)
    config.train.update(steps=600, sample_every=300, ckpt_every=300, eval_every=600, eval_num=500)
  return config
