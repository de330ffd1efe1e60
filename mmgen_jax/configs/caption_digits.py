"""Image captioning on `digits`: CNN cell tokens, a 2-block transformer decoder with cross-attention, label
smoothing, beam search (width 4) at sampling time.

  mmgen-jax train caption_digits --workdir workdirs/caption_digits
  python -c "from mmgen_jax.data import open_source; import numpy as np; \\
             np.savez('c.npz', image=open_source('digits', 'test').arrays['image'][:8])"
  mmgen-jax sample --workdir workdirs/caption_digits --num 8 --cond c.npz --out captions.npz   # writes `text`
"""
from mmgen_jax.configs._base import shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "caption", "image captioning (CNN tokens + transformer decoder, beam search) on the real digits",
      data=dict(source="digits", image_size=32, channels=1, batch_size=64),
      # max_len counts BOS/EOS-free positions the decoder may emit (the longest training caption has 7 words + EOS).
      model=dict(vocab=[], dim=128, depth=2, num_heads=4, max_len=12, encoder_widths=[32, 64, 128],
                 label_smoothing=0.1, augment_shift=2, beam_size=4, length_penalty=0.6),
      # AdamW, linear warmup then cosine to 5% (train/optim.py).
      optim=dict(name="adamw", schedule="warmup_cosine", lr=1e-3, warmup_steps=200, weight_decay=1e-4,
                 grad_clip=1.0),
      ema=dict(decay=0.999, start_step=500),
      train=dict(steps=2000, sample_every=1000, ckpt_every=1000, best_metric="digit_accuracy", best_mode="max",
                 eval_every=1000, eval_num=1000, num_grid=20),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=8, num_grid=4, dim=16, depth=1, num_heads=2, encoder_widths=[8, 8, 8],
                     beam_size=2)
    config.optim.warmup_steps = 1
  return config
