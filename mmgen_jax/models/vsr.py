"""Video super-resolution x4 with bidirectional recurrent propagation (BasicVSR, Chan et al. 2021, at small scale).

For low-resolution frames lr [B, T, h, w, 3]:
- a flow network (`FlowEstimator`, learnt from scratch: no pretrained SpyNet here) estimates the motion between each
  frame and its neighbour, at LR;
- a backward pass (t = T-1 .. 0) and a forward pass (t = 0 .. T-1) each carry a feature map: the carried map is
  warped onto frame t by that flow (`layers/warp.py`), concatenated with frame t and refined by residual blocks;
- per frame, both directions' features go through pixel-shuffle x2 x2 upsampling to a residual added to the bicubic
  upsampling of the frame; this runs inside the forward scan, one frame at a time.
Both passes are `nn.scan`s over time with shared weights (`PropagationCell`): training unrolls them (T is small and
static; XLA on the CPU runs convolutions inside a while loop much slower), inference (`upscale`) keeps them rolled,
so any T runs and memory grows with T only by the backward pass's LR features and the outputs. The sampler
(`host_sample`) cuts long videos into chunks of `infer.chunk_frames` with context on both sides (and optionally
tiles): memory then stays bounded, and the recurrence, trained on 6-frame clips, does not drift over hundreds of
frames (it did, measured in benchmarks/vsr_long_video.py). `stream_video` (infer.carry_state) instead carries both
passes' maps across chunks: the whole video's output, bit for bit, in the same bounded memory.
`model.propagation=False` is the single-frame baseline: the same blocks and upsampler on each frame alone.
Loss: Charbonnier (a smooth L1, eps 1e-3) on the HR frames in [0, 1].
"""
import functools
import itertools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers.augment import random_channel_order
from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.patch_gan import ConditionalPatchGAN
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.updown import depth_to_space
from mmgen_jax.layers.warp import warp
from mmgen_jax.metrics.batched import batched_sample
from mmgen_jax.metrics.image import psnr, ssim
from mmgen_jax.pieces import windows
from mmgen_jax.state import GANState, TrainState
from mmgen_jax.train.gan_step import adversarial_step, apply_with_state
from mmgen_jax.train.images import panels
from mmgen_jax.train.optim import make_optimizer

SCALE = 4
# Settings that configs of older checkpoints lack, as those checkpoints were trained.
CONFIG_DEFAULTS = {"data.augment": ["flip", "reverse"], "loss.adv_weight": 0.0, "optim.schedule": "cosine",
                   "optim.b1": 0.9, "optim.b2": 0.99, "infer.chunk_frames": 32, "infer.chunk_overlap": 4,
                   "infer.tile": 0, "infer.tile_overlap": 8, "infer.carry_state": False}


class ResidualBlock(nn.Module):
  """x + conv(relu(conv(x))), no normalisation (as in EDSR/BasicVSR)."""
  width: int

  @nn.compact
  def __call__(self, x):
    y = nn.relu(Conv(self.width, (3, 3))(x))
    return x + Conv(self.width, (3, 3))(y)


class FlowEstimator(nn.Module):
  """(frame [B, h, w, 3], neighbour [B, h, w, 3]) -> flow [B, h, w, 2] (dy, dx in LR pixels) such that
  warp(neighbour, flow) ~ frame. Starts at zero flow."""
  width: int = 32

  @nn.compact
  def __call__(self, frame, neighbour):
    x = jnp.concatenate([frame, neighbour, frame - neighbour], -1)
    for _ in range(3):
      x = nn.relu(Conv(self.width, (3, 3))(x))
    return Conv(2, (3, 3), kernel_init=nn.initializers.zeros)(x)


class PropagationCell(nn.Module):
  """One step of one direction: (carried [B, h, w, C], (frame, neighbour)) -> (new carried, new carried)."""
  width: int
  blocks: int
  propagation: bool = True

  @nn.compact
  def __call__(self, carried, inputs):
    frame, neighbour = inputs
    if self.propagation:
      carried = warp(carried, FlowEstimator()(frame, neighbour))
      x = jnp.concatenate([frame, carried], -1)
    else:
      x = frame
    x = Conv(self.width, (3, 3))(x)
    for _ in range(self.blocks):
      x = ResidualBlock(self.width)(x)
    return x, x


class Upsampler(nn.Module):
  """(features [B, h, w, 2 * width] of both directions, frame [B, h, w, 3]) -> [B, 4h, 4w, 3]: pixel shuffle x2 x2
  (Shi et al. 2016) to a residual over the bicubic upsampling of the frame (zero at initialisation: training starts
  from bicubic); uint8 when `quantize`."""
  width: int
  quantize: bool = False

  @nn.compact
  def __call__(self, features, frame):
    b, h, w, c = frame.shape
    x = nn.relu(Conv(self.width, (1, 1), name="fuse")(features))
    for i in range(2):
      x = nn.relu(depth_to_space(Conv(4 * self.width // (i + 1), (3, 3), name=f"up{i}")(x)))
    residual = Conv(c, (3, 3), kernel_init=nn.initializers.zeros, name="to_rgb")(x)
    out = jax.image.resize(frame, (b, SCALE * h, SCALE * w, c), "bicubic") + residual
    return jnp.clip(jnp.round(out * 255.0), 0, 255).astype(jnp.uint8) if self.quantize else out


class ForwardCell(nn.Module):
  """A forward step that also reconstructs its frame: (carried, (frame, previous frame, backward features [B, h, w,
  width])) -> (new carried, HR frame). Upsampling inside the scan keeps one frame's HR activations alive at a time."""
  width: int
  blocks: int
  propagation: bool = True
  quantize: bool = False

  @nn.compact
  def __call__(self, carried, inputs):
    frame, neighbour, backward = inputs
    carried, _ = PropagationCell(self.width, self.blocks, self.propagation, name="propagate")(
        carried, (frame, neighbour))
    return carried, Upsampler(self.width, self.quantize, name="upsample")(
        jnp.concatenate([carried, backward], -1), frame)


class VideoSuperResolver(nn.Module):
  """lr [B, T, h, w, 3] in [0, 1] -> hr [B, T, 4h, 4w, 3] in [0, 1] (not clipped; uint8 when `quantize`).

  Memory at inference: the backward pass's LR features (width floats per LR pixel and frame) and the outputs grow
  with T; HR activations exist for one frame at a time."""
  width: int = 32
  blocks: int = 2
  propagation: bool = True
  unroll: bool = True
  quantize: bool = False

  @nn.compact
  def __call__(self, lr, context=None, backward_only=False):
    """lr [B, T, h, w, 3] -> hr [B, T, 4h, 4w, 3] for a whole video.

    Streaming a long video in consecutive chunks (`stream_video`) passes `context`, what the whole-video scans
    would carry into this chunk: {'before': the frame before the chunk, 'after': the frame after it ([B, h, w, 3];
    the chunk's own first / last frame at the video's ends), 'backward': the backward map entering from the
    chunk's end, 'forward': the forward map entering from its start ([B, h, w, width]; zeros at the ends)}; it then
    returns (hr, {'backward', 'forward'}: the maps leaving the chunk), or with `backward_only` just the backward
    map leaving its start (the first of the two sweeps)."""
    t = lr.shape[1]
    scan = functools.partial(nn.scan, variable_broadcast="params", split_rngs={"params": False}, in_axes=1,
                             out_axes=1, unroll=t if self.unroll else 1)
    whole = context is None
    if whole:
      zeros = jnp.zeros(lr.shape[:1] + lr.shape[2:4] + (self.width,), lr.dtype)
      # At the video's ends each pass starts from a zero map and warps from the frame itself.
      context = {"before": lr[:, 0], "after": lr[:, -1], "backward": zeros, "forward": zeros}
    # Each step warps from the frame before it in scan order.
    later = jnp.concatenate([lr[:, 1:], context["after"][:, None]], 1)
    earlier = jnp.concatenate([context["before"][:, None], lr[:, :-1]], 1)
    backward_carry, backward = scan(PropagationCell, reverse=True)(
        self.width, self.blocks, self.propagation, name="backward")(context["backward"], (lr, later))
    if backward_only:
      return backward_carry
    forward_carry, frames = scan(ForwardCell)(self.width, self.blocks, self.propagation, self.quantize,
                                              name="forward")(context["forward"], (lr, earlier, backward))
    return frames if whole else (frames, {"backward": backward_carry, "forward": forward_carry})


def make_model(config, unroll=True, quantize=False):
  m = config.model
  return VideoSuperResolver(width=m.width, blocks=m.blocks, propagation=m.propagation, unroll=unroll,
                            quantize=quantize)


def input_features(config):
  del config
  return ("lr_video", "hr_video")


def adversarial(config):
  """Whether this run is the perceptual variant: Charbonnier + loss.adv_weight x a PatchGAN's hinge term."""
  return config.loss.adv_weight > 0


def make_discriminator(config):
  """A conditional PatchGAN over one HR frame and the bicubic upsampling of its LR frame (spectral norm)."""
  return ConditionalPatchGAN(width=config.loss.d_width, num_down=3, spectral_norm=True)


def init_state(config, rng):
  """A TrainState; a GANState (generator = the upscaler) for the adversarial variant."""
  d, o = config.data, config.optim
  tx = make_optimizer(o, o.lr, config.train.steps)
  init_rng, state_rng = jax.random.split(rng)
  d_rng = jax.random.fold_in(rng, 1)
  lr = jnp.zeros((1, d.frames, d.image_size // SCALE, d.image_size // SCALE, 3))
  variables = make_model(config).init(init_rng, lr)
  if adversarial(config):
    frame = jnp.zeros((1, d.image_size, d.image_size, 3))
    return GANState.create(rng=state_rng, g_variables=variables,
                           d_variables=make_discriminator(config).init(d_rng, frame, frame, train=False),
                           g_tx=tx, d_tx=make_optimizer({"b1": 0.5}, config.loss.d_lr), ema=config.ema)
  return TrainState.create(rng=state_rng, variables=variables, tx=tx, ema=config.ema)


def _unit(x):
  """uint8 frames -> float32 in [0, 1]."""
  return x.astype(jnp.float32) / 255.0


def charbonnier(x, y, eps=1e-3):
  """mean sqrt((x - y)^2 + eps^2): L1 that is smooth at 0 (the BasicVSR loss)."""
  return jnp.mean(jnp.sqrt((x - y) ** 2 + eps ** 2))


AUGMENTATIONS = ("flip", "reverse", "transpose", "permute_channels")


def augment(rng, lr, hr, names):
  """Random per-clip transforms of lr [B, T, h, w, C] and hr [B, T, H, W, C] that keep a valid camera video:
  'flip' (left-right), 'reverse' (played backwards), 'transpose' (rows <-> columns; square frames only),
  'permute_channels' (one of the 6 orders of R, G, B: colour is not what super-resolution learns)."""
  unknown = set(names) - set(AUGMENTATIONS)
  if unknown:
    raise UserError(f"data.augment has {sorted(unknown)}; choose from {', '.join(AUGMENTATIONS)}")
  b = lr.shape[0]
  keys = dict(zip(AUGMENTATIONS, jax.random.split(rng, len(AUGMENTATIONS))))
  coin = lambda name: jax.random.bernoulli(keys[name], 0.5, (b, 1, 1, 1, 1))
  pair = (lr, hr)
  if "flip" in names:
    pair = tuple(jnp.where(coin("flip"), x[:, :, :, ::-1], x) for x in pair)
  if "reverse" in names:
    pair = tuple(jnp.where(coin("reverse"), x[:, ::-1], x) for x in pair)
  if "transpose" in names and lr.shape[2] == lr.shape[3]:
    pair = tuple(jnp.where(coin("transpose"), jnp.swapaxes(x, 2, 3), x) for x in pair)
  if "permute_channels" in names:
    pair = random_channel_order(keys["permute_channels"], *pair)
  return pair


def train_step(config, state, batch, rng):
  """One Adam step on the Charbonnier loss of batch['lr_video'] -> batch['hr_video'] (uint8 [B, T, ...]), each clip
  transformed at random by `augment` (config.data.augment)."""
  lr, hr = _unit(batch["lr_video"]), _unit(batch["hr_video"])
  lr, hr = augment(rng, lr, hr, tuple(config.data.augment))
  model = make_model(config)
  if adversarial(config):
    return _adversarial_step(config, state, model, lr, hr, rng)

  def loss_fn(params):
    out = mixed_apply(model, {"params": params}, lr, dtype=compute_dtype(config))
    return charbonnier(out, hr), out

  (loss, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads, state.model_state), {"loss": loss, "psnr": frame_psnr(out, hr)}


def frame_psnr(out, hr):
  """Mean PSNR (dB) over the frames of float videos [B, T, H, W, C] in [0, 1] (the output clipped first)."""
  flat = lambda x: x.reshape((-1,) + x.shape[2:])
  return jnp.mean(psnr(flat(jnp.clip(out, 0, 1)), flat(hr)))


def _adversarial_step(config, state, model, lr, hr, rng):
  """One D and one G update: D tells true HR frames from upscaled ones given the bicubic frame; G minimises
  Charbonnier + loss.adv_weight x hinge (frames flattened to [B T, H, W, 3] in [-1, 1] for D)."""
  frames = lambda x: x.reshape((-1,) + x.shape[2:]) * 2.0 - 1.0
  b, t, h, w, c = lr.shape
  base = jax.image.resize(lr.reshape(b * t, h, w, c), (b * t, SCALE * h, SCALE * w, c), "bicubic") * 2.0 - 1.0
  dtype = compute_dtype(config)

  def generate(g_params):
    return frames(mixed_apply(model, {"params": g_params}, lr, dtype=dtype)), state.g_model_state

  def discriminate(d_params, model_state, x, condition, train):
    return apply_with_state(make_discriminator(config), d_params, model_state, x, condition, train=train,
                            dtype=dtype)

  def reconstruction(fake):
    out, target = fake * 0.5 + 0.5, hr.reshape(fake.shape)
    loss = charbonnier(out, target)
    return loss, {"loss": loss, "psnr": jnp.mean(psnr(jnp.clip(out, 0, 1), target))}

  return adversarial_step(state, frames(hr), generate, discriminate, base, rng, loss_name="hinge",
                          g_extra_loss=reconstruction, g_adv_weight=config.loss.adv_weight)


def upscale(config, variables, lr_video):
  """uint8 lr_video [N, T, h, w, 3] -> uint8 [N, T, 4h, 4w, 3], any T, h, w: the passes run as rolled scans."""
  return mixed_apply(make_model(config, unroll=False, quantize=True), variables, _unit(lr_video),
                     dtype=compute_dtype(config))


def upscale_chunk(config, variables, lr_chunk, context):
  """One chunk of a streamed video: uint8 lr_chunk [N, t, h, w, 3] and its `context` ('before' / 'after': uint8
  frames [N, h, w, 3]; 'backward' / 'forward': float32 maps [N, h, w, width]) -> (uint8 [N, t, 4h, 4w, 3], the
  maps leaving the chunk). See `VideoSuperResolver`."""
  context = {**context, "before": _unit(context["before"]), "after": _unit(context["after"])}
  return mixed_apply(make_model(config, unroll=False, quantize=True), variables, _unit(lr_chunk), context,
                     dtype=compute_dtype(config))


def backward_map(config, variables, lr_chunk, after, entering):
  """The backward pass alone over a chunk: uint8 lr_chunk [N, t, h, w, 3], the frame after it (uint8 [N, h, w, 3])
  and the backward map entering from its end (float32 [N, h, w, width]) -> the map leaving its start."""
  # 'before' and 'forward' feed the forward pass, which backward_only skips: any arrays of their shapes do.
  context = {"before": _unit(lr_chunk[:, 0]), "after": _unit(after), "backward": entering, "forward": entering}
  return mixed_apply(make_model(config, unroll=False), variables, _unit(lr_chunk), context, backward_only=True,
                     dtype=compute_dtype(config))


def stream_video(config, variables, lr_video, chunk_frames):
  """uint8 lr_video [N, T, h, w, 3] -> uint8 [N, T, 4h, 4w, 3] equal to `upscale` of the whole video (one scan per
  direction over all T frames), computed in consecutive chunks of at most `chunk_frames` frames. Two sweeps: the
  first, last chunk to first, runs the backward pass alone and keeps the backward map entering each chunk; the
  second, first chunk to last, reruns each chunk's backward pass from that map and its forward pass from the map
  the previous chunk left, and upsamples. Memory: one chunk's activations, one map per chunk (float32 [N, h, w,
  width]) and the uint8 clips; compute: the backward pass twice. Chunk lengths differ by at most one frame (two
  compiled shapes at most)."""
  lr_video = np.asarray(lr_video)
  n, t, h, w, c = lr_video.shape
  count = -(-t // chunk_frames)
  edges = [round(i * t / count) for i in range(count + 1)]
  chunks = list(zip(edges[:-1], edges[1:]))
  backward = jax.jit(functools.partial(backward_map, config))
  forward = jax.jit(functools.partial(upscale_chunk, config))
  entering = [None] * count
  carry = jnp.zeros((n, h, w, config.model.width), jnp.float32)
  video = np.empty((n, t, SCALE * h, SCALE * w, c), np.uint8)
  with tqdm.tqdm(total=2 * count, desc="upscaling in chunks (state carried)", leave=False, disable=None) as bar:
    for i in reversed(range(count)):  # Sweep 1: the backward map entering each chunk from its end.
      entering[i] = carry
      a, b = chunks[i]
      if i:
        carry = backward(variables, lr_video[:, a:b], lr_video[:, min(b, t - 1)], carry)
      bar.update()
    carry = jnp.zeros_like(carry)
    for i, (a, b) in enumerate(chunks):  # Sweep 2: both passes and the upsampling, chunk by chunk.
      context = {"before": lr_video[:, max(a - 1, 0)], "after": lr_video[:, min(b, t - 1)],
                 "backward": entering[i], "forward": carry}
      frames, maps = forward(variables, lr_video[:, a:b], context)
      video[:, a:b], carry, entering[i] = np.asarray(frames), maps["forward"], None
      bar.update()
  return video


def default_conditions(config, n):
  """The eval split's first n clips (fewer when the split is smaller), with their true HR clips as `hr_video`."""
  arrays = eval_arrays(config)
  return {"lr_video": arrays["lr_video"][:n]}, {"hr_video": tile(arrays["hr_video"][:n], n)}


def sample(config, variables, rng, n, lr_video=None):
  """{'video': uint8 [n, T, 4h, 4w, 3], 'lr_video', 'images': the middle frames [n, 4h, 4w, 3]}.
  lr_video: uint8 [k, T, h, w, 3], any T, h, w, tiled to n."""
  del rng
  if lr_video is None:
    raise UserError("super-resolution upscales clips: pass lr_video (uint8 [N, T, h, w, 3]) in --cond")
  lr_video = tile(check_condition("lr_video", lr_video, (None, None, None, 3), single=False), n)
  video = upscale(config, variables, lr_video)
  return {"video": video, "lr_video": lr_video, "images": video[:, video.shape[1] // 2]}


def host_sample(config, sample_fn, variables, rng, n, lr_video=None):
  """`sample` for a video of any length and size in bounded memory: temporal chunks of `infer.chunk_frames` frames
  and spatial tiles of `infer.tile` x `infer.tile` LR pixels (0: whole frames), each with `infer.chunk_overlap`
  frames and `infer.tile_overlap` pixels of context on every side that are computed and dropped
  (`mmgen_jax/pieces.py`: all pieces have one shape, so the sampler compiles once). Memory then grows with the
  length only by the input and output clips (uint8). Where one chunk and one tile cover the video: exactly
  `sample`. Elsewhere the propagation is cut at chunk and tile borders, with the context on both sides; over long
  videos this is also better than one rolled scan, whose recurrence drifts far past the training clips' length
  (measured in `benchmarks/vsr_long_video.py`). infer.chunk_frames / infer.tile 0: the whole axis.
  infer.carry_state: chunks without overlap that carry both passes' maps across their borders (`stream_video`):
  the whole video's result, whole frames only."""
  if lr_video is None:
    return sample_fn(variables, rng, n)  # The sampler's own error line.
  lr_video = tile(check_condition("lr_video", lr_video, (None, None, None, 3), single=False), n)
  _, t, h, w, c = lr_video.shape
  f = config.infer
  if f.carry_state and 0 < f.chunk_frames < t:
    if f.tile > 0:
      raise UserError(f"infer.carry_state=true streams whole frames, so it cannot tile them (infer.tile={f.tile}): "
                      f"set infer.tile=0, or infer.carry_state=false for tiles")
    video = stream_video(config, variables, lr_video, f.chunk_frames)
    return {"video": video, "lr_video": np.asarray(lr_video), "images": video[:, t // 2]}
  chunks = windows(t, f.chunk_frames, f.chunk_overlap, "chunk (infer.chunk_frames)")
  rows, cols = (windows(size, f.tile, f.tile_overlap, "tile (infer.tile)") for size in (h, w))
  pieces = list(itertools.product(chunks, rows, cols))
  if len(pieces) == 1:
    return sample_fn(variables, rng, n, lr_video=lr_video)
  lr_video = np.asarray(lr_video)
  span = lambda length, size: length if size <= 0 else min(length, size)  # 0: the whole axis.
  size = (span(t, f.chunk_frames), span(h, f.tile), span(w, f.tile))
  video = np.empty((n, t, SCALE * h, SCALE * w, c), np.uint8)
  # A progress bar on terminals only (disable=None).
  for (t0, ta, tb), (y0, ya, yb), (x0, xa, xb) in tqdm.tqdm(pieces, desc="upscaling in chunks", leave=False,
                                                           disable=None):
    piece = lr_video[:, t0:t0 + size[0], y0:y0 + size[1], x0:x0 + size[2]]
    out = np.asarray(sample_fn(variables, rng, n, lr_video=piece)["video"])
    y, x = slice(SCALE * (ya - y0), SCALE * (yb - y0)), slice(SCALE * (xa - x0), SCALE * (xb - x0))
    video[:, ta:tb, SCALE * ya:SCALE * yb, SCALE * xa:SCALE * xb] = out[:, ta - t0:tb - t0, y, x]
  return {"video": video, "lr_video": lr_video, "images": video[:, t // 2]}


def decode_outputs(config, out):
  """Adds `panels` for the sample grids: per clip, bicubic (nearest-looking LR) | ours | HR of the middle frame."""
  del config
  mid = out["video"].shape[1] // 2
  lr = np.asarray(out["lr_video"])[:, mid]
  big = np.repeat(np.repeat(lr, SCALE, 1), SCALE, 2)
  columns = [big, out["images"]] + ([np.asarray(out["hr_video"])[:, mid]] if "hr_video" in out else [])
  return {**out, "panels": panels(*columns)}


def frame_scores(predicted, target):
  """Mean PSNR (dB) and SSIM over all frames, on the Y channel with a 4-pixel border crop (BasicSR's protocol):
  uint8 [N, T, H, W, 3] pairs."""
  p = np.asarray(predicted, np.float32).reshape((-1,) + predicted.shape[2:])
  t = np.asarray(target, np.float32).reshape((-1,) + target.shape[2:])
  kw = dict(max_val=255.0, crop_border=SCALE, y_channel=True)
  return {"psnr": float(np.mean(psnr(p, t, **kw))), "ssim": float(np.mean(ssim(p, t, **kw)))}


def bicubic(lr_video):
  """The bicubic x4 baseline (the same resize as the network's base): uint8 [N, T, h, w, 3] -> uint8."""
  n, t, h, w, c = lr_video.shape
  x = jnp.asarray(lr_video, jnp.float32).reshape(n * t, h, w, c)
  up = jax.image.resize(x, (n * t, SCALE * h, SCALE * w, c), "bicubic")
  return np.asarray(jnp.clip(jnp.round(up), 0, 255).astype(jnp.uint8)).reshape(n, t, SCALE * h, SCALE * w, c)


def evaluate(config, state, num=None, seed=0, batch=32):
  """PSNR/SSIM (Y, border 4) of the upscaled eval clips (the first `num`; all by default) and of bicubic."""
  del seed
  arrays = eval_arrays(config)
  lr, hr = (np.asarray(arrays[k][:num or None]) for k in ("lr_video", "hr_video"))
  video = batched_sample(sample, config, state.ema_variables(), {"lr_video": lr}, batch)["video"]
  ours, base = frame_scores(video, hr), frame_scores(bicubic(lr), hr)
  return {**ours, "bicubic_psnr": base["psnr"], "bicubic_ssim": base["ssim"], "num_clips": len(lr)}
