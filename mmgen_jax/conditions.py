"""Conditions a user passes to a sampler: one shape and dtype check with one error style, tiling to n samples, and
a range check for class labels.

`check_condition` and `tile` work on numpy arrays on the host and on traced arrays inside `jax.jit` (shapes and
dtypes are static there); `check_labels` reads values, so it runs on the host (a family's `encode_inputs`).
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
  dtype: what the condition holds: "uint8" (images: exactly uint8, as a float array in [0, 1] would be scaled as
  if in [0, 255]), an integer type (ids, labels: any integer type), a float type (any float type), or None (any).
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
  _check_dtype(name, value.dtype, dtype)
  return value


def _check_dtype(name, got, expected):
  if expected is None:
    return
  expected = np.dtype(expected)
  if expected == np.uint8:
    ok, fix = got == np.uint8, ("images are uint8 in [0, 255]: from floats in [0, 1] pass "
                                "(x * 255).round().astype(np.uint8)")
  elif jnp.issubdtype(expected, jnp.integer):
    ok, fix = jnp.issubdtype(got, jnp.integer), "pass integers, e.g. x.astype(np.int32)"
  else:
    ok, fix = jnp.issubdtype(got, jnp.floating), f"pass floats, e.g. x.astype(np.{expected.name})"
  if not ok:
    raise UserError(f"{name} condition is {got}, expected {expected.name}: {fix}")


def check_labels(name, labels, num_classes, fix=None):
  """One UserError line when host-side class labels fall outside 0..num_classes-1 (they would index past the
  embedding table: XLA clamps the index and draws a wrong class, or an all-zero condition). fix: the advice
  (default: pass labels in range)."""
  labels = np.asarray(labels)
  bad = np.unique(labels[(labels < 0) | (labels >= num_classes)]) if labels.size else labels
  if bad.size:
    shown = ", ".join(str(int(b)) for b in bad[:5]) + (", ..." if bad.size > 5 else "")
    raise UserError(f"{name} holds {shown}, outside the model's classes 0..{num_classes - 1}: "
                    f"{fix or f'pass labels in 0..{num_classes - 1}'}")
