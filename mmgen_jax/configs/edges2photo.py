"""pix2pix on `photos`: Sobel edge map of a 64x64 patch -> the colour patch (U-Net, conditional PatchGAN, hinge +
L1).

  mmgen-jax train edges2photo --workdir workdirs/edges2photo
  mmgen-jax sample --workdir workdirs/edges2photo --cond edges.npz --out photos.npz  # source (edges) or image
  python benchmarks/image_to_image.py --workdir workdirs/edges2photo
"""
from mmgen_jax.configs._base import GAN_LOSS, GAN_OPTIM, shrink_for_smoke, zoo_config


def pix2pix_config(input_kind, source, image_size, channels, smoke, description):
  """The pix2pix settings shared by the translation configs."""
  config = zoo_config(
      "pix2pix", description,
      data=dict(source=source, image_size=image_size, channels=channels, batch_size=8 if image_size >= 64 else 16),
      # input: edges | gray (computed from each image in the step); widths: U-Net (stride 2^(len - 1));
      # residual: output = input + correction (colourisation keeps the grey image's luminance from the start).
      model=dict(input=input_kind, residual=input_kind == "gray",
                 widths=[16, 32, 64, 128] if image_size >= 64 else [16, 32, 64],
                 upsample="nearest", d_width=32, d_num_down=3 if image_size >= 64 else 2, spectral_norm=True,
                 l1_weight=100.0, flip=True),
      loss=GAN_LOSS, optim=GAN_OPTIM, ema=dict(decay=0.999, start_step=500),
      train=dict(steps=2500, sample_every=500, ckpt_every=500, best_metric="psnr", best_mode="max", eval_every=500,
                 eval_num=0, num_grid=8),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=4, num_grid=2, widths=[8, 16], d_width=8, d_num_down=1)
  return config


def get_config(smoke=False):
  return pix2pix_config("edges", "photos", 64, 3, smoke,
                        "pix2pix edges -> photo on real photo patches (held-out photos)")
