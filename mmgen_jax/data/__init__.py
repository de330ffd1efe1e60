"""Data: sources (embedded datasets, tfds:NAME, folder:PATH) and host-local batch iterators."""
from mmgen_jax.data.pipeline import batch_indices, host_batches
from mmgen_jax.data.sources import (class_cycle, eval_arrays, have_tensorflow, open_source, per_class_subset,
                                     split_arrays)
