"""Device mesh, shardings, multi-host start-up, host-local batches -> global arrays.

One mesh over all devices of all processes with a single `data` axis: batches are sharded along it, the state is
replicated, and `jax.jit` inserts the gradient all-reduce. Multi-host runs call `initialize_distributed` first.
"""
import collections
import os
import sys

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mmgen_jax.errors import UserError

DATA_AXIS = "data"
CPU_DEVICES_ENV = "MMGEN_CPU_DEVICES"
_COUNT_FLAG = "--xla_force_host_platform_device_count"


def cpu_device_count(batch_size=None, most=0):
  """How many devices a CPU run splits into: one per core this process may run on, at most `most` (a config's
  `train.cpu_devices`; 0 for no cap), lowered to the largest count that divides batch_size; MMGEN_CPU_DEVICES=N
  sets it whatever `most` says (1 keeps XLA's single CPU device), and an N that does not divide batch_size is an
  error."""
  given = os.environ.get(CPU_DEVICES_ENV)
  if given is None:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = min(n, most) if most else n
  elif given.isdigit() and int(given) >= 1:
    n = int(given)
    if batch_size and batch_size % n:  # Asked for explicitly: never quietly run on fewer devices.
      raise UserError(f"{CPU_DEVICES_ENV}={n} devices cannot split data.batch_size={batch_size}: set a batch size "
                      f"that {n} divides (e.g. --set data.batch_size={max(n, batch_size // n * n)}) or "
                      f"{CPU_DEVICES_ENV}={_most_dividing(n, batch_size)}")
  else:
    raise UserError(f"{CPU_DEVICES_ENV}={given!r} is not a device count: set it to a whole number >= 1, or unset it")
  return _most_dividing(n, batch_size) if batch_size else n


def _most_dividing(n, batch_size):
  """The largest count <= n that divides batch_size."""
  while batch_size % n:
    n -= 1
  return n


def split_cpu_into_devices(batch_size=None, most=0):
  """Gives XLA's CPU backend `cpu_device_count(batch_size, most)` devices, so a CPU run is data-parallel over the
  cores exactly as a multi-GPU run is over GPUs (same mesh, same results up to float summation order).

  Why: XLA:CPU spreads one convolution over threads poorly, while devices run their programs concurrently, one
  core each (`benchmarks/dcgan_vs_torch.py` on 2 cores: DCGAN-32's step 202 ms as one device, 119 ms as two).
  Not every step gains: a config whose step runs faster as one device says so with `train.cpu_devices` (`most`).
  It sets XLA_FLAGS, so it must run before JAX starts its backends; it does nothing when XLA_FLAGS already sets
  the count or a backend is up. An accelerator's devices stay the default ones: there the CPU devices sit unused.
  """
  from jax._src import xla_bridge  # No public way to ask whether the backends are up (then XLA_FLAGS is read).

  flags = os.environ.get("XLA_FLAGS", "")
  if _COUNT_FLAG in flags:
    return
  count, wanted = cpu_device_count(batch_size, most), cpu_device_count(most=most)  # An impossible count raises.
  if not xla_bridge.backends_are_initialized():
    if count < wanted:
      per_core = "one per core, at most train.cpu_devices" if most else "one per core"
      print(f"note: data.batch_size={batch_size} does not split over {wanted} CPU devices ({per_core}): training on "
            f"{count} device(s); a batch size that {wanted} divides runs faster", file=sys.stderr)
    os.environ["XLA_FLAGS"] = f"{flags} {_COUNT_FLAG}={count}".strip()


def split_cpu_for(config, processes=1):
  """`split_cpu_into_devices` as training splits the CPU for `config`: over its per-process batch, at most its
  `train.cpu_devices`. The CLI and the benchmarks that time a config's step as the trainer runs it share this, so
  that a config that trains as one device (`any2any_digits`) is timed as one."""
  split_cpu_into_devices(config.data.batch_size // processes, most=config.train.get("cpu_devices", 0))


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


def batch_mesh(batch_size, devices=None):
  """A `data` mesh over the most of `devices` (default: all) whose count divides batch_size."""
  devices = jax.devices() if devices is None else devices
  return make_mesh(devices[:_most_dividing(len(devices), batch_size)])


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
