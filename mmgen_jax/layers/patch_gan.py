"""PatchGAN discriminator body (Isola et al. 2017): a few strided convs whose output is one logit per overlapping
patch, so D judges local texture and structure; callers stack the condition with the image as channels."""
import flax.linen as nn
import jax.numpy as jnp

from mmgen_jax.layers.conv import Conv


def patch_logits(x, width, train, num_down=2, spectral_norm=True):
  """x [B, H, W, C] -> logits [B, H/2^num_down, W/2^num_down]; call inside a compact module.

  num_down stride-2 4x4 convs (width doubling, LeakyReLU 0.2), a 3x3 conv, a 3x3 conv to one channel. With
  spectral_norm, every conv is spectrally normalised (Miyato et al. 2018); power iteration runs when `train`."""
  def conv(features, kernel, strides=1):
    layer = Conv(features, (kernel, kernel), strides=(strides, strides))
    # Power iterations in float32 (u is float32 state); the normalised kernel is cast to h's (compute) dtype.
    return (lambda h: nn.SpectralNorm(layer, dtype=h.dtype)(h, update_stats=train)) if spectral_norm else layer

  for i in range(num_down):
    x = nn.leaky_relu(conv(width * 2 ** min(i, 3), 4, 2)(x), 0.2)
  x = nn.leaky_relu(conv(width * 2 ** min(num_down - 1, 3), 3)(x), 0.2)
  return conv(1, 3)(x)[..., 0]


class ConditionalPatchGAN(nn.Module):
  """(image [B, H, W, C], condition [B, H, W, K]) -> patch logits [B, H/2^num_down, W/2^num_down]: the condition is
  stacked with the image as channels, so D judges whether the image fits it (pix2pix's discriminator)."""
  width: int = 64
  num_down: int = 3
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, image, condition, train=True):
    x = jnp.concatenate([image, condition.astype(image.dtype)], -1)
    return patch_logits(x, self.width, train, self.num_down, self.spectral_norm)
