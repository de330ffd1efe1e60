"""Device mesh, shardings, multi-host start-up, host-local batches -> global arrays.

One mesh over all devices of all processes with a single `data` axis: batches are sharded along it, the state is
replicated, and `jax.jit` inserts the gradient all-reduce. Multi-host runs call `initialize_distributed` first.
"""
import collections
import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mmgen_jax.errors import UserError

DATA_AXIS = "data"


def initialize_distributed(coordinator_address=None, num_processes=None, process_id=None):
  """Starts `jax.distributed` when asked explicitly or when the environment describes a multi-host job.

  Explicit arguments (CLI --coordinator/--num-processes/--process-id) win; otherwise JAX's own cluster detection
  covers TPU pods, SLURM, Open MPI and JAX_COORDINATOR_ADDRESS. A single-process run does nothing.
  """
  if coordinator_address:
    jax.distributed.initialize(coordinator_address, num_processes=num_processes, process_id=process_id)
  elif any(v in os.environ for v in ("JAX_COORDINATOR_ADDRESS", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE",
                                     "TPU_WORKER_HOSTNAMES", "MEGASCALE_COORDINATOR_ADDRESS")):
    jax.distributed.initialize()


def make_mesh(devices=None):
  """A 1-D mesh named `data` over `devices` (default: every device of every process)."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh):
  return NamedSharding(mesh, P())


def data_sharded(mesh):
  """Leading (batch) axis split over `data`, the rest replicated."""
  return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(global_batch, mesh):
  n = mesh.devices.size
  if global_batch % n:
    raise UserError(f"data.batch_size={global_batch} is not divisible by the {n} devices: set data.batch_size to "
                    f"a multiple of {n}, e.g. --set data.batch_size={max(n, global_batch // n * n)}")


def to_global(local_batch, mesh):
  """{name: numpy [B_local, ...]} of this process -> {name: jax.Array [B_global, ...]} sharded on `data`."""
  sharding = data_sharded(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local_batch.items()}


def prefetch_to_mesh(batches, mesh, depth=2):
  """Yields global arrays, keeping `depth` batches in flight so the host->device copy overlaps the step."""
  queue = collections.deque()
  batches = iter(batches)
  while True:
    while len(queue) < depth:
      queue.append(to_global(next(batches), mesh))
    yield queue.popleft()
