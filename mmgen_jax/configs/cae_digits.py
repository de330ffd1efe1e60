"""Convolutional autoencoder on `digits`: the vae_digits encoder/decoder with a deterministic 16-d code, MSE loss.
Its encoder doubles as a feature extractor (`mmgen_jax.models.cae.features`).

  mmgen-jax train cae_digits --workdir workdirs/cae_digits
  python benchmarks/autoencoders.py --workdir workdirs/cae_digits        # reconstruction error, PSNR, grids
"""
from mmgen_jax.configs import vae_digits


def get_config(smoke=False):
  config = vae_digits.get_config(smoke)
  config.family = "cae"
  config.description = "convolutional autoencoder (deterministic 16-d code, MSE) on the real digits"
  config.model = dict(latent_dim=config.model.latent_dim, widths=config.model.widths, loss="mse",
                      compute_dtype=config.model.compute_dtype)
  del config["eval"]
  config.train.update(best_metric="recon_mse", best_mode="min")
  return config
