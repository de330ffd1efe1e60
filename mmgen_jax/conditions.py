"""Conditions a user passes to a sampler: one shape check with one error style, and tiling to n samples.

Both work on numpy arrays on the host and on traced arrays inside `jax.jit` (shapes are static there).
"""
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.errors import UserError


def tile(x, n):
  """x [k, ...] -> [n, ...]: the k rows repeated in order (row i is x[i % k])."""
  if isinstance(x, jax.Array):
    return jnp.take(x, jnp.arange(n) % x.shape[0], axis=0)
  x = np.asarray(x)
  return x[np.arange(n) % len(x)]


def check_condition(name, value, shape, *, dtype="uint8", multiple_of=1, single=True, note=""):
  """`value` as a batch [N, *shape], or one UserError line.

  shape: the trailing dimensions; None is any size, but a multiple of `multiple_of` (fully convolutional models).
  single: a single example [*shape] becomes a batch of one (False where that is ambiguous, e.g. a clip of any
  length). note: appended to the error, e.g. what the condition means.
  """
  value = value if isinstance(value, jax.Array) else np.asarray(value)
  if single and value.ndim == len(shape):
    value = value[None]
  fits = value.ndim == len(shape) + 1 and value.shape[0] > 0 and all(
      (s is None and d % multiple_of == 0) or d == s for d, s in zip(value.shape[1:], shape))
  if not fits:
    dims = ", ".join(["N"] + [str(s) if s is not None else "*" for s in shape])
    extra = f"; each * a multiple of {multiple_of}" if multiple_of > 1 else ""
    raise UserError(f"{name} condition has shape {list(value.shape)}, expected {dtype} [{dims}]{extra}"
                    f"{': ' + note if note else ''}")
  return value
