"""Where the test suite's time goes, and the compile-time figures behind its settings (benchmarks/README.md).

  python benchmarks/suite_time.py smoke CONFIG ...     smoke-train each config under the suite's XLA flags (or
                                                       those in $XLA_FLAGS with --flags-from-env): seconds of
                                                       compile, trace and lowering summed over its programs
  python benchmarks/suite_time.py init CONFIG ...      the trainer's init program (full config) compiled with and
                                                       without the MLIR fusion emitters, and a checksum of its values
  python benchmarks/suite_time.py levels               1,500-step biharmonic fill and 40 VSR training steps compiled
                                                       and run at XLA:CPU optimisation levels 0, 1 and 2
  PYTHONPATH=benchmarks python -m pytest -p suite_time then
  python benchmarks/suite_time.py report               per test: wall, compile, trace, lowering (from the plugin's
                                                       files), the slowest first, and the totals
"""
import glob
import os
import sys
import tempfile
import time

_SUITE_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
_REPORT_GLOB = os.path.join(tempfile.gettempdir(), "mmgen_jax_suite_time_*.tsv")
_durations = {"compile": 0.0, "trace": 0.0, "lower": 0.0}


def _listen(event, duration, **kwargs):
  del kwargs
  for name, suffix in (("compile", "backend_compile_duration"), ("trace", "jaxpr_trace_duration"),
                       ("lower", "jaxpr_to_mlir_module_duration")):
    if event.endswith(suffix):
      _durations[name] += duration


def _start_listening():
  from jax import monitoring
  monitoring.register_event_duration_secs_listener(_listen)


# --- as a pytest plugin ---------------------------------------------------------------------------------------------

_listening = []


def pytest_runtest_protocol(item, nextitem):  # noqa: D103 (a pytest hook)
  del nextitem
  if not _listening:
    _start_listening()
    _listening.append(True)
  for k in _durations:
    _durations[k] = 0.0
  start = time.time()
  yield
  worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
  with open(_REPORT_GLOB.replace("*", worker), "a") as f:
    f.write(f"{item.nodeid}\t{time.time() - start:.2f}\t{_durations['compile']:.2f}\t{_durations['trace']:.2f}\t"
            f"{_durations['lower']:.2f}\n")


pytest_runtest_protocol.hookwrapper = True  # Marked by attribute: pytest is not imported outside pytest.


# --- commands -------------------------------------------------------------------------------------------------------

def smoke(names):
  from mmgen_jax.config import get_config
  from mmgen_jax.models import get_family
  from mmgen_jax.train.trainer import train

  _start_listening()
  for name in names:
    for k in _durations:
      _durations[k] = 0.0
    config = get_config(name, smoke=True)
    start = time.time()
    train(config, tempfile.mkdtemp(prefix=f"{name}_"), get_family(config.family), progress=False)
    print(f"{name}: {time.time() - start:.1f} s in all; compile {_durations['compile']:.1f} s, trace "
          f"{_durations['trace']:.1f} s, lowering {_durations['lower']:.1f} s", flush=True)


def init(names):
  import functools

  import jax
  import numpy as np

  from mmgen_jax.config import get_config
  from mmgen_jax.models import get_family

  for name in names:
    config = get_config(name)
    family = get_family(config.family)
    for emitters in (True, False):
      options = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": emitters}
      lowered = jax.jit(functools.partial(family.init_state, config)).lower(jax.random.PRNGKey(0))
      start = time.time()
      compiled = lowered.compile(compiler_options=options)
      seconds = time.time() - start
      leaves = jax.tree.leaves(compiled(jax.random.PRNGKey(0)))
      checksum = sum(float(np.sum(np.asarray(x, np.float64))) for x in leaves if jax.numpy.issubdtype(x.dtype,
                                                                                                     np.floating))
      print(f"{name}: fusion emitters {'on ' if emitters else 'off'} compile {seconds:.2f} s, checksum "
            f"{checksum!r}", flush=True)


def levels():
  import jax

  from mmgen_jax.config import get_config
  from mmgen_jax.data import masks, photos, videos
  from mmgen_jax.layers.fill import biharmonic_fill
  from mmgen_jax import parallel
  from mmgen_jax.models import get_family, vsr
  from mmgen_jax.train import trainer

  images = jax.numpy.asarray(photos.photo_patches_arrays("test")["image"][::20] / 255.0, jax.numpy.float32)
  known = 1.0 - masks.random_masks(jax.random.PRNGKey(2), len(images), 64, 64, "mixed")
  config = get_config("vsr_photos", smoke=True)
  config.data.augment = []
  arrays = videos.camera_videos("train", 2, 6, seed=0)
  batch = {k: arrays[k] for k in ("lr_video", "hr_video")}
  state = trainer.make_init(get_family("vsr"), config, parallel.make_mesh(jax.devices()[:1]))(jax.random.PRNGKey(0))
  for level in (0, 1, 2):
    options = {"xla_backend_optimization_level": level}
    start = time.time()
    fill = jax.jit(lambda a, k: biharmonic_fill(a, k, 1500)).lower(images, known).compile(compiler_options=options)
    compiled = time.time() - start
    jax.block_until_ready(fill(images, known))
    print(f"biharmonic fill, 1,500 steps, O{level}: compile {compiled:.2f} s, run {time.time() - start - compiled:.2f} s",
          flush=True)
    start = time.time()
    step = jax.jit(lambda s, b, r: vsr.train_step(config, s, b, r)).lower(state, batch, jax.random.PRNGKey(0)).compile(
        compiler_options=options)
    compiled = time.time() - start
    s = state
    for i in range(40):
      s, metrics = step(s, batch, jax.random.PRNGKey(i))
      float(metrics["loss"])
    print(f"vsr_photos smoke, 40 steps, O{level}: compile {compiled:.2f} s, run {time.time() - start - compiled:.2f} s",
          flush=True)


def report():
  rows = []
  for path in glob.glob(_REPORT_GLOB):
    with open(path) as f:
      rows += [line.rstrip("\n").split("\t") for line in f if line.strip()]
  rows = [(r[0], *map(float, r[1:])) for r in rows]
  rows.sort(key=lambda r: -r[1])
  print(f"{'wall':>7} {'compile':>8} {'trace':>7} {'lower':>7}  test")
  for name, *t in rows:
    print(f"{t[0]:7.1f} {t[1]:8.1f} {t[2]:7.1f} {t[3]:7.1f}  {name}")
  totals = [sum(r[i] for r in rows) for i in range(1, 5)]
  print(f"{totals[0]:7.0f} {totals[1]:8.0f} {totals[2]:7.0f} {totals[3]:7.0f}  total over {len(rows)} tests "
        f"(remove {_REPORT_GLOB} before the next run)")


def main(argv):
  if not argv or argv[0] not in ("smoke", "init", "levels", "report"):
    sys.exit(__doc__)
  command, args = argv[0], argv[1:]
  if command in ("smoke", "levels"):
    os.environ.setdefault("MMGEN_NO_TF", "1")  # The suite's data path.
    if "--flags-from-env" in args:
      args.remove("--flags-from-env")
    else:
      os.environ["XLA_FLAGS"] = _SUITE_FLAGS
  {"smoke": lambda: smoke(args), "init": lambda: init(args), "levels": levels, "report": report}[command]()


if __name__ == "__main__":
  main(sys.argv[1:])
