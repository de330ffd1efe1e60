"""The generic trainer: one readable loop for every family (it never imports `models/`).

The family, a `mmgen_jax.family.Family` (the contract: `mmgen_jax/family.py`), is handed in by the caller. The loop:
- builds the state on the mesh, or restores the newest good checkpoint of the workdir (resume is the default);
- runs `family.train_step` under one `jax.jit` with the state replicated and donated and the batch sharded on
  `data`; the step's rng is `fold_in(state.rng, state.step)`, so a resumed run repeats an uninterrupted one exactly;
- syncs with the host only every `log_every` steps (metrics) and at checkpoints, where it also checks every loss of
  every step since the last check for NaN/inf before anything is saved;
- writes `metrics.jsonl` (losses, steps/s, images/s, and `input_wait`: the fraction of the window's wall time the
  loop spent blocked on the input pipeline), TensorBoard scalars, sample grids (and texts) and async checkpoints;
  SIGTERM/SIGINT save and exit.
"""
import functools
import os
import shutil
import signal
import sys
import time

import jax
import numpy as np
import tqdm

from mmgen_jax import checkpoint, locks, parallel
from mmgen_jax.config import Config
from mmgen_jax.data import host_batches, open_source, per_class_subset
from mmgen_jax.errors import DISK_FULL_FIX, Interrupted, UserError, disk_error
from mmgen_jax.train.images import write_samples
from mmgen_jax.train.logging import MetricWriter, truncate_metrics

# Config sections whose change makes an existing checkpoint unusable (arrays of other shapes or meaning).
_SHAPE_KEYS = ("family", "model", "data.image_size", "data.channels")


def checkpoint_dir(workdir):
  return os.path.join(workdir, "checkpoints")


def make_checkpointer(config, workdir, read_only=False):
  t = config.train
  return checkpoint.Checkpointer(checkpoint_dir(workdir), keep=t.keep, keep_best=t.keep_best,
                                 best_metric=t.best_metric, best_mode=t.best_mode, read_only=read_only)


# The init runs once, but XLA:CPU's optimising LLVM pass over its many threefry draws (one per parameter) took 5-9 s
# to compile even for a width-8 DCGAN; unoptimised, and with the classic elemental emitters instead of the MLIR fusion
# emitters, it compiles in 0.8 s (dcgan_digits) to 6.7 s (mvae_digits) (values differ from the optimised build's in
# the last ulp).
_INIT_COMPILER_OPTIONS = {"cpu": {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}}


def make_init(family, config, mesh):
  """jit(rng) -> the family's initial state, replicated on the mesh."""
  return jax.jit(functools.partial(family.init_state, config), out_shardings=parallel.replicated(mesh),
                 compiler_options=_INIT_COMPILER_OPTIONS.get(jax.default_backend()))


def build_state(family, config, mesh):
  """(init function, abstract state with replicated shardings) for this config on this mesh."""
  init = make_init(family, config, mesh)
  rng = jax.random.PRNGKey(config.seed)
  abstract = jax.eval_shape(init, rng)
  return (lambda: init(rng)), checkpoint.abstract_with_sharding(abstract, parallel.replicated(mesh))


def make_train_step(family, config, mesh):
  """jit(state, global batch) -> (state, metrics) with the state donated and replicated, the batch on `data`."""

  def step(state, batch):
    return family.train_step(config, state, batch, jax.random.fold_in(state.rng, state.step))

  repl = parallel.replicated(mesh)
  return jax.jit(step, in_shardings=(repl, parallel.data_sharded(mesh)), out_shardings=(repl, repl),
                 donate_argnums=0)


def _lookup(config, dotted):
  node = config
  for part in dotted.split("."):
    node = node.get(part) if isinstance(node, dict) else None
  return node


def _check_same_run(config, saved, workdir):
  for key in _SHAPE_KEYS:
    if _lookup(config, key) != _lookup(saved, key):
      raise UserError(f"workdir {workdir} holds a run with a different {key} ({_lookup(saved, key)} there, "
                      f"{_lookup(config, key)} now): use a new --workdir, or the config it was trained with")


class _StopRequest:
  """Turns SIGTERM/SIGINT into a flag the loop checks after each step (then it saves and exits)."""

  def __init__(self):
    self.signum = None
    self._old = {}

  def __enter__(self):
    for sig in (signal.SIGTERM, signal.SIGINT):
      try:
        self._old[sig] = signal.signal(sig, self._handle)
      except ValueError:  # Not the main thread: leave signals alone.
        pass
    return self

  def _handle(self, signum, frame):
    del frame
    self.signum = signum

  def __exit__(self, *exc):
    for sig, old in self._old.items():
      signal.signal(sig, old)


def _first_nonfinite(pending):
  """(step, name, value) of the first NaN/inf metric among [(step, metrics)], or None. Syncs with the device."""
  for step, metrics in jax.device_get(pending):
    for name, value in metrics.items():
      if not np.all(np.isfinite(value)):
        return step, name, float(np.asarray(value).ravel()[0])
  return None


# (key, lowest value, what it is, a value to suggest): checked before a run creates anything.
_TRAIN_LIMITS = (("data.batch_size", 1, "examples per step", 64), ("train.steps", 1, "the step to train to", 1000),
                 ("train.ckpt_every", 1, "steps between checkpoints", 500),
                 ("train.log_every", 1, "steps between metric lines", 100),
                 ("train.num_grid", 1, "samples in each grid", 64), ("train.keep", 1, "latest checkpoints kept", 2),
                 ("train.sample_every", 0, "steps between sample grids, 0 for none", 1000),
                 ("train.eval_every", 0, "steps between evaluations, 0 for none", 1000),
                 ("train.cpu_devices", 0, "the most devices a CPU run splits into, 0 for one per core", 0))


def check_train_config(config):
  """One UserError line for a value no run can use (a zero batch, no steps, checkpoints every 0 steps)."""
  for key, low, meaning, example in _TRAIN_LIMITS:
    value = _lookup(config, key)
    if value is not None and value < low:
      raise UserError(f"{key}={value} must be at least {low} ({meaning}): e.g. --set {key}={example}")


def train(config, workdir, family, resume=None, progress=True):
  """Trains `family` (a `mmgen_jax.family.Family`) per `config` in `workdir`; returns the final state.

  resume: None resumes when the workdir has checkpoints; True requires them; False refuses to overwrite them.
  Raises UserError for a mistake (nothing is left behind in a workdir this call created), and
  `mmgen_jax.errors.Interrupted` after saving when SIGTERM/SIGINT stops the run.
  """
  check_train_config(config)
  d = config.data
  mesh = parallel.make_mesh()
  parallel.check_batch_size(d.batch_size, mesh)
  source = open_source(d.source, d.split, d.image_size, d.channels, d.get("frames"))
  source = per_class_subset(source, d.get("per_class", 0), d.get("subset_seed", 0))
  config = family.prepare_config(Config(config.to_dict()), source)
  created = not os.path.exists(workdir)
  os.makedirs(workdir, exist_ok=True)
  try:
    # One lock per process index: the processes of one multi-process run share the workdir, two runs never do.
    with locks.exclusive_lock(os.path.join(workdir, f".train-{jax.process_index()}.lock"), lambda holder: (
        f"workdir {workdir} is being trained by another run ({holder}): wait for it to end or stop it, or use "
        f"another --workdir")):
      return _train(config, workdir, family, source, mesh, resume, progress)
  except BaseException:
    if created and jax.process_index() == 0 and not _has_results(workdir):
      shutil.rmtree(workdir, ignore_errors=True)  # A run that failed before its first step leaves nothing behind.
    raise


def _has_results(workdir):
  saved = os.path.isdir(checkpoint_dir(workdir)) and any(n.isdigit() for n in os.listdir(checkpoint_dir(workdir)))
  return saved or os.path.exists(os.path.join(workdir, "metrics.jsonl"))


def _train(config, workdir, family, source, mesh, resume, progress):
  ckpt = make_checkpointer(config, workdir)
  try:
    state, start = _initial_state(config, workdir, family, mesh, ckpt, resume)
    state = _loop(config, workdir, family, source, mesh, ckpt, state, start, progress)
    ckpt.close()
    return state
  except BaseException as e:
    try:
      ckpt.close()  # Always closed: an open manager prints orbax's shutdown tracebacks at exit.
    except Exception:  # A failed async save raises again here: the error that stopped the run is the one to show.
      pass
    disk = disk_error(e) if isinstance(e, Exception) and not isinstance(e, UserError) else None
    if disk is not None:  # Checkpoints (orbax reports a failed async save at the next save or wait), metrics, grids.
      raise UserError(f"writing to {workdir} failed: {disk.strerror}: {DISK_FULL_FIX}") from None
    raise


def _initial_state(config, workdir, family, mesh, ckpt, resume):
  """(state, start step): the newest good checkpoint's, or a fresh state at step 0."""
  if ckpt.steps():
    if resume is False:
      raise UserError(f"workdir {workdir} already has checkpoints (steps {ckpt.steps()}): drop --no-resume to "
                      f"continue that run, or use a new --workdir")
    _check_same_run(config, family.complete_config(Config(ckpt.read_json()[0])), workdir)
  elif resume:
    raise UserError(f"--resume given but workdir {workdir} has no checkpoint: drop --resume to start a new run")
  init, abstract = build_state(family, config, mesh)
  if ckpt.steps():
    state, start = ckpt.restore(abstract, set_aside_damaged=True)
    print(f"resumed {workdir} from step {start}")
  else:
    state, start = init(), 0
  if jax.process_index() == 0:
    checkpoint.write_json(os.path.join(workdir, "config.json"), config.to_dict())
    dropped = truncate_metrics(workdir, start)
    if dropped and not start:
      print(f"{workdir} has metrics up to step {dropped} but no checkpoint: training from step 0 again (its "
            f"metrics.jsonl starts over)", file=sys.stderr)
  return state, start


def _loop(config, workdir, family, source, mesh, ckpt, state, start, progress):
  t, d = config.train, config.data
  is_main = jax.process_index() == 0

  def batches(start):
    return (family.encode_inputs(config, batch) for batch in host_batches(
        source, d.batch_size, config.seed, start, jax.process_index(), jax.process_count(),
        features=family.input_features(config)))

  metadata = {"family": config.family, "dataset": source.name, "num_devices": jax.device_count(),
              "num_processes": jax.process_count()}
  train_step = make_train_step(family, config, mesh)
  sample = family.make_sampler(config)
  grid_rng = jax.random.PRNGKey(config.seed + 1)  # The same noise in every grid: progress is easy to follow.
  writer = MetricWriter(workdir, enabled=is_main)
  data = parallel.prefetch_to_mesh(batches(start), mesh)

  pending = []
  saved_step = start if start else None
  tick, tick_step = time.perf_counter(), start

  def verify():
    nonlocal pending
    bad = _first_nonfinite(pending)
    pending = []
    if bad:
      ckpt.wait()
      step, name, value = bad
      kept = (f"last good checkpoint is step {saved_step} in {checkpoint_dir(workdir)}" if saved_step is not None
              else f"no checkpoint was saved before it (the first is due at step {t.ckpt_every})")
      then = "rerun to resume from it" if saved_step is not None else "rerun to start again"
      raise UserError(f"{name} became {value} at step {step}; training stopped, {kept}: lower the learning rates "
                      f"(optim.*) or change the loss, then {then}")

  def save(step, scores=None):
    nonlocal saved_step
    verify()
    ckpt.save(step, state, config.to_dict(), {**metadata, "step": step}, metrics=scores)
    saved_step = step

  try:
    with _StopRequest() as stop, tqdm.tqdm(total=t.steps, initial=start, disable=not (progress and is_main),
                                           desc=config.family, dynamic_ncols=True) as bar:
      waited = 0.0  # Seconds this window spent blocked on the input pipeline (logged as a fraction of the window).
      for step in range(start + 1, t.steps + 1):
        before = time.perf_counter()
        batch = next(data)
        waited += time.perf_counter() - before
        state, metrics = train_step(state, batch)
        pending.append((step, metrics))
        bar.update(1)
        last = step == t.steps
        row = {}  # This step's line of metrics.jsonl: losses and rates, evaluation scores.
        if step % t.log_every == 0 or last:
          window = pending
          verify()
          means = {k: float(np.mean([m[k] for _, m in jax.device_get(window)])) for k in window[0][1]}
          now = time.perf_counter()
          rate = (step - tick_step) / max(now - tick, 1e-9)
          input_wait = waited / max(now - tick, 1e-9)
          tick, tick_step, waited = now, step, 0.0
          row.update(means, steps_per_s=rate, images_per_s=rate * d.batch_size, input_wait=input_wait)
          bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()}, refresh=False)
        if is_main and t.sample_every and (step % t.sample_every == 0 or last):
          out = jax.device_get(sample(state.ema_variables(), grid_rng, t.num_grid))
          write_samples(os.path.join(workdir, "samples", f"step_{step:06d}"), out)
        evaluate = t.eval_every and (step % t.eval_every == 0 or last)
        if evaluate:
          verify()  # Never spend an evaluation on (or rank by) a diverged state.
          scores = family.evaluate(config, state, num=t.eval_num, seed=config.seed)
          numeric = {k: v for k, v in scores.items() if isinstance(v, (int, float))}
          row.update({f"eval/{k}": v for k, v in numeric.items()})
          bar.write(f"step {step}: " + ", ".join(f"{k}={v:.4g}" for k, v in numeric.items()))
        if row:
          writer.write(step, row)
        if evaluate:
          save(step, numeric)
        elif step % t.ckpt_every == 0 or last:
          save(step)
        if stop.signum:
          if saved_step != step:
            save(step)
          break
    ckpt.wait()
  except BaseException:
    writer.close(quiet=True)
    raise
  writer.close()
  if stop.signum:
    raise Interrupted(stop.signum, saved_step, checkpoint_dir(workdir))
  return state
