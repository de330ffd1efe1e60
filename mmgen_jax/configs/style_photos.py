"""Arbitrary style transfer (`style`, AdaIN) on `photo_styles`: any content photo, any style image, one forward pass.

  mmgen-jax train style_photos --workdir workdirs/style_photos
  python -c "import numpy as np; from skimage import data; np.savez('c.npz', image=data.coffee()[:400, :592],
             style=data.brick()[:256, :256, None].repeat(3, -1), alpha=np.float32(0.8))"
  mmgen-jax sample --workdir workdirs/style_photos --num 1 --cond c.npz --out styled.npz
  python benchmarks/style_transfer.py --workdir workdirs/style_photos     # against Gatys and histogram matching
"""
from mmgen_jax.configs._base import shrink_for_smoke, zoo_config


def get_config(smoke=False):
  config = zoo_config(
      "style", "feed-forward arbitrary style transfer (AdaIN) with a loss network trained here",
      data=dict(source="photo_styles", image_size=64, channels=3, batch_size=16),
      # loss_network: patches | autoencoder | random (metrics/loss_network.py).
      # adain_depth: the loss-network map (1..4) AdaIN works on; the decoder upsamples once per width back to the image.
      # match_colour: after decoding, give the result the style's mean colour and colour covariance (linear transfer).
      model=dict(loss_network="patches", adain_depth=3, skips=True, decoder_widths=[64, 32], match_colour=True),
      loss=dict(style_weight=20.0, colour_weight=10.0, temporal_weight=0.0),
      optim=dict(lr=1e-3, grad_clip=10.0),
      ema=dict(decay=0.998, start_step=400),
      train=dict(steps=1200, sample_every=400, ckpt_every=400, best_metric="style_distance", best_mode="min",
                 eval_every=1200, eval_num=154, num_grid=16),
  )
  if smoke:
    shrink_for_smoke(config, batch_size=4, num_grid=4, decoder_widths=[8, 8])
    config.model.loss_network = "random"  # The pipeline, not the weights: nothing to load or train.
  return config
