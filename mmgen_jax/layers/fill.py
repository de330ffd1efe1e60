"""Push-pull hole filling (Gortler et al. 1996's pull-push): a fast, smooth, parameter-free first guess for masked
pixels, which the inpainting network then corrects (it learns a residual, not the whole image)."""
import jax
import jax.numpy as jnp


def pyramid_fill(image, known):
  """image [B, H, W, C] and known [B, H, W, 1] (1 = known, 0 = missing) -> [B, H, W, C], known pixels unchanged.

  Pull: 2x2 average pooling of image*known and of known, down to 1x1 (H, W powers of two times the same odd
  factor work; any size is padded by edge replication to even sides at each level). Push: from coarse to fine,
  each level's estimate S/W is blended with the bilinear upsampling of the coarser estimate, by the fraction of known
  pixels W (1: the level's own average; 0: all from above)."""
  sums, weights = [image * known], [known]
  while min(sums[-1].shape[1:3]) > 1:
    s, w = sums[-1], weights[-1]
    pad = ((0, 0), (0, s.shape[1] % 2), (0, s.shape[2] % 2), (0, 0))
    s, w = jnp.pad(s, pad, mode="edge"), jnp.pad(w, pad, mode="edge")
    b, h, wd, c = s.shape
    sums.append(s.reshape(b, h // 2, 2, wd // 2, 2, c).mean((2, 4)))
    weights.append(w.reshape(b, h // 2, 2, wd // 2, 2, 1).mean((2, 4)))
  estimate = sums[-1] / jnp.maximum(weights[-1], 1e-6)
  for s, w in zip(sums[-2::-1], weights[-2::-1]):
    up = jax.image.resize(estimate, s.shape[:3] + estimate.shape[3:], "linear")
    estimate = s / jnp.maximum(w, 1e-6) * w + up * (1.0 - w)
  return jnp.where(known > 0.5, image, estimate)
