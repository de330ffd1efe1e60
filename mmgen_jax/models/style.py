"""Arbitrary style transfer, feed-forward (AdaIN, Huang & Belongie 2017). Config: `style_photos`.

Encoder: the loss network (`metrics/loss_network.py`, trained in this project; `model.loss_network` picks the
recipe) up to its deepest map, frozen: content images [B, H, W, 3] and style images [B, H', W', 3] (any sizes
divisible by 8) -> maps [B, H/8, W/8, 128]. AdaIN gives the content map the style map's per-channel mean and std:
t = alpha * AdaIN(f(c), f(s)) + (1 - alpha) * f(c). Decoder: t -> images [B, H, W, 3] (nearest x2 upsampling and
3x3 convs; fully convolutional). Trained on `photo_styles` pairs with content loss |f(g(t)) - t|^2 and style loss
(per-channel mean and std of the loss network's four maps, g(t) against the style), weighted by
`loss.style_weight`. The loss network's weights sit in the state as model state (not trained), so a checkpoint is
complete on its own.

Sampling takes `image` (content) and `style` (uint8), and optionally `alpha` (strength in [0, 1]), `style_weights`
(blend all given styles with these weights, for every content image), `mask` (stylise only where it is 1:
uint8 [k, H, W, 1] in {0, 255} or float in [0, 1]) and `preserve_color` (keep the content's chroma, transfer the
luminance only).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.style_stats import adain, content_loss, style_loss
from mmgen_jax.metrics import loss_network
from mmgen_jax.state import TrainState
from mmgen_jax.train.images import panels
from mmgen_jax.train.optim import make_optimizer

STRIDE = 8  # The encoder's downsampling: image sides must be multiples of it.


class Decoder(nn.Module):
  """Feature maps [B, h, w, 128] -> images [B, 8h, 8w, 3] (unbounded: clipped to [-1, 1] when sampled)."""
  widths: tuple = (64, 32, 16)

  @nn.compact
  def __call__(self, t):
    x = t
    for width in self.widths:
      x = nn.relu(Conv(width, (3, 3))(x))
      x = jax.image.resize(x, (x.shape[0], x.shape[1] * 2, x.shape[2] * 2, x.shape[3]), "nearest")
      x = nn.relu(Conv(width, (3, 3))(x))
    return Conv(3, (3, 3))(x)


def encode(loss_net_params, images, depth=4):
  """The loss network's maps (a list of `depth`) of float images [B, H, W, 3] in [-1, 1]."""
  return loss_network.FeatureNet().apply({"params": loss_net_params}, images, depth)


def _split(variables):
  return {"params": variables["params"]}, variables["loss_net"]


# --- the family contract ---------------------------------------------------------------------------------------------

def input_features(config):
  del config
  return ("image", "style")


def init_state(config, rng):
  """A TrainState: the decoder's params (trained) and the loss network's weights (model state, frozen)."""
  init_rng, state_rng = jax.random.split(rng)
  width = loss_network.FeatureNet().widths[-1]
  size = config.data.image_size // STRIDE
  decoder = Decoder(tuple(config.model.decoder_widths)).init(init_rng, jnp.zeros((1, size, size, width)))
  variables = {**decoder, "loss_net": loss_network.load(config.model.loss_network)}
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(config.optim, config.optim.lr),
                           ema=config.ema)


def train_step(config, state, batch, rng):
  """One Adam step of the decoder on content + style_weight * style loss for batch['image'] and batch['style']."""
  del rng
  loss_net = state.model_state["loss_net"]
  content, style = to_float(batch["image"]), to_float(batch["style"])
  target = adain(encode(loss_net, content)[-1], encode(loss_net, style)[-1])
  style_maps = encode(loss_net, style)
  decoder = Decoder(tuple(config.model.decoder_widths))

  def loss_fn(params):
    out = decoder.apply({"params": params}, target)
    maps = encode(loss_net, out)
    c, s = jnp.mean(content_loss(maps[-1], target)), jnp.mean(style_loss(maps, style_maps))
    return c + config.loss.style_weight * s, {"content_loss": c, "style_loss": s}

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
           preserve_color=None):
  """{'images': uint8 [n, H, W, 3], 'content': the contents [n, ...], 'style': the styles [n, ...] (unless
  blended)}: content `image` (uint8 [k, H, W, 3], tiled to n) in the style of `style`
  (uint8 [k', H', W', 3]: tiled to n and paired with the contents; with `style_weights` float [k'], every output
  blends all k' styles' statistics with those weights).

  alpha: float [k] or a scalar in [0, 1] (1 = full style). mask: [k, H, W, 1], 1 where to stylise (uint8 0/255 or
  float in [0, 1]); outside it the content is kept exactly. preserve_color: [k] or a scalar, 1 -> the output's
  luminance with the content's chroma (YIQ)."""
  del rng
  if image is None or style is None:
    raise UserError("style transfer needs a content `image` and a `style` image (uint8 [k, H, W, 3]), e.g. an npz "
                    "with keys image and style for --cond")
  image = tile(check_condition("image", image, (None, None, 3), multiple_of=STRIDE), n)
  style = check_condition("style", style, (None, None, 3), multiple_of=STRIDE)
  params, loss_net = _split(variables)
  content = to_float(image)
  f_content = encode(loss_net, content)[-1]
  f_style = encode(loss_net, to_float(style))[-1]
  if style_weights is None:
    target = adain(f_content, tile(f_style, n))
  else:
    weights = jnp.asarray(style_weights, jnp.float32).reshape(-1)
    if weights.shape[0] != style.shape[0]:
      raise UserError(f"style_weights has {weights.shape[0]} weights for {style.shape[0]} styles: give one per style")
    weights = weights / jnp.sum(weights)
    target = sum(w * adain(f_content, jnp.broadcast_to(s[None], (n,) + s.shape))
                 for w, s in zip(weights, f_style))
  if alpha is not None:
    a = tile(jnp.clip(jnp.asarray(alpha, jnp.float32).reshape(-1), 0.0, 1.0), n).reshape(n, 1, 1, 1)
    target = a * target + (1.0 - a) * f_content
  out = jnp.clip(Decoder(tuple(config.model.decoder_widths)).apply(params, target), -1.0, 1.0)
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


def decode_outputs(config, out):
  """Adds `panels` (content | style | result, when their sizes agree) for the sample grids."""
  del config
  columns = [out["content"]] + ([out["style"]] if "style" in out else []) + [out["images"]]
  if len({c.shape[1:3] for c in columns}) > 1:
    return out
  return {**out, "panels": panels(*columns)}


def default_conditions(config, n):
  """Eval-split pairs: held-out content photos, each with a crop of a held-out style image."""
  arrays = eval_arrays(config)
  index = np.arange(n) % len(arrays["image"])
  return {"image": arrays["image"][index], "style": arrays["style"][index]}, {}


def evaluate(config, state, num=1000, seed=0):
  """On eval-split pairs (held-out photos, held-out styles): `style_distance` (Gabor-Gram texture + colour
  histogram, `metrics/style_distance.py`) of the outputs to their styles, against two baselines measured on the same
  pairs: the content image itself and `skimage.exposure.match_histograms` (colour only); `content_ssim`: SSIM of the
  output's luminance to the content's."""
  from skimage.exposure import match_histograms

  from mmgen_jax.metrics.batched import batched_sample
  from mmgen_jax.metrics.image import ssim
  from mmgen_jax.metrics.style_distance import style_distances

  del seed
  arrays = eval_arrays(config)
  pairs = {"image": arrays["image"][:num or None], "style": arrays["style"][:num or None]}
  out = batched_sample(sample, config, state.ema_variables(), pairs, batch=64)["images"]
  matched = np.stack([np.clip(np.round(match_histograms(c, s, channel_axis=-1)), 0, 255).astype(np.uint8)
                      for c, s in zip(pairs["image"], pairs["style"])])
  score = lambda images: {k: float(np.mean(v)) for k, v in style_distances(images, pairs["style"]).items()}
  luminance = lambda images: to_yiq(images.astype(np.float32) / 255.0)[..., :1]
  model, content, histogram = score(out), score(pairs["image"]), score(matched)
  return {"style_distance": model["style_distance"], "texture_distance": model["texture"],
          "colour_distance": model["colour"], "content_style_distance": content["style_distance"],
          "histogram_matching_style_distance": histogram["style_distance"],
          "content_ssim": float(np.mean(ssim(luminance(out), luminance(pairs["image"])))), "num": len(out)}
