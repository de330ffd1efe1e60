"""Checkpoints: one orbax CheckpointManager per workdir, with the config and metadata saved beside the arrays.

- Async saves; `keep` latest plus `keep_best` best by a metric (AnyPreservationPolicy of LatestN and BestN).
- Restore takes an abstract state whose leaves carry shardings, so a run saved on 8 devices restores onto 1.
- A damaged step (unreadable files) is skipped with a warning and the previous step is used; a resuming trainer
  moves it aside so the step is saved again.
- Only JSON and array files are read: nothing is unpickled.
"""
import json
import os
import shutil
import warnings

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as policies

from mmgen_jax.errors import DISK_FULL_FIX, UserError
from mmgen_jax.files import atomic_write


# Room for what a step holds beside its arrays (config, metadata, orbax's indexes; measured: 150 KiB for a small model);
# the arrays themselves get 5% slack.
_METADATA_ROOM = 256 << 10


class Checkpointer:
  """Saves/restores {'state': pytree, 'config': JSON, 'metadata': JSON} under `directory`/<step>/."""

  def __init__(self, directory, keep=3, keep_best=0, best_metric="", best_mode="min", async_save=True,
               read_only=False):
    """read_only: for readers (`load`, `sample`, `eval`): they never save, delete or clean up a workdir."""
    self.directory = os.path.abspath(directory)
    if read_only:  # (Not orbax's read_only option: it logs two warnings on every load.)
      options = ocp.CheckpointManagerOptions(create=False, cleanup_tmp_directories=False)
    else:
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
    """Starts an async save of `state` at `step` (returns at once; `wait` blocks until it is committed).

    A disk without room for it is one UserError before anything is written (orbax would fail in its background
    threads, log their tracebacks and leave a partial folder behind)."""
    need = int(sum(x.nbytes for x in jax.tree.leaves(state)) * 1.05) + _METADATA_ROOM
    free = shutil.disk_usage(self.directory).free
    if free < need:
      raise UserError(f"saving checkpoint step {step} needs about {need / 2**20:.1f} MiB but {self.directory} has "
                      f"{free / 2**20:.1f} MiB free: {DISK_FULL_FIX}")
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

  def restore(self, abstract_state, step=None, set_aside_damaged=False):
    """(state, step) restored onto the shardings of `abstract_state`; falls back past damaged steps.

    set_aside_damaged: move the damaged steps newer than the restored one to `<directory>_damaged/` (kept for
    inspection), so a resumed run saves those steps again instead of finding their folders taken."""
    damaged = []
    for s in self._candidates(step):
      try:
        out = self.manager.restore(s, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
      except Exception as e:  # orbax raises many types for damaged or mismatched files.
        self._warn_damaged(s, e)
        damaged.append(s)
        continue
      if set_aside_damaged and damaged:
        self._set_aside(damaged)
      return out.state, s
    raise UserError(f"no checkpoint in {self.directory} could be restored (see warnings above): delete the "
                    f"workdir to start afresh, or pass the workdir of a run with the same config")

  def _set_aside(self, steps):
    aside = self.directory + "_damaged"
    if jax.process_index() == 0:
      os.makedirs(aside, exist_ok=True)
      for step in steps:
        target, k = os.path.join(aside, str(step)), 1
        while os.path.exists(target):
          target, k = os.path.join(aside, f"{step}.{k}"), k + 1
        os.rename(os.path.join(self.directory, str(step)), target)
        warnings.warn(f"moved the damaged checkpoint step {step} to {target}; this run saves step {step} again",
                      stacklevel=3)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices("mmgen_jax: damaged checkpoints set aside")
    self.manager.reload()

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
    # Orbax removes a killed run's temporary folders in a thread started with the manager and awaited only by `save`:
    # a process that ends before saving must await it, or the thread fails in interpreter shutdown (a traceback).
    await_cleanup = getattr(self.manager, "_maybe_await_cleanup_tmp_directory", None)
    if await_cleanup is not None:
      await_cleanup()
    self.manager.wait_until_finished()
    self.manager.close()


def abstract_with_sharding(tree, sharding):
  """ShapeDtypeStructs of `tree` (arrays or abstract values), each placed with `sharding`."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def write_json(path, obj):
  with atomic_write(path) as f:
    json.dump(obj, f, indent=2, sort_keys=True)
