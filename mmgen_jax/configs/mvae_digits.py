"""Multimodal VAE on `digits`: image, caption and DTMF clip share one latent (product of experts); any subset of
them infers it, and every modality is decoded from it.

  mmgen-jax train mvae_digits --workdir workdirs/mvae_digits
  python -c "import numpy as np; np.savez('c.npz', text=np.array(['a handwritten seven', 'the digit 3']))"
  mmgen-jax sample --workdir workdirs/mvae_digits --num 2 --cond c.npz --out out.npz   # images, text, audio
  python benchmarks/multimodal_vae.py --workdir workdirs/mvae_digits
"""
from mmgen_jax.config import Config


def get_config(smoke=False):
  config = Config(
      family="mvae",
      description="multimodal VAE (image + caption + DTMF clip, product of experts) on the real digits",
      seed=0,
      data=dict(source="digits", split="train", eval_split="test", image_size=32, channels=1, batch_size=32),
      # weights: image, text, audio log-likelihood weights (a caption has ~8 tokens against 1,024 pixels).
      model=dict(vocab=[], latent_dim=32, widths=[16, 32, 64], text_dim=64, max_len=12, memory_tokens=4,
                 audio_samples=4000, weights=[1.0, 50.0, 1.0], beta=1.0),
      optim=dict(lr=1e-3, grad_clip=10.0),
      ema=dict(decay=0.999, start_step=500),
      train=dict(steps=2000, log_every=100, sample_every=1000, ckpt_every=1000, keep=2, keep_best=1,
                 best_metric="coherence", best_mode="max", eval_every=1000, eval_num=1000, num_grid=20),
  )
  if smoke:
    config.data.batch_size = 8
    config.model.update(latent_dim=4, widths=[4, 8, 8], text_dim=16, memory_tokens=2)  # 1 token: attention is moot.
    config.ema.start_step = 1
    config.train.update(steps=3, log_every=1, sample_every=3, ckpt_every=2, eval_every=0, num_grid=4)
  return config
