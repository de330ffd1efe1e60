"""V-GAN next-frame synthesis on held-out clips: each run against copy-the-last-frame.

For each workdir (a `vgan` run: any fusion, or a one-modality ablation) on the whole eval split: PSNR and SSIM of
the generated next frame (`metrics/image.py`; PSNR cross-checked with scikit-image's `peak_signal_noise_ratio` over
the same frames), the same for the copy-the-last-frame baseline, the margin in dB, and a picture per run in --out:
one clip per row (4 context frames, the still, the generated frame, the true frame).

  python benchmarks/vgan.py --workdir workdirs/vgan_digits --workdir workdirs/vgan_digits_image_only ...
"""
import argparse
import json
import os

import jax
import numpy as np
from skimage.metrics import peak_signal_noise_ratio

import mmgen_jax
from mmgen_jax.models import vgan
from mmgen_jax.train.images import write_samples


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", action="append", required=True)
  p.add_argument("--out", default="docs/results/vgan")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  report = {}
  for workdir in args.workdir:
    model = mmgen_jax.load(workdir)
    config, m = model.config, model.config.model
    name = os.path.basename(os.path.normpath(workdir))
    scores = vgan.evaluate(config, model.state, seed=0)
    clips = vgan.eval_clips(config)
    # An independent PSNR over the first 256 clips' generated frames, through the public sampler.
    out = model.sample(jax.random.PRNGKey(0), 256, video=clips["video"][:256], image=clips["image"][:256])
    generated = np.asarray(out["images"])
    reference = np.mean([peak_signal_noise_ratio(t, g, data_range=255)
                         for t, g in zip(clips["target"][:256], generated)])
    write_samples(os.path.join(args.out, name), model.family.decode_outputs(
        config, {**{k: v[:8] for k, v in out.items()}, "target": clips["target"][:8]}))
    report[name] = {
        "dataset": config.data.source, "step": int(model.step), "fusion": m.fusion if m.use_video and m.use_image
        else "-", "modalities": "+".join(k for k, used in (("video", m.use_video), ("image", m.use_image)) if used),
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in scores.items()},
        "margin_over_copy_last_db": round(scores["psnr"] - scores["copy_last_psnr"], 2),
        "psnr_skimage_first_256": round(float(reference), 3)}
  print(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
