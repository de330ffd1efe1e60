"""Multimodal VAE on `digits`: image, caption and DTMF clip share one latent (product of experts); any subset of
them infers it, and every modality is decoded from it.

  mmgen-jax train mvae_digits --workdir workdirs/mvae_digits
  python -c "import numpy as np; np.savez('c.npz', text=np.array(['a handwritten seven', 'the digit 3']))"
  mmgen-jax sample --workdir workdirs/mvae_digits --num 2 --cond c.npz --out out.npz   # images, text, audio
  python benchmarks/multimodal_vae.py --workdir workdirs/mvae_digits
"""
from mmgen_jax.configs._base import shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "mvae", "multimodal VAE (image + caption + DTMF clip, product of experts) on the real digits",
      data=dict(source="digits", image_size=32, channels=1, batch_size=32),
      # weights: image, text, audio log-likelihood weights (a caption has ~8 tokens against 1,024 pixels).
      model=dict(vocab=[], latent_dim=32, widths=[16, 32, 64], text_dim=64, max_len=12, memory_tokens=4,
                 audio_samples=4000, weights=[1.0, 50.0, 1.0], beta=1.0),
      optim=dict(lr=1e-3, grad_clip=10.0),
      ema=dict(decay=0.999, start_step=500),
      train=dict(steps=2000, sample_every=1000, ckpt_every=1000, best_metric="coherence", best_mode="max",
                 eval_every=1000, eval_num=1000, num_grid=20),
  )
  if smoke:  # Two memory tokens: with one, attention over them is moot.
    shrink_for_smoke(config, batch_size=8, num_grid=4, latent_dim=4, widths=[4, 8, 8], text_dim=16, memory_tokens=2)
  return config
