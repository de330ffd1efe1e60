"""Metric logging: `metrics.jsonl` (one JSON object per logged step) and TensorBoard event files.

TensorBoard events are written with tensorboardX, which needs neither TensorFlow nor TensorBoard installed (the
GPU images have no TensorFlow, and tensorflow-cpu does not ship tf.summary's TensorBoard backend).
"""
import json
import os

from mmgen_jax.files import atomic_write


class MetricWriter:
  """Appends {'step': s, **scalars} lines to DIR/metrics.jsonl and writes the same scalars to DIR/tensorboard."""

  def __init__(self, workdir, enabled=True):
    self.enabled = enabled
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    if enabled:
      from tensorboardX import SummaryWriter
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), flush_secs=30)

  def write(self, step, scalars):
    if not self.enabled:
      return
    scalars = {k: float(v) for k, v in scalars.items()}
    with open(self.path, "a") as f:
      f.write(json.dumps({"step": int(step), **scalars}) + "\n")
    for k, v in scalars.items():
      self._tb.add_scalar(k, v, int(step))

  def close(self, quiet=False):
    """Flushes and closes the event file; quiet: on a failing run's way out, a flush that fails (a full disk) is
    dropped instead of replacing the error that stopped the run."""
    if self._tb is None:
      return
    try:
      self._tb.close()
    except OSError:
      if not quiet:
        raise
      # tensorboardX retries the flush at interpreter exit and prints its traceback: mark its writer closed.
      event_writer = getattr(getattr(self._tb, "file_writer", None), "event_writer", None)
      if event_writer is not None and hasattr(event_writer, "_closed"):
        event_writer._closed = True


def read_metrics(workdir):
  """The list of dicts in DIR/metrics.jsonl."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f if line.strip()]


def truncate_metrics(workdir, step):
  """Drops the lines of DIR/metrics.jsonl past `step` (a resumed run logs those steps again), and a line a killed
  run left half-written; returns the last step dropped (0 when none was)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return 0
  with open(path) as f:
    lines = [(line, _step_of(line)) for line in f if line.strip()]
  keep = [line for line, s in lines if s is not None and s <= step]
  if len(keep) == len(lines):
    return 0
  with atomic_write(path) as f:
    f.writelines(line if line.endswith("\n") else line + "\n" for line in keep)
  return max([s for _, s in lines if s is not None] + [0])


def _step_of(line):
  try:
    return int(json.loads(line)["step"])
  except (ValueError, KeyError, TypeError):
    return None
