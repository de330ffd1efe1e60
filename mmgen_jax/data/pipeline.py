"""Host-local batch iterators whose order is a pure function of (seed, step), so a resumed run sees the same data.

For in-memory sources the global batch at step s is the slice [s*B, (s+1)*B) of the endless concatenation of
per-epoch permutations (`batch_indices`); host p of P takes its contiguous 1/P of it. tf.data does the gathering and
prefetching in background threads; without TensorFlow a numpy iterator yields exactly the same batches. Streamed
TFDS sources are shuffled by tf.data with a fixed seed and resumed by skipping `start_step` batches.
"""
import numpy as np

from mmgen_jax.data.sources import ArraySource, decode_strings, have_tensorflow
from mmgen_jax.errors import UserError


def _epoch_permutation(seed, epoch, n):
  return np.random.default_rng([seed, epoch]).permutation(n)


def batch_indices(n, global_batch, seed, step):
  """Example indices int64 [global_batch] of the global batch at `step` over a dataset of n examples."""
  start = step * global_batch
  positions = np.arange(start, start + global_batch)
  epochs = positions // n
  out = np.empty(global_batch, np.int64)
  for epoch in np.unique(epochs):
    where = epochs == epoch
    out[where] = _epoch_permutation(seed, int(epoch), n)[positions[where] % n]
  return out


def _host_slice(global_batch, process_index, process_count):
  if global_batch % process_count:
    raise UserError(f"data.batch_size={global_batch} is not divisible by the {process_count} processes: "
                    f"set data.batch_size to a multiple of {process_count}")
  local = global_batch // process_count
  return slice(process_index * local, (process_index + 1) * local)


def host_batches(source, global_batch, seed, start_step=0, process_index=0, process_count=1, use_tf=None,
                 features=None):
  """Endless iterator of this host's batches {feature: numpy [global_batch / process_count, ...]}.

  features: names to keep (default: all). use_tf: force tf.data on/off (default: on when TensorFlow imports).
  """
  use_tf = have_tensorflow() if use_tf is None else use_tf
  host = _host_slice(global_batch, process_index, process_count)
  if not isinstance(source, ArraySource):
    return _tfds_batches(source, global_batch, seed, start_step, process_index, process_count, features)
  arrays = {k: v for k, v in source.arrays.items() if features is None or k in features}
  n = source.num_examples
  if n < global_batch:
    raise UserError(f"dataset {source.name} has {n} examples, fewer than data.batch_size={global_batch}: "
                    f"lower data.batch_size")

  def indices(step):
    return batch_indices(n, global_batch, seed, int(step))[host]

  if not use_tf:
    return ({k: v[indices(step)] for k, v in arrays.items()} for step in _count(start_step))
  import tensorflow as tf

  tensors = {k: tf.constant(v) for k, v in arrays.items()}
  local = host.stop - host.start

  def gather(step):
    idx = tf.numpy_function(indices, [step], tf.int64)
    idx.set_shape([local])
    return {k: tf.gather(t, idx) for k, t in tensors.items()}

  ds = tf.data.Dataset.counter(start_step).map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  return ({k: decode_strings(v) for k, v in batch.items()} for batch in ds.prefetch(2).as_numpy_iterator())


def _count(start):
  while True:
    yield start
    start += 1


def _tfds_batches(source, global_batch, seed, start_step, process_index, process_count, features):
  import tensorflow as tf
  import tensorflow_datasets as tfds

  split = source.split
  if process_count > 1:
    split = tfds.split_for_jax_process(split, process_index=process_index, process_count=process_count)
  read_config = tfds.ReadConfig(shuffle_seed=seed)
  ds = source.builder.as_dataset(split=split, shuffle_files=True, read_config=read_config)
  keep = features or ("image", "label")
  ds = ds.map(lambda ex: {k: ex[k] for k in keep if k in ex})
  ds = ds.repeat().shuffle(10_000, seed=seed).batch(global_batch // process_count, drop_remainder=True)
  return ds.skip(start_step).prefetch(tf.data.AUTOTUNE).as_numpy_iterator()
