"""Inputs too large for one program, in overlapping windows: where each window starts and which of its outputs to keep.

Every window has the same size (the last one is moved back to end at the input's end), so a jitted function compiles
once for all of them. Consecutive windows overlap by at least 2 * `overlap`; each keeps its part up to the middle of
each overlap, so every kept output has at least `overlap` items of context on both sides (or reaches the input's
edge), and the kept parts tile the input exactly once.
"""
from mmgen_jax.errors import UserError


def windows(length, size, overlap, what="window"):
  """[(start, keep_start, keep_stop)] of windows [start, start + min(size, length)) covering range(length); the kept
  ranges [keep_start, keep_stop) partition it. size <= 0 or >= length: one window, the whole input."""
  if size <= 0 or size >= length:
    return [(0, 0, length)]
  if overlap < 0 or size <= 2 * overlap:
    raise UserError(f"a {what} of {size} with an overlap of {overlap} on each side keeps nothing: make the {what} "
                    f"larger than twice the overlap (e.g. {2 * overlap + 8}) or lower the overlap")
  stride = size - 2 * overlap
  starts = list(range(0, length - size, stride)) + [length - size]
  # The boundary between windows i and i+1: the middle of their overlap [starts[i+1], starts[i] + size).
  bounds = [0] + [(starts[i + 1] + starts[i] + size) // 2 for i in range(len(starts) - 1)] + [length]
  return [(s, bounds[i], bounds[i + 1]) for i, s in enumerate(starts)]
