"""Image-to-image translation and inpainting on held-out images, each beside its baseline in
the same run, plus fully convolutional inference on whole held-out photos.

- `inpaint` workdirs: on the eval split under the fixed evaluation masks (10-50%, rectangles and strokes), PSNR
  over the holes and whole-image PSNR/SSIM of our fill and of scikit-image's `inpaint_biharmonic` on the same images
  and masks; the margin in dB; known pixels changed (must be 0); seconds per image for both.
- `pix2pix` workdirs: PSNR/SSIM of the translations against the originals, and of the input copied to every channel
  (the grey image: the colourisation baseline); the margin.
- Pictures in --out: rows of (input | baseline | ours | original) for the first 8 images, and for photo models one
  whole held-out photo (area-resized, cropped to a multiple of the stride) run at full size.

  python benchmarks/image_to_image.py --workdir workdirs/inpaint_photos --workdir workdirs/gray2color_photos ...
"""
import argparse
import json
import os
import time

import jax
import numpy as np
from skimage.restoration import inpaint_biharmonic

import mmgen_jax
from mmgen_jax.data import photos, split_arrays
from mmgen_jax.layers.unet import unet_stride
from mmgen_jax.metrics.image import image_metrics, masked_psnr
from mmgen_jax.models import inpaint, pix2pix
from mmgen_jax.train.images import panels, save_grid


def biharmonic(images, masks):
  """skimage's biharmonic inpainting of uint8 [N, H, W, C] under masks [N, H, W, 1] (nonzero = missing) -> uint8,
  known pixels kept exactly (as ours are)."""
  out = []
  for image, mask in zip(images, masks):
    filled = inpaint_biharmonic(image / 255.0, mask[..., 0] > 0, channel_axis=-1)
    filled = np.clip(np.round(filled * 255.0), 0, 255).astype(np.uint8)
    out.append(np.where(mask > 0, filled, image))
  return np.stack(out)


def hole_psnrs(out, images, masks):
  """PSNR over each image's holes [N]."""
  return np.asarray(masked_psnr(out, images, masks, max_val=255.0))


def bench_inpaint(model, out_dir, name, mask_draws=1):
  """Scores over the eval split's images, each under `mask_draws` different evaluation masks (the margin over
  biharmonic moves by ~1 dB between single draws on the 20 test faces)."""
  config = model.config
  held_out = np.asarray(split_arrays(config.data.source, config.data.eval_split)["image"])
  images = np.concatenate([held_out] * mask_draws)
  masks = np.asarray(inpaint.eval_masks(config, len(images)))
  ours = model.sample(jax.random.PRNGKey(0), len(images), image=images, mask=masks)  # Compiles.
  start = time.perf_counter()
  ours = np.asarray(model.sample(jax.random.PRNGKey(0), len(images), image=images, mask=masks)["images"])
  ours_s = (time.perf_counter() - start) / len(images)
  start = time.perf_counter()
  base = biharmonic(images, masks)
  base_s = (time.perf_counter() - start) / len(images)
  known = np.broadcast_to(masks == 0, images.shape)
  masked = np.where(masks > 0, 128, images).astype(np.uint8)
  save_grid(os.path.join(out_dir, f"{name}.png"), panels(masked[:8], base[:8], ours[:8], images[:8]).reshape(
      (-1,) + panels(images[:1]).shape[2:]), cols=4)
  ours_scores, base_scores = image_metrics(ours, images), image_metrics(base, images)
  ours_holes, base_holes = hole_psnrs(ours, images, masks), hole_psnrs(base, images, masks)
  # Each draw holds every held-out image once, in order: the margin's spread over draws.
  margin_per_draw = (ours_holes - base_holes).reshape(mask_draws, -1).mean(1)
  return {"hole_psnr": float(ours_holes.mean()), "biharmonic_hole_psnr": float(base_holes.mean()),
          "margin_db": float(ours_holes.mean() - base_holes.mean()),
          "psnr": ours_scores["psnr"], "ssim": ours_scores["ssim"], "biharmonic_psnr": base_scores["psnr"],
          "biharmonic_ssim": base_scores["ssim"], "mean_hole_fraction": float(masks.mean()),
          "known_pixels_changed": int(np.sum(ours[known] != images[known])),
          "ms_per_image": 1e3 * ours_s, "biharmonic_ms_per_image": 1e3 * base_s, "num_images": len(held_out),
          "mask_draws": mask_draws,
          "margin_db_per_draw": [float(margin_per_draw.min()), float(margin_per_draw.max())]}


def bench_pix2pix(model, out_dir, name):
  config = model.config
  scores = pix2pix.evaluate(config, model.state)
  images = np.asarray(split_arrays(config.data.source, config.data.eval_split)["image"][:8])
  out = model.sample(jax.random.PRNGKey(0), 8, image=images)
  copied = np.repeat(np.asarray(out["source"]), 3, -1)
  save_grid(os.path.join(out_dir, f"{name}.png"), panels(out["source"], copied, out["images"], images).reshape(
      (-1,) + panels(images[:1]).shape[2:]), cols=4)
  report = {**scores, "margin_psnr_db": scores["psnr"] - scores["input_copy_psnr"],
            "margin_ssim": scores["ssim"] - scores["input_copy_ssim"]}
  if config.data.source == "photos":
    # A whole held-out photo at once (the network was trained on 64x64 patches).
    photo = photos.split_photos("test", photos.PATCH_SHORT_SIDE)[1]
    s = unet_stride(config.model.widths)
    photo = np.round(photo[:photo.shape[0] // s * s, :photo.shape[1] // s * s] * 255).astype(np.uint8)[None]
    full = model.sample(jax.random.PRNGKey(0), 1, image=photo)
    whole = {k: np.asarray(v) for k, v in full.items()}
    report["whole_photo"] = {"size": list(photo.shape[1:3]), **image_metrics(whole["images"], photo)}
    save_grid(os.path.join(out_dir, f"{name}_whole_photo.png"),
              panels(whole["source"], whole["images"], photo)[0], cols=3, scale=1)
  return report


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", action="append", required=True)
  p.add_argument("--out", default="docs/results/image_to_image")
  p.add_argument("--mask-draws", type=int, default=1, help="inpainting: evaluation masks per held-out image")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  report = {}
  for workdir in args.workdir:
    model = mmgen_jax.load(workdir)
    name = os.path.basename(os.path.normpath(workdir))
    if model.config.family == "inpaint":
      scores = bench_inpaint(model, args.out, name, args.mask_draws)
    else:
      scores = bench_pix2pix(model, args.out, name)
    report[name] = {"family": model.config.family, "dataset": model.config.data.source, "step": int(model.step),
                    **jax.tree.map(lambda v: round(v, 3) if isinstance(v, float) else v, scores)}
    print(json.dumps({name: report[name]}), flush=True)
  print(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
