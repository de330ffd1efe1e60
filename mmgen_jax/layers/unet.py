"""A fully convolutional U-Net (Ronneberger et al. 2015) for image-to-image generators, with plain or gated
convolutions (Yu et al. 2019, DeepFill v2) and an optional dilated bottleneck.

Plain blocks are conv -> GroupNorm -> SiLU (batch-independent: an image's output never depends on the batch); gated
blocks are conv -> SiLU(features) x sigmoid(gate), the gate learning where the input is valid (inpainting holes).
Any input whose sides divide by 2^(len(widths) - 1) works, whatever size the network was trained at.
"""
import flax.linen as nn
import jax.numpy as jnp

from mmgen_jax.errors import UserError
from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.updown import Upsample2x


def unet_stride(widths):
  """Input sides must be multiples of this: one halving per width after the first."""
  return 2 ** (len(widths) - 1)


def check_unet_size(image_size, widths):
  """One error line when a training size does not divide by the U-Net's stride."""
  if image_size % unet_stride(widths):
    raise UserError(f"data.image_size={image_size} must be a multiple of {unet_stride(widths)} for "
                    f"{len(widths)} U-Net widths (model.widths): change one of them")


class GatedConv(nn.Module):
  """[B, H, W, C] -> [B, H/s, W/s, features]: SiLU(conv_f(x)) * sigmoid(conv_g(x)), the two convs fused in one."""
  features: int
  kernel: int = 3
  strides: int = 1
  dilation: int = 1

  @nn.compact
  def __call__(self, x):
    y = Conv(2 * self.features, (self.kernel, self.kernel), strides=(self.strides, self.strides),
             kernel_dilation=(self.dilation, self.dilation))(x)
    features, gate = jnp.split(y, 2, axis=-1)
    return nn.silu(features) * nn.sigmoid(gate)


def conv_block(x, width, gated, strides=1, dilation=1):
  """One 3x3 block (call inside a compact module): gated conv, or conv -> GroupNorm -> SiLU."""
  if gated:
    return GatedConv(width, strides=strides, dilation=dilation)(x)
  x = Conv(width, (3, 3), strides=(strides, strides), kernel_dilation=(dilation, dilation))(x)
  return nn.silu(nn.GroupNorm(num_groups=min(8, width))(x))


class UNet(nn.Module):
  """x [B, H, W, C_in] -> [B, H, W, out_channels] (linear: the caller picks the output activation).

  Encoder: a block at full resolution, then per further width a stride-2 block and a block. Bottleneck: one block
  per entry of `dilations` at the coarsest scale (receptive field for filling large holes). Decoder: x2 upsampling
  (`layers/updown.Upsample2x`, or 'nearest': parameter-free, leaving the mixing to the block after the
  concatenation, one conv fewer per scale), concatenation with the encoder map of that scale, a block.
  """
  out_channels: int
  widths: tuple = (32, 64, 128, 256)
  gated: bool = False
  dilations: tuple = ()
  upsample: str = "pixel_shuffle"
  zero_output: bool = False  # Zero-initialised last conv: a residual head (e.g. a correction) starts at 0.

  @nn.compact
  def __call__(self, x):
    stride = 2 ** (len(self.widths) - 1)
    if x.shape[1] % stride or x.shape[2] % stride:
      raise ValueError(f"U-Net input {x.shape[1]}x{x.shape[2]} must have sides divisible by {stride}")
    skips = []
    for i, width in enumerate(self.widths):
      if i:
        skips.append(x)
        x = conv_block(x, width, self.gated, strides=2)
      x = conv_block(x, width, self.gated)
    for d in self.dilations:
      x = conv_block(x, self.widths[-1], self.gated, dilation=d)
    for width, skip in zip(self.widths[-2::-1], skips[::-1]):
      if self.upsample == "nearest":
        x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
      else:
        x = Upsample2x(width, method=self.upsample)(x)
      x = conv_block(jnp.concatenate([x, skip], -1), width, self.gated)
    init = nn.initializers.zeros if self.zero_output else nn.linear.default_kernel_init
    return Conv(self.out_channels, (3, 3), kernel_init=init)(x)
