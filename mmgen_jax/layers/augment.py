"""Random augmentations inside the jitted step: per-example flips and colour-channel orders."""
import itertools

import jax
import jax.numpy as jnp


def random_flip(rng, images):
  """Each image of float [B, H, W, C] mirrored left-right with probability 1/2."""
  flip = jax.random.bernoulli(rng, 0.5, (images.shape[0], 1, 1, 1))
  return jnp.where(flip, images[:, :, ::-1], images)


def random_channel_order(rng, *arrays):
  """The same random order of the last (colour) axis for each example of every array [B, ..., C]: one of the C!
  permutations per example (teaches structure, not the training photos' colours)."""
  c = arrays[0].shape[-1]
  orders = jnp.asarray(list(itertools.permutations(range(c))))
  order = orders[jax.random.randint(rng, (arrays[0].shape[0],), 0, len(orders))]  # [B, C]
  shaped = lambda x: order.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (c,))
  out = tuple(jnp.take_along_axis(x, shaped(x), axis=-1) for x in arrays)
  return out if len(out) > 1 else out[0]
