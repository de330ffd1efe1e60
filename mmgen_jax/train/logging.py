"""Metric logging: `metrics.jsonl` (one JSON object per logged step) and TensorBoard event files.

TensorBoard events are written with tensorboardX, which needs neither TensorFlow nor TensorBoard installed (the
GPU images have no TensorFlow, and tensorflow-cpu does not ship tf.summary's TensorBoard backend).
"""
import json
import os


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

  def close(self):
    if self._tb is not None:
      self._tb.close()


def read_metrics(workdir):
  """The list of dicts in DIR/metrics.jsonl."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f if line.strip()]
