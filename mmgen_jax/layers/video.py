"""Image and video encoders that keep spatial maps: a CNN feature pyramid, and a per-frame pyramid followed by a
ConvLSTM scanned over time.

They feed generators that must place things (next-frame synthesis): the coarsest map is the code, the finer maps are
skip connections, as in a U-Net.
"""
import flax.linen as nn
import jax.numpy as jnp

from mmgen_jax.layers.conv import Conv


def _norm_act(x):
  return nn.silu(nn.GroupNorm(num_groups=min(8, x.shape[-1]))(x))


class FeaturePyramid(nn.Module):
  """Images float [B, H, W, C] -> [maps at H, H/2, ..., H/2^(s-1)], map i [B, H/2^i, W/2^i, widths[i]].

  A 3x3 conv at full resolution, then per further width a stride-2 3x3 conv and a 3x3 conv; GroupNorm and SiLU after
  each conv (batch-independent, so a clip's prediction never depends on the rest of the batch).
  """
  widths: tuple = (32, 64, 128)

  @nn.compact
  def __call__(self, x):
    maps = []
    for i, width in enumerate(self.widths):
      if i:
        x = _norm_act(Conv(width, (3, 3), strides=(2, 2))(x))
      x = _norm_act(Conv(width, (3, 3))(x))
      maps.append(x)
    return maps


class VideoEncoder(nn.Module):
  """Clips float [B, T, H, W, C] -> (code [B, h, w, lstm_width], skips of the last frame [maps at H .. 2h]);
  h = H / 2^(len(widths) - 1).

  Each frame goes through one shared `FeaturePyramid`; a ConvLSTM (3x3) runs over the coarsest maps in time order
  (`nn.RNN`, a `nn.scan` over T) and its final hidden state is the code: where things are and how they move. The
  finer maps of the last frame are returned for skip connections (the detail the next frame mostly repeats).
  """
  widths: tuple = (32, 64, 128)
  lstm_width: int = 32  # The ConvLSTM is most of the encoder's cost (4 gates, 3x3, every step): keep it narrow.

  @nn.compact
  def __call__(self, video):
    b, t = video.shape[:2]
    maps = FeaturePyramid(self.widths, name="frame_encoder")(video.reshape((b * t,) + video.shape[2:]))
    maps = [m.reshape((b, t) + m.shape[1:]) for m in maps]
    # Fully unrolled (T is static and small): on the CPU, XLA runs convolutions inside a while loop ~60x slower
    # than the same convolutions unrolled (measured: 29 s vs 0.47 s per ConvLSTM gradient at T=4, B=32, 8x8x128).
    # The zero carry in the maps' dtype (the cell's own would be float32 and lift the LSTM out of bfloat16).
    zeros = jnp.zeros(maps[-1].shape[:1] + maps[-1].shape[2:-1] + (self.lstm_width,), maps[-1].dtype)
    (_, code), _ = nn.RNN(nn.ConvLSTMCell(self.lstm_width, (3, 3)), return_carry=True, unroll=t,
                          name="convlstm")(maps[-1], initial_carry=(zeros, zeros))
    return code, [m[:, -1] for m in maps[:-1]]


def stack_frames_with(video, image):
  """Early fusion of a still with a clip: [B, T, H, W, C] and [B, H, W, C'] -> [B, T, H, W, C + C'] (the still
  repeated beside every frame)."""
  return jnp.concatenate([video, jnp.broadcast_to(image[:, None], video.shape[:2] + image.shape[1:])], -1)
