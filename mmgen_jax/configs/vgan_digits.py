"""V-GAN next-frame synthesis on `moving_digits`: a ConvLSTM video encoder and a CNN image encoder, late fusion,
U-Net generator, conditional PatchGAN (hinge) + L1.

  mmgen-jax train vgan_digits --workdir workdirs/vgan_digits
  mmgen-jax sample --workdir workdirs/vgan_digits --cond clips.npz --out next.npz   # clips.npz: video, image
  python benchmarks/vgan.py --workdir workdirs/vgan_digits ...                      # vs copy-last, ablations

Variants: --set model.fusion=early|late|film, --set model.use_video=false (image-only ablation).
"""
from mmgen_jax.configs._base import GAN_LOSS, GAN_OPTIM, shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "vgan", "V-GAN next-frame synthesis (ConvLSTM video + CNN image encoders, fused) on moving real digits",
      data=dict(source="moving_digits", image_size=32, channels=1, context_frames=4, batch_size=16),
      # fusion: early | late | film; output: direct | warp (models/vgan.py); z_dim: noise channels at the bottleneck.
      model=dict(fusion="late", use_video=True, use_image=True, output="direct", widths=[16, 32, 64], lstm_width=32,
                 z_dim=8, d_width=32, l1_weight=100.0),
      loss=GAN_LOSS, optim=GAN_OPTIM, ema=dict(decay=0.998, start_step=500),
      train=dict(steps=2000, sample_every=1000, ckpt_every=500, best_metric="psnr", best_mode="max", eval_every=500,
                 eval_num=0, num_grid=8),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=8, num_grid=2, widths=[8, 16, 16], lstm_width=8, z_dim=2, d_width=8)
  return config
