"""mmgen-jax train | sample | eval | list | data  (the stable CLI contract of DESIGN.md).

Every mistake a user can make ends in one line `error: <cause>: <fix>` and exit status 2; a training run stopped by
SIGTERM/SIGINT saves, says "interrupted ... at step N, saved ...; rerun to resume" and exits 128 + the signal.
"""
import argparse
import json
import os
import sys

import numpy as np


def _train(args):
  from mmgen_jax import parallel
  from mmgen_jax.config import apply_overrides, get_config
  from mmgen_jax.models import get_family
  from mmgen_jax.train.trainer import check_train_config, train

  config = apply_overrides(get_config(args.config), args.set)
  check_train_config(config)
  # Before anything starts JAX's backends: on a CPU, one device per core, at most the config's `train.cpu_devices`
  # (see the function for why and the numbers).
  parallel.split_cpu_for(config, args.num_processes or 1)
  parallel.initialize_distributed(args.coordinator, args.num_processes, args.process_id)
  family = get_family(config.family)
  train(config, args.workdir, family, resume=True if args.resume else (False if args.no_resume else None),
        progress=not args.no_progress)
  print(f"done: {args.workdir} (samples in {os.path.join(args.workdir, 'samples')})")


def _parse_labels(text):
  from mmgen_jax.errors import UserError
  try:
    return np.asarray([int(x) for x in text.split(",") if x.strip()], np.int32)
  except ValueError:
    raise UserError(f"--labels expects comma-separated integers like 0,1,2, got {text!r}") from None


def _read_conditions(path):
  """{name: array} of an .npz of numeric arrays, or one UserError line (never unpickles)."""
  import zipfile

  from mmgen_jax.errors import UserError
  try:
    loaded = np.load(path, allow_pickle=False)
    if not hasattr(loaded, "files"):  # A bare .npy holds one unnamed array.
      raise ValueError("a single .npy array, not an .npz of named arrays")
    with loaded as f:
      return {k: f[k] for k in f.files}
  except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
    raise UserError(f"--cond file {path!r} is not an .npz of numeric arrays ({str(e).splitlines()[0][:120]}): "
                    f"write one with np.savez(path, NAME=array), e.g. labels=np.array([1, 2])") from None


def _sample(args):
  from mmgen_jax.errors import UserError
  from mmgen_jax.sampler import load

  if args.num < 1:
    raise UserError(f"--num must be a positive number of samples, got {args.num}: e.g. --num 16")
  if not (args.out or args.export):
    raise UserError("sample writes its samples to --out FILE.npz, or as an image dataset to --export DIR: pass one")
  model = load(args.workdir, settings=args.set)
  conditions = {}
  if args.cond:
    if not os.path.exists(args.cond):
      raise UserError(f"--cond file {args.cond!r} does not exist: pass an .npz with the condition arrays")
    conditions = _read_conditions(args.cond)
  if args.labels:
    conditions["labels"] = _parse_labels(args.labels)
  out = {k: np.asarray(v) for k, v in model.sample(args.seed, args.num, **conditions).items()}
  if args.export:
    from mmgen_jax.export import export_samples, missing_classes

    counts = export_samples(out, args.export, progress=not args.no_progress)
    missing = missing_classes(counts)
    what = f"{len(out['images'])} images" if "images" in out else f"{len(out['video'])} clips (GIF)"
    others = [kind for key, kind in (("video", "GIF"), ("speech", "WAV"), ("text", "TXT")) if key in out]
    if "images" in out and others:
      what += f" (PNG) with their {', '.join(others)}"
    print(f"exported {what} to {args.export}" + (
        f" in {len(counts)} class folders" if None not in counts else ""))
    if missing:
      print(f"note: classes {', '.join(map(str, missing))} have no samples: data.source=folder:{args.export} numbers "
            f"the {len(counts)} present classes 0..{len(counts) - 1}; sample more (--num) to keep the labels",
            file=sys.stderr)
  if args.out:
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out, **out, **{f"cond_{k}": v for k, v in conditions.items()})
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in out.items()))


def _eval(args):
  from mmgen_jax.errors import UserError
  from mmgen_jax.sampler import load

  if args.num is not None and args.num < 1:
    raise UserError(f"--num must be a positive number of examples, got {args.num}: e.g. --num 1000")
  print(json.dumps(load(args.workdir).evaluate(num=args.num, seed=args.seed)))


def _list(args):
  del args
  from mmgen_jax.config import get_config, list_configs
  for name in list_configs():
    c = get_config(name)
    print(f"{name:24s} {c.family:10s} {c.data.source:10s} {c.get('description', '')}")


def _data(args):
  from mmgen_jax.data import open_source
  from mmgen_jax.train.images import save_grid

  source = open_source(args.source, args.split)
  spec = source.element_spec() if hasattr(source, "element_spec") else {}
  print(json.dumps({"source": args.source, "split": args.split, "num_examples": getattr(source, "num_examples", None),
                    "features": {k: [list(s), str(dt)] for k, (s, dt) in spec.items()}}))
  if args.grid and hasattr(source, "arrays"):
    save_grid(args.grid, source.arrays["image"][:64])
    print(f"wrote {args.grid}")


def make_parser():
  p = argparse.ArgumentParser(prog="mmgen-jax", description=__doc__.splitlines()[0])
  sub = p.add_subparsers(dest="command", required=True)

  t = sub.add_parser("train", help="train a zoo config (name or .py path) in a workdir; reruns resume")
  t.add_argument("config")
  t.add_argument("--workdir", required=True)
  t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
  t.add_argument("--resume", action="store_true", help="require an existing checkpoint to resume from")
  t.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run")
  t.add_argument("--no-progress", action="store_true", help="no progress bar")
  t.add_argument("--coordinator", help="multi-host: coordinator address host:port")
  t.add_argument("--num-processes", type=int)
  t.add_argument("--process-id", type=int)
  t.set_defaults(run=_train)

  s = sub.add_parser("sample", help="sample a trained workdir into an .npz")
  s.add_argument("--workdir", required=True)
  s.add_argument("--num", type=int, default=64)
  s.add_argument("--out", help="write the samples (and the conditions, as cond_NAME) to this .npz")
  s.add_argument("--export", metavar="DIR", help="write image samples as a dataset: DIR/[LABEL/]NNNNNN.png (one "
                 "folder per class for labelled samples; train on it with --set data.source=folder:DIR) and "
                 "DIR/samples.npz; a sample's video, speech and text beside its PNG as NNNNNN.gif, .wav, .txt; "
                 "clips alone as DIR/NNNNNN.gif")
  s.add_argument("--no-progress", action="store_true", help="no progress bar")
  s.add_argument("--seed", type=int, default=0)
  s.add_argument("--labels", help="comma-separated class labels (conditional families)")
  s.add_argument("--cond", help=".npz of condition arrays keyed by feature name")
  s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                 help="change an inference setting (infer.*), e.g. --set infer.chunk_frames=16 (vsr: frames per chunk "
                      "of a long video)")
  s.set_defaults(run=_sample)

  e = sub.add_parser("eval", help="print the family's metrics of a trained workdir as one JSON object")
  e.add_argument("--workdir", required=True)
  e.add_argument("--num", type=int, default=1000, help="examples or samples to measure on")
  e.add_argument("--seed", type=int, default=0)
  e.set_defaults(run=_eval)

  sub.add_parser("list", help="list the zoo configs").set_defaults(run=_list)

  d = sub.add_parser("data", help="prepare/inspect a dataset (digits, tfds:NAME, folder:PATH)")
  d.add_argument("source")
  d.add_argument("--split", default="train")
  d.add_argument("--grid", help="write the first 64 images to this PNG")
  d.set_defaults(run=_data)
  return p


XLA_CACHE_MAX_BYTES = 4 << 30  # Least recently used entries go beyond this.


def enable_compilation_cache():
  """XLA's persistent compilation cache in MMGEN_CACHE_DIR/xla (default ~/.cache/mmgen_jax/xla) for CLI runs, so a
  config's second run (resume, sample, eval, a new --workdir) loads its compiled steps instead of compiling them
  again. JAX_COMPILATION_CACHE_DIR, when set, wins; MMGEN_XLA_CACHE=0 turns it off."""
  if os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.environ.get("MMGEN_XLA_CACHE") == "0":
    return
  import jax
  from mmgen_jax.metrics.classifier import cache_dir

  jax.config.update("jax_compilation_cache_dir", os.path.join(cache_dir(), "xla"))
  jax.config.update("jax_compilation_cache_max_size", XLA_CACHE_MAX_BYTES)


def main(argv=None):
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  args = make_parser().parse_args(argv)
  from mmgen_jax.errors import Interrupted, UserError
  enable_compilation_cache()
  try:
    args.run(args)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except Interrupted as e:  # Saved, not finished: the shell's status for the signal, so schedulers can tell.
    print(str(e), file=sys.stderr)
    return 128 + e.signum
  return 0


if __name__ == "__main__":
  sys.exit(main())
