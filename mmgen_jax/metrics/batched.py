"""Evaluation over a whole split in fixed-size batches: one shape, one compilation, bounded memory."""
import jax
import numpy as np


def pad_to(x, size):
  """x [k, ...] padded with copies of its last row to [size, ...] (a fixed shape: one compilation)."""
  return np.concatenate([x, np.repeat(x[-1:], size - len(x), 0)]) if len(x) < size else x


def batched(fn, arrays, batch=256):
  """fn(**{name: [batch, ...]}) -> {key: [batch, ...]}, run over equal-length numpy `arrays` in fixed-size chunks
  (the last padded, its padding dropped; fewer than `batch` rows run as one chunk of their own size) -> {key: numpy
  [N, ...]}. `fn` is typically jitted with the weights as arguments (closure constants would be constant-folded:
  slower compiles)."""
  n = len(next(iter(arrays.values())))
  batch = min(batch, n)
  out = []
  for start in range(0, n, batch):
    chunk = {k: pad_to(np.asarray(v[start:start + batch]), batch) for k, v in arrays.items()}
    out.append({k: np.asarray(v)[:min(batch, n - start)] for k, v in fn(**chunk).items()})
  return {k: np.concatenate([o[k] for o in out]) for k in out[0]}


def batched_sample(sample, config, variables, conditions, batch=256, rng=None):
  """A family's `sample(config, variables, rng, batch, **conditions)` over equal-length numpy condition arrays
  [N, ...] in fixed-size chunks -> {output: numpy [N, ...]}. Jitted once, with the weights as arguments (closure
  constants would be constant-folded: slower compiles). rng: each chunk samples with fold_in(rng, its first index);
  None for deterministic samplers."""
  n = len(next(iter(conditions.values())))
  batch = min(batch, n)  # 8 images are not padded to 256.
  run = jax.jit(lambda v, r, c: sample(config, v, r, batch, **c))
  starts = iter(range(0, n, batch))
  chunk_rng = lambda: None if rng is None else jax.random.fold_in(rng, next(starts))  # noqa: E731
  return batched(lambda **c: run(variables, chunk_rng(), c), conditions, batch)
