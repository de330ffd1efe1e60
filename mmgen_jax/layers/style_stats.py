"""Feature statistics for style transfer: per-channel mean and standard deviation, adaptive instance normalisation
(AdaIN, Huang & Belongie 2017), Gram matrices, and the content and style losses built on them. All in float32."""
import jax.numpy as jnp

EPS = 1e-5


def mean_std(x):
  """(mean, std) [B, 1, 1, C] over the spatial axes of feature maps x [B, H, W, C]."""
  x = x.astype(jnp.float32)
  mean = jnp.mean(x, axis=(1, 2), keepdims=True)
  return mean, jnp.sqrt(jnp.var(x, axis=(1, 2), keepdims=True) + EPS)


def adain(content, style):
  """content [B, H, W, C] renormalised to the per-channel mean and std of style [B, H', W', C] (any size)."""
  c_mean, c_std = mean_std(content)
  s_mean, s_std = mean_std(style)
  return (content.astype(jnp.float32) - c_mean) / c_std * s_std + s_mean


def masked_mean_std(x, mask):
  """(mean, std) [B, 1, 1, C] of x [B, H, W, C] over the positions where mask [B, H, W, 1] (in [0, 1]) weighs."""
  x = x.astype(jnp.float32)
  weight = jnp.sum(mask, axis=(1, 2), keepdims=True) + EPS
  mean = jnp.sum(x * mask, axis=(1, 2), keepdims=True) / weight
  var = jnp.sum((x - mean) ** 2 * mask, axis=(1, 2), keepdims=True) / weight
  return mean, jnp.sqrt(var + EPS)


def gram(x):
  """Gram matrices [B, C, C] of x [B, H, W, C], normalised by the number of positions."""
  b, h, w, c = x.shape
  flat = x.astype(jnp.float32).reshape(b, h * w, c)
  return jnp.einsum("bpc,bpd->bcd", flat, flat) / (h * w)


def colour_moments(images):
  """(mean colour [B, 1, 1, 3], colour covariance [B, 3, 3]) of images [B, H, W, 3], in float32."""
  x = images.astype(jnp.float32)
  mean = jnp.mean(x, axis=(1, 2), keepdims=True)
  return mean, gram(x - mean)


def match_colour(images, references, eps=1e-4):
  """images [B, H, W, 3] recoloured so their pixels have the mean colour and the 3x3 colour covariance of
  references [B, H', W', 3] (any size): x -> (x - m_x) C_x^(-1/2) C_r^(1/2) + m_r, symmetric square roots by eigh
  (the linear colour transfer of Hertzmann 2001 / Gatys et al. 2017; differentiable). A grey reference gives a grey
  result; `eps` keeps the inverse of a flat image's covariance finite."""
  def power(c, p, floor):
    w, v = jnp.linalg.eigh(c)
    return jnp.einsum("bij,bj,bkj->bik", v, jnp.maximum(w, floor) ** p, v)

  (mx, cx), (mr, cr) = colour_moments(images), colour_moments(references)
  # Row vectors: x @ transform. The reference's root keeps its zero directions zero (grey stays grey).
  transform = jnp.einsum("bij,bjk->bik", power(cx + eps * jnp.eye(3), -0.5, eps), power(cr, 0.5, 0.0))
  return jnp.einsum("bhwi,bik->bhwk", images.astype(jnp.float32) - mx, transform) + mr


def content_loss(features, target):
  """Mean squared difference between feature maps [B, H, W, C] (the AdaIN paper's content term)."""
  return jnp.mean((features.astype(jnp.float32) - target.astype(jnp.float32)) ** 2, axis=(1, 2, 3))


def style_loss(features, targets):
  """Sum over layers of the squared differences of per-channel means and stds (the AdaIN paper's style term):
  lists of maps [B, H, W, C] -> [B]."""
  total = 0.0
  for f, t in zip(features, targets):
    (fm, fs), (tm, ts) = mean_std(f), mean_std(t)
    total = total + jnp.mean((fm - tm) ** 2, axis=(1, 2, 3)) + jnp.mean((fs - ts) ** 2, axis=(1, 2, 3))
  return total


def colour_loss(images, styles):
  """Squared differences of the mean colour and of the 3x3 colour covariance between images [B, H, W, 3] and styles
  [B, H', W', 3] (any sizes) -> [B]: pins hue and saturation, which feature statistics of a small loss network
  leave loose (a grey style has equal channels: its covariance is all one value)."""
  (im, ic), (sm, sc) = colour_moments(images), colour_moments(styles)
  return jnp.sum((im - sm)[:, 0, 0] ** 2, -1) + jnp.sum((ic - sc) ** 2, (1, 2))


def gram_style_loss(features, targets):
  """Sum over layers of the mean squared Gram-matrix differences (Gatys et al. 2016): lists of maps -> [B]."""
  return sum(jnp.mean((gram(f) - gram(t)) ** 2, axis=(1, 2)) for f, t in zip(features, targets))
