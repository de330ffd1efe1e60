"""VAE on `digits`: conv encoder/decoder (pixel shuffle), 16-d Gaussian latent, Bernoulli decoder on dynamically
binarised images (the binarised-MNIST protocol). beta-VAE: --set model.beta=4; IWAE: --set model.iwae_k=8.

  mmgen-jax train vae_digits --workdir workdirs/vae_digits
  mmgen-jax sample --workdir workdirs/vae_digits --num 64 --out samples.npz       # prior samples
  python benchmarks/autoencoders.py --workdir workdirs/vae_digits                 # ELBO, NLL (k=1000), grids
"""
from mmgen_jax.configs._base import shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "vae", "VAE (conv, Bernoulli decoder on dynamically binarised images) on the real digits",
      data=dict(source="digits", image_size=32, channels=1, batch_size=64, augment=[]),
      # likelihood: bernoulli | gaussian | logistic; iwae_k > 1 trains the IWAE bound (beta must then be 1).
      # num_classes > 0: a conditional VAE on the labels (cvae_digits_fewshot).
      model=dict(latent_dim=16, widths=[16, 32, 64], likelihood="bernoulli", beta=1.0, iwae_k=1, num_classes=0),
      optim=dict(lr=1e-3, grad_clip=10.0),
      ema=dict(decay=0.999, start_step=1000),
      eval=dict(nll_k=100),  # benchmarks/autoencoders.py reports k = 1000.
      train=dict(steps=4000, sample_every=1000, ckpt_every=1000, best_metric="nll", best_mode="min",
                 eval_every=2000, eval_num=1000, num_grid=100),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=8, num_grid=4, latent_dim=4, widths=[4, 8, 8])
    config.eval.nll_k = 4
  return config
