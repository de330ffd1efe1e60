"""Style transfer for video (`style`, AdaIN) on `video_styles`: the `style_photos` network trained on pairs of
consecutive frames with a temporal-consistency term (the stylised frame t - 1, warped onto frame t by the camera's
exact flow, should equal the stylised frame t), so the effect does not flicker.

  mmgen-jax train style_videos --workdir workdirs/style_videos
  python -c "import numpy as np; from mmgen_jax.data import styles; a = styles.video_styles_arrays('test');
             np.savez('v.npz', video=a['video'][:2], style=a['style'][:2])"
  mmgen-jax sample --workdir workdirs/style_videos --num 2 --cond v.npz --out styled.npz   # 'video' [2, T, H, W, 3]
  python benchmarks/style_transfer.py --workdir workdirs/style_photos --video-workdir workdirs/style_videos
"""
from mmgen_jax.configs import style_photos


def get_config(smoke=False):
  config = style_photos.get_config(smoke)
  config.description = "style transfer for video: AdaIN trained with a temporal-consistency term"
  # Clips of 4 frames; each step draws one consecutive pair per clip (batch 8 clips = 16 frames, as style_photos).
  config.data.update(source="video_styles", frames=4, batch_size=4 if smoke else 8)
  config.loss.temporal_weight = 10000.0
  return config
