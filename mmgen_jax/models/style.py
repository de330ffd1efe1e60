"""Arbitrary style transfer, feed-forward (AdaIN, Huang & Belongie 2017). Configs: `style_photos`, `style_videos`.

Encoder: the loss network (`metrics/loss_network.py`, trained in this project; `model.loss_network` picks the
recipe), frozen: content images [B, H, W, 3] and style images [B, H', W', 3] (any sizes divisible by 8) -> maps
f_1..f_4 at 1, 1/2, 1/4, 1/8 of the size. AdaIN gives a content map the style map's per-channel mean and std,
t_d = alpha * AdaIN(f_d(c), f_d(s)) + (1 - alpha) * f_d(c), at depth D = `model.adain_depth`, and with
`model.skips` at every shallower depth and at the pixels (d = 0) too. Decoder: t_D -> images [B, H, W, 3] (nearest
x2 upsampling, 3x3 convs with reflection padding; fully convolutional), reading t_{D-1}..t_0 through skip
connections. `model.match_colour` then gives the result the style's mean colour and colour covariance (a linear
colour transfer). Trained on `photo_styles` pairs with content loss |f_D(g) - t_D|^2, style loss (per-channel mean
and std of the four maps of g against the style's) weighted by `loss.style_weight`, and the colour moments' loss by
`loss.colour_weight`. With `loss.temporal_weight` > 0 (`style_videos`) it trains on consecutive frames of
`video_styles` clips, adding the squared warping error between the stylised frame t - 1, warped by the camera's
exact flow, and the stylised frame t (short-term consistency, Ruder et al. 2016). The loss network's weights sit in
the state as model state (not trained), so a checkpoint is complete on its own.

Sampling takes `image` (content) or `video` (clips) and `style` (uint8), and optionally `alpha` (strength in
[0, 1]), `style_weights` (blend all given styles with these weights, for every content image), `mask` (stylise
only where it is 1: uint8 [k, H, W, 1] in {0, 255} or float in [0, 1]) and `preserve_color` (keep the content's
chroma, transfer the luminance only).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.data.clips import camera_flow
from mmgen_jax.errors import UserError
from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.style_stats import adain, colour_loss, content_loss, match_colour, style_loss
from mmgen_jax.layers.warp import warp
from mmgen_jax.metrics import loss_network
from mmgen_jax.state import TrainState
from mmgen_jax.train.images import panels
from mmgen_jax.train.optim import make_optimizer

STRIDE = 8  # The encoder's downsampling: image sides must be multiples of it.


class Decoder(nn.Module):
  """AdaIN'd maps -> images [B, H, W, 3] (unbounded: clipped to [-1, 1] when sampled).

  t: the map [B, H / 2**k, W / 2**k, C] that AdaIN made, k = len(widths); each width is one conv, a x2 nearest
  upsampling and a conv. skips (optional, coarse to fine): one map per upsampling, at the resolution it reaches,
  concatenated before its second conv (the finer AdaIN'd maps, so the decoder sees the content's layout and the
  style's statistics at every scale). Reflection padding: no dark frame at the borders."""
  widths: tuple = (64, 32)

  @nn.compact
  def __call__(self, t, skips=()):
    def conv(width):
      # Reflection padding done by hand around a SAME convolution, then cropped: the same values as
      # padding="REFLECT", but XLA:CPU runs a VALID convolution (what "REFLECT" lowers to) ~5x slower than SAME
      # (a 256x256x51 -> 32 layer: 90 ms against 17 ms on this project's CPU).
      layer = Conv(width, (3, 3), padding="SAME")
      return lambda x: layer(jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect"))[:, 1:-1, 1:-1]
    x = t
    for i, width in enumerate(self.widths):
      x = nn.relu(conv(width)(x))
      x = jax.image.resize(x, (x.shape[0], x.shape[1] * 2, x.shape[2] * 2, x.shape[3]), "nearest")
      if skips:
        x = jnp.concatenate([x, skips[i]], -1)
      x = nn.relu(conv(width)(x))
    return conv(3)(x)


def encode(loss_net_params, images, depth=4, dtype=jnp.float32):
  """The loss network's maps (a list of `depth`, float32) of float images [B, H, W, 3] in [-1, 1], computed in
  `dtype`."""
  return mixed_apply(loss_network.FeatureNet(), {"params": loss_net_params}, images, depth, dtype=dtype)


def _split(variables):
  return {"params": variables["params"]}, variables["loss_net"]


def _decoder(config):
  """The decoder for `model.adain_depth` (AdaIN on the loss network's map of that depth, 1..4): one upsampling per
  scale below it."""
  depth, widths = config.model.adain_depth, tuple(config.model.decoder_widths)
  if not 1 <= depth <= len(loss_network.FeatureNet().widths):
    raise UserError(f"model.adain_depth={depth}: the loss network has maps at depths 1 to 4")
  if len(widths) != depth - 1:
    raise UserError(f"model.decoder_widths has {len(widths)} widths for model.adain_depth={depth}: give "
                    f"{depth - 1} (one per x2 upsampling back to the image)")
  return Decoder(widths)


def adain_maps(config, images, maps):
  """The maps AdaIN works on, by depth: {adain_depth: map}, and with `model.skips` every shallower depth too, with
  depth 0 the image itself (float [B, H, W, 3]), so the pixels' colour statistics are transferred as well. maps:
  `encode(loss_net, images, d)` for some d >= adain_depth."""
  depth = config.model.adain_depth
  if not config.model.skips:
    return {depth: maps[depth - 1]}
  return {0: images, **{d + 1: m for d, m in enumerate(maps[:depth])}}


def transfer(content, style, alpha=None):
  """AdaIN of each content map {depth: [B, h, w, C]} to the style's map of that depth (any size), mixed with the
  content map by `alpha` ([B, 1, 1, 1] or None for 1)."""
  out = {d: adain(m, style[d]) for d, m in content.items()}
  if alpha is not None:
    out = {d: alpha * m + (1.0 - alpha) * content[d] for d, m in out.items()}
  return out


def decoder_inputs(config, maps):
  """(t, skips) for `Decoder` from the AdaIN'd maps {depth: map}: the deepest map, and coarse to fine the shallower
  ones, with the pixels' map beside depth 1's."""
  depth = config.model.adain_depth
  if len(maps) == 1:
    return maps[depth], ()
  finest = jnp.concatenate([maps[1], maps[0]], -1)
  if depth == 1:
    return finest, ()
  return maps[depth], [maps[d] for d in range(depth - 1, 1, -1)] + [finest]


def decode(config, params, maps):
  """Images [B, H, W, 3] (unclipped) from the AdaIN'd maps {depth: map}."""
  return mixed_apply(_decoder(config), params, *decoder_inputs(config, maps), dtype=compute_dtype(config))


# --- the family contract ---------------------------------------------------------------------------------------------

CONFIG_DEFAULTS = {"loss.temporal_weight": 0.0, "loss.colour_weight": 0.0, "model.match_colour": False}


def trains_on_clips(config):
  """Whether the model trains on clips with a temporal-consistency term (`loss.temporal_weight` > 0)."""
  return config.loss.temporal_weight > 0


def input_features(config):
  return ("video", "camera", "style") if trains_on_clips(config) else ("image", "style")


def init_state(config, rng):
  """A TrainState: the decoder's params (trained) and the loss network's weights (model state, frozen)."""
  init_rng, state_rng = jax.random.split(rng)
  loss_net = loss_network.load(config.model.loss_network)
  size = config.data.image_size
  maps = jax.eval_shape(lambda x: adain_maps(config, x, encode(loss_net, x)), jnp.zeros((1, size, size, 3)))
  maps = {d: jnp.zeros(m.shape, m.dtype) for d, m in maps.items()}
  variables = {**_decoder(config).init(init_rng, *decoder_inputs(config, maps)), "loss_net": loss_net}
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(config.optim, config.optim.lr),
                           ema=config.ema)


def consecutive_frames(batch, rng):
  """(content float [2B, H, W, 3]: frames t - 1 of each clip, then frames t; style float [2B, ...]; flow [B, H, W,
  2] bringing frame t - 1 onto t) for one random t per clip of batch['video'] uint8 [B, T, H, W, 3] with
  batch['camera'] [B, T, 3]."""
  video, camera = batch["video"], batch["camera"]
  b, t = video.shape[:2]
  index = jax.random.randint(rng, (b,), 1, t)
  pick = lambda x, i: jnp.take_along_axis(x, i.reshape((b, 1) + (1,) * (x.ndim - 2)), 1)[:, 0]
  previous, current = pick(video, index - 1), pick(video, index)
  flow = camera_flow(jnp.stack([pick(camera, index - 1), pick(camera, index)], 1), video.shape[2])
  style = to_float(batch["style"])
  return to_float(jnp.concatenate([previous, current])), jnp.concatenate([style, style]), flow


def warping_error(previous, current, flow, squared=False):
  """Mean absolute (or squared) difference [B] between frames `current` [B, H, W, C] and `previous` warped onto them
  by `flow` [B, H, W, 2], over the pixels whose source lies inside the previous frame (the rest came into view)."""
  h, w = flow.shape[1:3]
  y = jnp.arange(h, dtype=jnp.float32)[None, :, None] + flow[..., 0]
  x = jnp.arange(w, dtype=jnp.float32)[None, None, :] + flow[..., 1]
  valid = ((y >= 0) & (y <= h - 1) & (x >= 0) & (x <= w - 1)).astype(jnp.float32)[..., None]
  diff = current.astype(jnp.float32) - warp(previous.astype(jnp.float32), flow)
  diff = (diff ** 2 if squared else jnp.abs(diff)) * valid
  return jnp.sum(diff, (1, 2, 3)) / (jnp.sum(valid, (1, 2, 3)) * current.shape[-1] + 1e-8)


def train_step(config, state, batch, rng):
  """One Adam step of the decoder on content + style_weight * style loss for batch['image'] and batch['style'];
  on clips (`trains_on_clips`), on two consecutive frames of each, plus temporal_weight * the squared warping error
  of the stylised frame t - 1 onto frame t (Ruder et al. 2016's short-term consistency, the flow known exactly)."""
  loss_net, dtype = state.model_state["loss_net"], compute_dtype(config)
  if trains_on_clips(config):
    content, style, flow = consecutive_frames(batch, rng)
  else:
    content, style = to_float(batch["image"]), to_float(batch["style"])
  depth = config.model.adain_depth
  style_maps = encode(loss_net, style, dtype=dtype)
  targets = transfer(adain_maps(config, content, encode(loss_net, content, depth, dtype)),
                     adain_maps(config, style, style_maps))

  def loss_fn(params):
    out = decode(config, {"params": params}, targets)
    maps = encode(loss_net, out, dtype=dtype)
    c = jnp.mean(content_loss(maps[depth - 1], targets[depth]))
    s = jnp.mean(style_loss(maps, style_maps))
    colour = jnp.mean(colour_loss(out, style))
    metrics = {"content_loss": c, "style_loss": s, "colour_loss": colour}
    loss = c + config.loss.style_weight * s + config.loss.colour_weight * colour
    if trains_on_clips(config):
      previous, current = jnp.split(jnp.clip(out, -1.0, 1.0), 2)
      temporal = jnp.mean(warping_error(previous, current, flow, squared=True))
      loss, metrics = loss + config.loss.temporal_weight * temporal, {**metrics, "temporal_loss": temporal}
    return loss, metrics

  (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads, state.model_state), {"loss": loss, **metrics}


def to_yiq(rgb):
  """RGB [..., 3] -> YIQ [..., 3] (NTSC; Y is the luminance)."""
  m = jnp.asarray([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
  return rgb @ m.T


def from_yiq(yiq):
  m = jnp.asarray([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
  return yiq @ jnp.linalg.inv(m).T


def sample(config, variables, rng, n, image=None, style=None, alpha=None, style_weights=None, mask=None,
           preserve_color=None, video=None):
  """{'images': uint8 [n, H, W, 3], 'content': the contents [n, ...], 'style': the styles [n, ...] (unless
  blended)}: content `image` (uint8 [k, H, W, 3], tiled to n) in the style of `style`
  (uint8 [k', H', W', 3]: tiled to n and paired with the contents; with `style_weights` float [k'], every output
  blends all k' styles' statistics with those weights).

  alpha: float [k] or a scalar in [0, 1] (1 = full style). mask: [k, H, W, 1], 1 where to stylise (uint8 0/255 or
  float in [0, 1]); outside it the content is kept exactly. preserve_color: [k] or a scalar, 1 -> the output's
  luminance with the content's chroma (YIQ).

  video: uint8 [k, T, H, W, 3] instead of `image` -> {'video': uint8 [n, T, H, W, 3], 'content': the clips, 'style'}:
  every frame in its clip's style (the controls are per clip; a mask applies to every frame)."""
  if video is not None:
    return _sample_video(config, variables, rng, n, video, style, alpha, style_weights, mask, preserve_color,
                         image is not None)
  del rng
  if image is None or style is None:
    raise UserError("style transfer needs a content `image` (or `video`) and a `style` image (uint8 [k, H, W, 3]), "
                    "e.g. an npz with keys image and style for --cond")
  image = tile(check_condition("image", image, (None, None, 3), multiple_of=STRIDE), n)
  style = check_condition("style", style, (None, None, 3), multiple_of=STRIDE)
  params, loss_net = _split(variables)
  dtype = compute_dtype(config)
  content = to_float(image)
  depth = config.model.adain_depth
  c_maps = adain_maps(config, content, encode(loss_net, content, depth, dtype))
  s_float = to_float(style)
  s_maps = adain_maps(config, s_float, encode(loss_net, s_float, depth, dtype))
  a = None
  if alpha is not None:
    a = tile(jnp.clip(jnp.asarray(alpha, jnp.float32).reshape(-1), 0.0, 1.0), n).reshape(n, 1, 1, 1)
  if style_weights is None:
    targets = transfer(c_maps, {d: tile(m, n) for d, m in s_maps.items()}, a)
  else:
    weights = jnp.asarray(style_weights, jnp.float32).reshape(-1)
    if weights.shape[0] != style.shape[0]:
      raise UserError(f"style_weights has {weights.shape[0]} weights for {style.shape[0]} styles: give one per style")
    weights = weights / jnp.sum(weights)
    one_style = lambda j: {d: jnp.broadcast_to(m[j][None], (n,) + m.shape[1:]) for d, m in s_maps.items()}
    per_style = [transfer(c_maps, one_style(j), a) for j in range(style.shape[0])]
    targets = {d: sum(w * t[d] for w, t in zip(weights, per_style)) for d in c_maps}
  out = jnp.clip(decode(config, params, targets), -1.0, 1.0)
  if config.model.match_colour:  # The style's mean colour and colour covariance, exactly (blends: mixed results).
    if style_weights is None:
      matched = match_colour(out, tile(s_float, n))
    else:
      matched = sum(w * match_colour(out, jnp.broadcast_to(s_float[j][None], (n,) + s_float.shape[1:]))
                    for j, w in enumerate(weights))
    out = jnp.clip(out + (1.0 if a is None else a) * (matched - out), -1.0, 1.0)
  if preserve_color is not None:  # Per example (traced under jit): 1 keeps the content's chroma.
    keep = tile(jnp.asarray(preserve_color, jnp.float32).reshape(-1), n).reshape(n, 1, 1, 1)
    recoloured = from_yiq(jnp.concatenate([to_yiq(out)[..., :1], to_yiq(content)[..., 1:]], -1))
    out = keep * jnp.clip(recoloured, -1.0, 1.0) + (1.0 - keep) * out
  if mask is not None:
    m = tile(check_condition("mask", mask, image.shape[1:3] + (1,), dtype=None), n)
    m = m.astype(jnp.float32) / (255.0 if m.dtype == jnp.uint8 else 1.0)
    out = m * out + (1.0 - m) * content
  result = {"images": to_uint8(out), "content": image}
  if style_weights is None:
    result["style"] = tile(style, n)
  return result


def _sample_video(config, variables, rng, n, video, style, alpha, style_weights, mask, preserve_color, with_image):
  """`sample` of clips: the frames as images, each with its clip's style and controls."""
  if with_image:
    raise UserError("give `image` or `video` as the content, not both")
  video = tile(check_condition("video", video, (None, None, None, 3), single=False), n)
  t, frame_shape = video.shape[1], video.shape[2:]
  per_frame = lambda x: None if x is None or np.ndim(x) == 0 else jnp.repeat(tile(jnp.asarray(x), n), t, axis=0)
  styles = style
  if style is not None and style_weights is None:
    styles = per_frame(check_condition("style", style, (None, None, 3), multiple_of=STRIDE))
  out = sample(config, variables, rng, n * t, image=video.reshape((n * t,) + frame_shape), style=styles,
               alpha=alpha if np.ndim(alpha) == 0 else per_frame(alpha), style_weights=style_weights,
               mask=per_frame(mask), preserve_color=preserve_color if np.ndim(preserve_color) == 0
               else per_frame(preserve_color))
  result = {"video": out["images"].reshape(video.shape), "content": video}
  if style_weights is None:
    result["style"] = tile(style, n)
  return result


def decode_outputs(config, out):
  """Adds `panels` (content | style | result, when their sizes agree; for clips: the style, then each stylised
  frame) for the sample grids."""
  del config
  if "video" in out:
    frames = [out["video"][:, i] for i in range(out["video"].shape[1])]
    return {**out, "panels": panels(*([out["style"]] if "style" in out else []), *frames)}
  columns = [out["content"]] + ([out["style"]] if "style" in out else []) + [out["images"]]
  if len({c.shape[1:3] for c in columns}) > 1:
    return out
  return {**out, "panels": panels(*columns)}


def default_conditions(config, n):
  """Eval-split pairs: held-out content photos (clips, for a model trained on them), each with a crop of a held-out
  style image."""
  arrays = eval_arrays(config)
  content = "video" if trains_on_clips(config) else "image"
  index = np.arange(n) % len(arrays[content])
  return {content: arrays[content][index], "style": arrays["style"][index]}, {}


def luminance(images):
  """uint8 images [..., 3] -> their luminance float [..., 1] in [0, 1] (YIQ's Y)."""
  return to_yiq(np.asarray(images, np.float32) / 255.0)[..., :1]


def pair_metrics(out, content, style):
  """{'style_distance', 'texture_distance', 'colour_distance', 'content_ssim'}: means over uint8 outputs [N, H, W,
  3] of their style distance to uint8 styles [N, ...] (`metrics/style_distance.py`) and of the SSIM of their
  luminance to the content's [N, H, W, 3]."""
  from mmgen_jax.metrics.image import ssim
  from mmgen_jax.metrics.style_distance import style_distances

  d = {k: float(np.mean(v)) for k, v in style_distances(out, style).items()}
  return {"style_distance": d["style_distance"], "texture_distance": d["texture"], "colour_distance": d["colour"],
          "content_ssim": float(np.mean(ssim(luminance(out), luminance(content))))}


def clip_metrics(config, variables, arrays):
  """On clips {'video' uint8 [N, T, H, W, 3], 'camera' [N, T, 3], 'style'} (`video_styles`): `pair_metrics` over
  all frames, and `warping_error` (in [0, 255] levels) between consecutive stylised frames, next to the content's
  own (`content_warping_error`: what resampling alone leaves)."""
  from mmgen_jax.metrics.batched import batched_sample

  video = arrays["video"]
  out = batched_sample(sample, config, variables, {"video": video, "style": arrays["style"]}, batch=16)["video"]
  t = video.shape[1]
  camera = np.stack([arrays["camera"][:, :-1], arrays["camera"][:, 1:]], 2).reshape(-1, 2, 3)
  flow = camera_flow(camera, video.shape[2])
  consecutive = lambda v: (v[:, :-1].reshape((-1,) + v.shape[2:]), v[:, 1:].reshape((-1,) + v.shape[2:]))
  frames = lambda v: v.reshape((-1,) + v.shape[2:])
  metrics = pair_metrics(frames(out), frames(video), np.repeat(arrays["style"], t, 0))
  return {**metrics, "warping_error": float(jnp.mean(warping_error(*consecutive(out), flow))),
          "content_warping_error": float(jnp.mean(warping_error(*consecutive(video), flow))), "num": len(video)}


def evaluate(config, state, num=1000, seed=0):
  """On eval-split pairs (held-out photos, held-out styles): `style_distance` (Gabor-Gram texture + colour
  histogram, `metrics/style_distance.py`) of the outputs to their styles, against two baselines measured on the same
  pairs: the content image itself and `skimage.exposure.match_histograms` (colour only); `content_ssim`: SSIM of the
  output's luminance to the content's; `style_crop_style_distance`: another crop of the same style image (the floor).
  A model trained on clips is measured on held-out clips (`clip_metrics`)."""
  from skimage.exposure import match_histograms

  from mmgen_jax.metrics.batched import batched_sample
  from mmgen_jax.metrics.style_distance import style_distances

  del seed
  arrays = {k: v[:num or None] for k, v in eval_arrays(config).items()}
  if trains_on_clips(config):
    return clip_metrics(config, state.ema_variables(), arrays)
  pairs = {"image": arrays["image"], "style": arrays["style"]}
  out = batched_sample(sample, config, state.ema_variables(), pairs, batch=64)["images"]
  matched = np.stack([np.clip(np.round(match_histograms(c, s, channel_axis=-1)), 0, 255).astype(np.uint8)
                      for c, s in zip(pairs["image"], pairs["style"])])
  baseline = lambda images: float(np.mean(style_distances(images, pairs["style"])["style_distance"]))
  return {**pair_metrics(out, pairs["image"], pairs["style"]), "content_style_distance": baseline(pairs["image"]),
          "histogram_matching_style_distance": baseline(matched),
          "style_crop_style_distance": baseline(_another_crop(arrays)), "num": len(out)}


def _another_crop(arrays):
  """For each pair, the style crop of another pair with the same style image (itself when there is none): how far
  apart two pieces of one style are, the floor of what a transfer can reach on these pairs."""
  source, index = arrays["style_source"], np.arange(len(arrays["style_source"]))
  rng = np.random.default_rng(0)
  others = [np.flatnonzero((source == s) & (index != i)) for i, s in enumerate(source)]
  return arrays["style"][[rng.choice(o) if len(o) else i for i, o in enumerate(others)]]
