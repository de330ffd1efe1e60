"""Inpainting on `photos`: gated-conv U-Net with a dilated bottleneck, PatchGAN (hinge) + hole/valid L1, composited
output, random rectangles and brush strokes covering 10-50% of each 64x64 patch.

  mmgen-jax train inpaint_photos --workdir workdirs/inpaint_photos
  mmgen-jax sample --workdir workdirs/inpaint_photos --cond holes.npz --out filled.npz   # image, mask (1 = missing)
  python benchmarks/image_to_image.py --workdir workdirs/inpaint_photos   # vs skimage's inpaint_biharmonic
"""
from mmgen_jax.configs._base import GAN_OPTIM, shrink_for_smoke, zoo_config


def inpaint_config(source, image_size, channels, smoke, description, fill="push_pull"):
  """The inpainting settings shared by the inpainting configs."""
  config = zoo_config(
      "inpaint", description,
      # masks: mixed | rectangles | strokes | folder:PATH (images, white = missing).
      data=dict(source=source, image_size=image_size, channels=channels, batch_size=8 if image_size >= 64 else 16,
                masks="mixed"),
      # fill: the first guess the network corrects, push_pull | biharmonic (as skimage; this config's step 284 -> 377
      # ms on the 2-core CPU).
      model=dict(widths=[16, 32, 64], dilations=[2, 4, 8], upsample="nearest", fill=fill, d_width=32,
                 d_num_down=3 if image_size >= 64 else 2, l1_weight=100.0, hole_weight=6.0, flip=True,
                 permute_channels=False),
      loss=dict(name="hinge", gp_weight=10.0, adv_weight=1.0),
      optim={**GAN_OPTIM, "g_lr": 5e-4}, ema=dict(decay=0.999, start_step=500),
      train=dict(steps=2500, sample_every=500, ckpt_every=500, best_metric="hole_psnr", best_mode="max",
                 eval_every=500, eval_num=0, num_grid=8),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=4, num_grid=2, widths=[8, 16], dilations=[2], d_width=8, d_num_down=1)
  return config


def get_config(smoke=False):
  return inpaint_config("photos", 64, 3, smoke, "gated-conv inpainting of real photo patches (held-out photos)")
