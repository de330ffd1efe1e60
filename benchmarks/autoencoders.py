"""Autoencoder families on their eval split: likelihoods, reconstructions, picture grids.

For each workdir (a `vae` or `cae` run) on the whole eval split:
- vae: ELBO (mean of the k log-weights) and the importance-weighted NLL -IWAE_k in nats per image (k = --nll-k,
  default 1000), also at k = 1, 10, 100 to show the estimate converging; posterior-mean reconstruction error;
- both: reconstruction MSE on [0, 1] grey levels and PSNR (peak 1; scikit-image's `peak_signal_noise_ratio` as the
  reference implementation);
- grids in --out: prior samples (vae), originals above reconstructions, latent interpolations (vae).

  python benchmarks/autoencoders.py --workdir workdirs/vae_digits --workdir workdirs/cae_digits [--nll-k 1000]
"""
import argparse
import json
import os
import time

import jax
import numpy as np
from skimage.metrics import peak_signal_noise_ratio

import mmgen_jax
from mmgen_jax.data import eval_arrays
from mmgen_jax.metrics.batched import batched_sample
from mmgen_jax.models import vae
from mmgen_jax.train.images import save_grid


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", action="append", required=True)
  p.add_argument("--nll-k", type=int, default=1000)
  p.add_argument("--out", default="docs/results/autoencoders")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  report = {}
  for workdir in args.workdir:
    model = mmgen_jax.load(workdir)
    config, variables = model.config, model.variables
    name = os.path.basename(os.path.normpath(workdir))
    images = eval_arrays(config)["image"]
    recon = batched_sample(model.family.sample, config, variables, {"image": images})["images"]
    row = {"family": config.family, "step": int(model.step), "num": len(images),
           "recon_mse": float(np.mean((recon / 255.0 - images / 255.0) ** 2)),
           "psnr": float(peak_signal_noise_ratio(images, recon, data_range=255))}
    pairs = np.concatenate([images[:16], recon[:16]])
    save_grid(os.path.join(args.out, f"{name}_reconstructions.png"), pairs, cols=16)
    if config.family == "vae":
      start = time.perf_counter()
      row.update(vae.likelihood_metrics(config, variables, images, args.nll_k))
      row["nll_seconds"] = round(time.perf_counter() - start, 1)
      row["nll_by_k"] = {k: round(vae.likelihood_metrics(config, variables, images, k)["nll"], 2) for k in (1, 10, 100)}
      save_grid(os.path.join(args.out, f"{name}_samples.png"),
                np.asarray(model.sample(jax.random.PRNGKey(0), 64)["images"]), cols=8)
      # Interpolate between test digits of different classes: 0->1, 2->3, ..., 8->9.
      labels = eval_arrays(config).get("label")
      if labels is not None:
        a = np.asarray([np.flatnonzero(labels == c)[0] for c in range(0, 10, 2)])
        b = np.asarray([np.flatnonzero(labels == c)[0] for c in range(1, 10, 2)])
        path = np.asarray(vae.interpolate(config, variables, images[a], images[b], steps=10))
        save_grid(os.path.join(args.out, f"{name}_interpolation.png"), path.reshape((-1,) + path.shape[2:]), cols=10)
    report[name] = row
  print(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
