"""pix2pix on `photos`: Sobel edge map of a 64x64 patch -> the colour patch (U-Net, conditional PatchGAN, hinge +
L1).

  mmgen-jax train edges2photo --workdir workdirs/edges2photo
  mmgen-jax sample --workdir workdirs/edges2photo --cond edges.npz --out photos.npz  # source (edges) or image
  python benchmarks/image_to_image.py --workdir workdirs/edges2photo
"""
from mmgen_jax.config import Config


def pix2pix_config(input_kind, source, image_size, channels, smoke, description):
  """The pix2pix settings shared by the translation configs."""
  config = Config(
      family="pix2pix",
      description=description,
      seed=0,
      data=dict(source=source, split="train", eval_split="test", image_size=image_size, channels=channels,
                batch_size=8 if image_size >= 64 else 16),
      # input: edges | gray (computed from each image in the step); widths: U-Net (stride 2^(len - 1));
      # residual: output = input + correction (colourisation keeps the grey image's luminance from the start).
      model=dict(input=input_kind, residual=input_kind == "gray",
                 widths=[16, 32, 64, 128] if image_size >= 64 else [16, 32, 64],
                 upsample="nearest", d_width=32, d_num_down=3 if image_size >= 64 else 2, spectral_norm=True,
                 l1_weight=100.0, flip=True),
      loss=dict(name="hinge", gp_weight=10.0),
      optim=dict(g_lr=2e-4, d_lr=2e-4, b1=0.5, b2=0.999),
      ema=dict(decay=0.999, start_step=500),
      train=dict(steps=2500, log_every=100, sample_every=500, ckpt_every=500, keep=2, keep_best=1,
                 best_metric="psnr", best_mode="max", eval_every=500, eval_num=0, num_grid=8),
  )
  if smoke:
    config.data.batch_size = 4
    config.model.update(widths=[8, 16], d_width=8, d_num_down=1)
    config.ema.start_step = 1
    config.train.update(steps=3, log_every=1, sample_every=3, ckpt_every=2, eval_every=0, num_grid=2)
  return config


def get_config(smoke=False):
  return pix2pix_config("edges", "photos", 64, 3, smoke,
                        "pix2pix edges -> photo on real photo patches (held-out photos)")
