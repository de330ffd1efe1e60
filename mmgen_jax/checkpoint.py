"""Checkpoints: one orbax CheckpointManager per workdir, with the config and metadata saved beside the arrays.

- Async saves; `keep` latest plus `keep_best` best by a metric (AnyPreservationPolicy of LatestN and BestN).
- Restore takes an abstract state whose leaves carry shardings, so a run saved on 8 devices restores onto 1.
- A damaged step (unreadable files) is skipped with a warning and the previous step is used.
- Only JSON and array files are read: nothing is unpickled.
"""
import json
import os
import warnings

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as policies

from mmgen_jax.errors import UserError


class Checkpointer:
  """Saves/restores {'state': pytree, 'config': JSON, 'metadata': JSON} under `directory`/<step>/."""

  def __init__(self, directory, keep=3, keep_best=0, best_metric="", best_mode="min", async_save=True):
    self.directory = os.path.abspath(directory)
    preserve = [policies.LatestN(n=keep)]
    if keep_best and best_metric:
      preserve.append(policies.BestN(get_metric_fn=lambda m: m[best_metric], reverse=best_mode == "min",
                                     n=keep_best, keep_checkpoints_without_metrics=False))
    options = ocp.CheckpointManagerOptions(preservation_policy=policies.AnyPreservationPolicy(preserve),
                                           enable_async_checkpointing=async_save, cleanup_tmp_directories=True)
    self.manager = ocp.CheckpointManager(self.directory, options=options,
                                         item_names=("state", "config", "metadata"))

  def steps(self):
    return sorted(self.manager.all_steps())

  def latest_step(self):
    return self.manager.latest_step()

  def save(self, step, state, config, metadata, metrics=None):
    """Starts an async save of `state` at `step` (returns at once; `wait` blocks until it is committed)."""
    self.manager.save(int(step), metrics=metrics, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(dict(config)),
        metadata=ocp.args.JsonSave(metadata)))

  def read_json(self, step=None):
    """(config dict, metadata dict) of `step` (default latest readable) without touching the arrays."""
    for s in self._candidates(step):
      try:
        out = self.manager.restore(s, args=ocp.args.Composite(config=ocp.args.JsonRestore(),
                                                               metadata=ocp.args.JsonRestore()))
        return out.config, out.metadata
      except Exception as e:  # orbax raises many types for damaged files.
        self._warn_damaged(s, e)
    raise UserError(f"no readable checkpoint in {self.directory}: train first with `mmgen-jax train CONFIG "
                    f"--workdir {os.path.dirname(self.directory)}`")

  def restore(self, abstract_state, step=None):
    """(state, step) restored onto the shardings of `abstract_state`; falls back past damaged steps."""
    for s in self._candidates(step):
      try:
        out = self.manager.restore(s, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
        return out.state, s
      except Exception as e:  # orbax raises many types for damaged or mismatched files.
        self._warn_damaged(s, e)
    raise UserError(f"no checkpoint in {self.directory} could be restored (see warnings above): delete the "
                    f"workdir to start afresh, or pass the workdir of a run with the same config")

  def _candidates(self, step):
    steps = self.steps()
    if step is not None:
      return [step] if step in steps else []
    return steps[::-1]

  def _warn_damaged(self, step, error):
    warnings.warn(f"checkpoint step {step} in {self.directory} is unreadable ({type(error).__name__}: "
                  f"{str(error).splitlines()[0][:200] if str(error) else ''}); falling back to an earlier one",
                  stacklevel=3)

  def wait(self):
    self.manager.wait_until_finished()

  def close(self):
    self.manager.wait_until_finished()
    self.manager.close()


def abstract_with_sharding(tree, sharding):
  """ShapeDtypeStructs of `tree` (arrays or abstract values), each placed with `sharding`."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def write_json(path, obj):
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=2, sort_keys=True)
  os.replace(tmp, path)
