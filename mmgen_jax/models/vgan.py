"""V-GAN: a video encoder and an image encoder fused to condition a generator, judged by a discriminator, as
next-frame synthesis: from T context frames and a reference still, generate the frame that follows.

Generator (`NextFrameGenerator`): video [B, T, H, W, C] and still [B, H, W, C] in [-1, 1], noise z [B, H/4, W/4, Z]
-> frame [B, H, W, C] in [-1, 1]. The video encoder (`layers/video.VideoEncoder`) runs a CNN pyramid per frame and a
ConvLSTM over time: its final state is the code (where things are and how they move); the image encoder is a CNN
pyramid (`layers/video.FeaturePyramid`). A U-Net-style decoder upsamples the fused code with skip connections from
the last frame's finer maps. `model.fusion` picks how the two modalities meet:
- 'early': the still is stacked beside every frame as extra input channels; one encoder sees both from its first
  layer (no separate image encoder).
- 'late': separate encoders; their spatial codes are concatenated and mixed by a 1x1 conv (`MapConcatFusion`).
- 'film': separate encoders; the pooled image code modulates every decoder block (`FiLM`, channel-wise: it can say
  what the still looks like, not where).
`model.use_video=False` / `model.use_image=False` drop a modality (the ablations of `benchmarks/vgan.py`).
`model.output` picks the head: 'direct' draws the frame (tanh); 'warp' (needs the video) predicts a flow field, a
blend mask and a frame, and outputs the last context frame warped by the flow (`layers/warp.py`) blended with the
drawn frame where the mask says (new content at the borders). The flow starts at zero and the mask near 0, so a
fresh model copies the last frame: camera motion over photos is then learnt as a small correction, not redrawn.

Discriminator (`ConditionalPatchDiscriminator`): a PatchGAN over the frame stacked with its condition (all context
frames and the still, as channels) -> logits [B, H/4, W/4], one per patch, spectrally normalised. Losses: hinge (or
any `train/losses.py` GAN loss) + `model.l1_weight` x L1 to the true next frame (Isola et al. 2017).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.fusion import FiLM, MapConcatFusion
from mmgen_jax.layers.patch_gan import patch_logits
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.updown import Upsample2x
from mmgen_jax.layers.video import FeaturePyramid, VideoEncoder, stack_frames_with
from mmgen_jax.layers.warp import warp
from mmgen_jax.metrics.batched import batched_sample
from mmgen_jax.metrics.image import image_metrics
from mmgen_jax.state import GANState
from mmgen_jax.train.gan_step import adversarial_step, apply_with_state
from mmgen_jax.train.optim import make_optimizer

FUSIONS = ("early", "late", "film")
OUTPUTS = ("direct", "warp")
# Settings that configs of older checkpoints lack, as those checkpoints were trained (before the warp head).
CONFIG_DEFAULTS = {"model.output": "direct"}


class NextFrameGenerator(nn.Module):
  """(video [B, T, H, W, C], image [B, H, W, C], z [B, H/2^s, W/2^s, z_dim]) -> frame [B, H, W, C] in [-1, 1];
  s = len(widths) - 1. Inputs are float in [-1, 1]; a dropped modality (use_video/use_image False) is ignored."""
  channels: int = 1
  widths: tuple = (32, 64, 128)
  lstm_width: int = 32
  fusion: str = "late"
  use_video: bool = True
  use_image: bool = True
  output: str = "direct"

  @nn.compact
  def __call__(self, video, image, z, train=True):
    del train  # No train-dependent layers (GroupNorm); the argument keeps the GAN step's calling convention.
    both = self.use_video and self.use_image
    film_tokens = None
    if self.use_video:
      if both and self.fusion == "early":
        video = stack_frames_with(video, image)
      code, skips = VideoEncoder(self.widths, self.lstm_width, name="video_encoder")(video)
    if self.use_image and not (both and self.fusion == "early"):
      image_maps = FeaturePyramid(self.widths, name="image_encoder")(image)
      if not self.use_video:
        code, skips = image_maps[-1], image_maps[:-1]
      elif self.fusion == "late":
        code = MapConcatFusion(self.widths[-1], name="fuse_late")(code, image_maps[-1])
      else:  # film
        c = image_maps[-1]
        film_tokens = c.reshape(c.shape[0], -1, c.shape[-1])

    def block(x, width):
      x = nn.GroupNorm(num_groups=min(8, width))(Conv(width, (3, 3))(x))
      if film_tokens is not None:
        x = FiLM()(x, film_tokens, jnp.ones(film_tokens.shape[:2], bool))
      return nn.silu(x)

    x = block(jnp.concatenate([code, z.astype(code.dtype)], -1), self.widths[-1])
    for width, skip in zip(self.widths[-2::-1], skips[::-1]):
      x = Upsample2x(width)(x)
      x = block(jnp.concatenate([x, skip], -1), width)
    frame = jnp.tanh(Conv(self.channels, (3, 3))(x))
    if self.output == "direct" or not self.use_video:
      return frame
    flow = Conv(2, (3, 3), kernel_init=nn.initializers.zeros, name="flow_head")(x)
    blend = nn.sigmoid(Conv(1, (3, 3), kernel_init=nn.initializers.zeros,
                            bias_init=nn.initializers.constant(-3.0), name="blend_head")(x))
    return (1.0 - blend) * warp(video[:, -1, ..., :self.channels], flow) + blend * frame


class ConditionalPatchDiscriminator(nn.Module):
  """(frame [B, H, W, C], video [B, T, H, W, C], image [B, H, W, C]) in [-1, 1] -> patch logits [B, H/4, W/4].

  The condition is stacked with the frame as channels, so D judges whether the frame follows the clip and fits the
  still, not only whether it looks real. Spectral norm on every conv (Miyato et al. 2018)."""
  width: int = 64

  @nn.compact
  def __call__(self, frame, video, image, train=True):
    b, t, h, w, c = video.shape
    x = jnp.concatenate([frame, video.transpose(0, 2, 3, 1, 4).reshape(b, h, w, t * c), image], -1)
    return patch_logits(x, self.width, train)


def make_generator(config):
  m = config.model
  if m.fusion not in FUSIONS:
    raise UserError(f"model.fusion={m.fusion!r} is not one of {', '.join(FUSIONS)}: set --set model.fusion=late")
  if not (m.use_video or m.use_image):
    raise UserError("model.use_video and model.use_image are both false: the generator needs a condition; set one "
                    "of them true")
  if m.output not in OUTPUTS:
    raise UserError(f"model.output={m.output!r} is not one of {', '.join(OUTPUTS)}: set --set model.output=warp")
  return NextFrameGenerator(channels=config.data.channels, widths=tuple(m.widths), lstm_width=m.lstm_width,
                            fusion=m.fusion, use_video=m.use_video, use_image=m.use_image, output=m.output)


def make_discriminator(config):
  return ConditionalPatchDiscriminator(width=config.model.d_width)


def _noise_shape(config, n):
  side = config.data.image_size // 2 ** (len(config.model.widths) - 1)
  return (n, side, side, config.model.z_dim)


def input_features(config):
  del config
  return ("video", "image", "target")


def _zeros(config, n):
  d = config.data
  return (jnp.zeros((n, d.context_frames, d.image_size, d.image_size, d.channels)),
          jnp.zeros((n, d.image_size, d.image_size, d.channels)))


def init_state(config, rng):
  """A GANState; shapes come from config.data (context_frames, image_size, channels)."""
  side = config.data.image_size
  if side % 2 ** (len(config.model.widths) - 1):
    raise UserError(f"data.image_size={side} must be divisible by {2 ** (len(config.model.widths) - 1)} "
                    f"(one halving per model.widths entry after the first)")
  g_rng, d_rng, state_rng = jax.random.split(rng, 3)
  video, image = _zeros(config, 1)
  o = config.optim
  return GANState.create(
      rng=state_rng, g_variables=make_generator(config).init(g_rng, video, image, jnp.zeros(_noise_shape(config, 1))),
      d_variables=make_discriminator(config).init(d_rng, image, video, image, train=False),
      g_tx=make_optimizer(o, o.g_lr), d_tx=make_optimizer(o, o.d_lr), ema=config.ema)


def train_step(config, state, batch, rng):
  """One D and one G update on a batch of clips: video uint8 [B, T, H, W, C], image and target uint8 [B, H, W, C].

  G minimises the adversarial loss + l1_weight x mean |G(video, image, z) - target|."""
  generator, discriminator = make_generator(config), make_discriminator(config)
  dtype = compute_dtype(config)
  video, image, target = to_float(batch["video"]), to_float(batch["image"]), to_float(batch["target"])
  z = jax.random.normal(rng, _noise_shape(config, target.shape[0]))

  def generate(g_params):
    return apply_with_state(generator, g_params, state.g_model_state, video, image, z, train=True, dtype=dtype)

  def discriminate(d_params, model_state, x, condition, train):
    return apply_with_state(discriminator, d_params, model_state, x, *condition, train=train, dtype=dtype)

  def l1(fake):
    loss = jnp.mean(jnp.abs(fake - target))
    return config.model.l1_weight * loss, {"l1": loss}

  return adversarial_step(state, target, generate, discriminate, (video, image), rng, loss_name=config.loss.name,
                          gp_weight=config.loss.gp_weight, g_extra_loss=l1)


def default_conditions(config, n):
  """The eval split's first n clips {'video', 'image'} (fewer when the split is smaller), with their true next
  frames as `target`."""
  clips = eval_clips(config, n)
  return {"video": clips["video"], "image": clips["image"]}, {"target": tile(clips["target"], n)}


def sample(config, variables, rng, n, video=None, image=None):
  """{'images': uint8 [n, H, W, C] (the generated next frames), 'video', 'image'}: conditions tiled to n.

  video: uint8 [k, T, H, W, C] context clips; image: uint8 [k, H, W, C] stills (each needed unless the model was
  trained without it)."""
  video, image = _check_conditions(config, video, image)
  video, image = tile(video, n), tile(image, n)
  z = jax.random.normal(rng, _noise_shape(config, n))
  frames = mixed_apply(make_generator(config), variables, to_float(video), to_float(image), z, train=False,
                       dtype=compute_dtype(config))
  return {"images": to_uint8(frames), "video": video, "image": image}


def decode_outputs(config, out):
  """Adds `panels` uint8 [n, T + 2 (+1), H, W, C] for viewing: the context frames, the still, the generated frame
  (and the true next frame when known); sample grids show one clip per row."""
  del config
  parts = [out["video"], out["image"][:, None], out["images"][:, None]]
  if "target" in out:
    parts.append(out["target"][:, None])
  return {**out, "panels": np.concatenate([np.asarray(p) for p in parts], 1)}


def _check_conditions(config, video, image):
  """uint8 (video [k, T, H, W, C], image [k, H, W, C]) from the user's arrays; a missing modality the model does not
  use becomes zeros; a wrong shape is one error line."""
  d, m = config.data, config.model
  frame = (d.image_size, d.image_size, d.channels)
  shapes = {"video": (d.context_frames,) + frame, "image": frame}
  given = {"video": video, "image": image}
  for name, used in (("video", m.use_video), ("image", m.use_image)):
    if given[name] is None and used:
      raise UserError(f"this model needs `{name}` (uint8 [N, {', '.join(map(str, shapes[name]))}]): pass it in "
                      f"--cond")
  if video is None and image is None:
    raise UserError("pass video and/or image (the conditions this model was trained with) in --cond")
  video, image = (None if given[k] is None else check_condition(k, given[k], shapes[k]) for k in ("video", "image"))
  k = len(video) if video is not None else len(image)
  video = jnp.zeros((k,) + (d.context_frames,) + frame, jnp.uint8) if video is None else jnp.asarray(video)
  image = jnp.zeros((k,) + frame, jnp.uint8) if image is None else jnp.asarray(image)
  if len(video) != len(image):
    raise UserError(f"video has {len(video)} clips but image has {len(image)} stills: pass one still per clip")
  return video, image


def eval_clips(config, n=None):
  """The eval split's first n clips (all by default): {'video', 'image', 'target'} uint8."""
  arrays = eval_arrays(config)
  return {k: np.asarray(arrays[k][:n]) for k in ("video", "image", "target")}


def evaluate(config, state, num=None, seed=0, batch=256):
  """PSNR/SSIM of the generated next frames on the eval split (the first `num` clips, all by default), and of the
  copy-the-last-frame baseline on the same clips."""
  clips = eval_clips(config, num or None)
  # Each chunk's noise: the seed folded with the chunk's first clip index.
  frames = batched_sample(sample, config, state.ema_variables(), {"video": clips["video"], "image": clips["image"]},
                          batch, rng=jax.random.PRNGKey(seed))["images"]
  n = len(clips["target"])
  scores = image_metrics(frames, clips["target"])
  baseline = image_metrics(clips["video"][:, -1], clips["target"])
  return {**scores, "copy_last_psnr": baseline["psnr"], "copy_last_ssim": baseline["ssim"], "num_clips": n}

