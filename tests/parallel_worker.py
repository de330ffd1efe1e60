"""Runs a few DCGAN train steps on a given device layout and saves the resulting params (used by test_parallel.py).

  python tests/parallel_worker.py OUT.npz --devices N            (N of this process's devices, one process)
  python tests/parallel_worker.py OUT.npz --process-id I --num-processes P --coordinator HOST:PORT
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
  p = argparse.ArgumentParser()
  p.add_argument("out")
  p.add_argument("--devices", type=int, default=0)
  p.add_argument("--steps", type=int, default=3)
  p.add_argument("--coordinator")
  p.add_argument("--process-id", type=int, default=0)
  p.add_argument("--num-processes", type=int, default=1)
  p.add_argument("--save", help="also save a checkpoint of the final state to this directory")
  args = p.parse_args()

  from mmgen_jax import parallel
  parallel.initialize_distributed(args.coordinator, args.num_processes, args.process_id)
  train_and_save(args.out, args.devices, args.steps, args.save)


def train_and_save(out, devices=0, steps=3, save=None):
  """`steps` DCGAN steps on the first `devices` devices (0: all, of every process); process 0 saves the params to
  `out`. The tests also call it in-process for the one-device reference."""
  import jax
  import numpy as np
  from mmgen_jax import parallel
  from mmgen_jax.config import get_config
  from mmgen_jax.data import host_batches, open_source
  from mmgen_jax.models import dcgan
  from mmgen_jax.train import trainer

  config = get_config("dcgan_digits", smoke=True)
  config.data.batch_size = 16
  config.model.g_norm = "batch"  # Batch norm over the global batch is the part most likely to differ when sharded.
  mesh = parallel.make_mesh(jax.devices()[:devices] if devices else None)
  source = open_source("digits", "train")
  batches = host_batches(source, 16, seed=0, process_index=jax.process_index(), process_count=jax.process_count(),
                         features=dcgan.input_features(config))
  init, _ = trainer.build_state(dcgan, config, mesh)
  state = init()
  step = trainer.make_train_step(dcgan, config, mesh)
  for _ in range(steps):
    state, _ = step(state, parallel.to_global(next(batches), mesh))
  if save:
    from mmgen_jax.checkpoint import Checkpointer
    ckpt = Checkpointer(save)
    ckpt.save(steps, state, config.to_dict(), {})
    ckpt.close()
  leaves = jax.tree_util.tree_leaves_with_path(jax.device_get((state.g_params, state.d_params)))
  if jax.process_index() == 0:
    np.savez(out, **{jax.tree_util.keystr(k): np.asarray(v) for k, v in leaves})
  print(f"devices={mesh.devices.size} processes={jax.process_count()}", file=sys.stderr)


if __name__ == "__main__":
  main()
