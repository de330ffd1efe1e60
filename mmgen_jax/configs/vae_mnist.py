"""VAE on binarised MNIST (`tfds:mnist`, dynamically binarised), the standard VAE likelihood benchmark, for users who
have MNIST prepared in their TFDS data dir (nothing here downloads it: `tfds build mnist` on a networked machine).

Published reference: pythae's reproduction of the standard VAE of Rezende & Mohamed (2015, Table 1: 89.9) on
binarised MNIST reports NLL 89.78 nats (importance sampling, 200 samples; huggingface.co/clementchadebec/
reproduced_vae). Not run here: this machine has no MNIST and no network to fetch it.

  mmgen-jax train vae_mnist --workdir workdirs/vae_mnist
  python benchmarks/autoencoders.py --workdir workdirs/vae_mnist --nll-k 1000
"""
from mmgen_jax.configs import vae_digits


def get_config(smoke=False):
  config = vae_digits.get_config(smoke)
  config.description = "VAE (Bernoulli decoder, dynamic binarisation) on tfds:mnist (bring your own TFDS data)"
  config.data.update(source="tfds:mnist", image_size=28, batch_size=100 if not smoke else 8)
  # 28 = 7 x 2 x 2: two halvings (7x7 cells); a latent of 32 as in pythae's MNIST benchmarks.
  config.model.update(latent_dim=32 if not smoke else 4, widths=[32, 64] if not smoke else [4, 8])
  if not smoke:
    config.train.update(steps=50000, eval_every=5000, eval_num=10000)
  return config
