"""Video super-resolution x4 on `photo_videos` (camera motion over real photos, 16x16 -> 64x64, 6-frame clips):
BasicVSR-style bidirectional propagation with learnt flow, pixel-shuffle upsampling over bicubic, Charbonnier loss.

  mmgen-jax train vsr_photos --workdir workdirs/vsr_photos
  mmgen-jax sample --workdir workdirs/vsr_photos --cond lr.npz --out hr.npz   # lr_video uint8 [N, T, h, w, 3]
  python benchmarks/vsr.py --workdir workdirs/vsr_photos --workdir workdirs/vsr_photos_single
"""
from mmgen_jax.configs._base import shrink_for_smoke, zoo_config


def get_config(smoke=False, propagation=True):
  config = zoo_config(
      "vsr", ("x4 video super-resolution with bidirectional recurrent propagation on real-photo camera videos"
              if propagation else "x4 single-frame super-resolution baseline (no propagation)"),
      data=dict(source="photo_videos", image_size=64, channels=3, frames=6, batch_size=8,
                augment=["flip", "reverse", "transpose", "permute_channels"]),
      model=dict(width=32, blocks=2, propagation=propagation),
      # adv_weight > 0: the perceptual variant (a conditional PatchGAN's hinge term beside Charbonnier).
      loss=dict(adv_weight=0.0, d_lr=2e-4, d_width=32),
      # Adam (b2 0.99), cosine decay to 1% over the run (train/optim.py).
      optim=dict(lr=1e-3, b1=0.9, b2=0.99, schedule="cosine", grad_clip=1.0),
      ema=dict(decay=0.99, start_step=200),  # 0.999 lags a 2,000-step run: 35.04 vs 36.22 dB held out (GPU sweep).
      train=dict(steps=2000, sample_every=1000, ckpt_every=500, best_metric="psnr", best_mode="max", eval_every=500,
                 eval_num=0, num_grid=4),
      # Sampling long videos (`vsr.host_sample`): chunks of frames and tiles of LR pixels (0: whole frames), each
      # with context on every side that is computed and dropped. `mmgen-jax sample --set infer.chunk_frames=16`.
      # carry_state: chunks that carry the recurrent maps across instead (the whole-video result, whole frames).
      infer=dict(chunk_frames=32, chunk_overlap=4, tile=0, tile_overlap=8, carry_state=False),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=2, num_grid=2, width=8, blocks=1)
  return config
