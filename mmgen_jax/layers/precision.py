"""Mixed precision: compute in `model.compute_dtype` (float32 or bfloat16); parameters, optimizer state, batch
statistics and losses stay float32.

Families apply their modules through `mixed_apply`. In bfloat16 it casts the parameters (the `params` collection
only: batch statistics and spectral-norm vectors stay float32) and the floating inputs to bfloat16, and every
floating output back to float32, where the losses, log-likelihoods, KL terms and output softmaxes are computed. The
modules leave their layers' `dtype` unset, so flax infers the compute dtype from these operands (its rule for
`dtype=None`), and normalisation layers reduce in float32 (flax's default). The gradient of a cast is the cast of
the gradient: the optimizer sees float32 gradients of the float32 parameters. Where a module mixes in a float32
constant (a mel filterbank, a warp grid), it casts the result back to its input's dtype, so the next layer is not
promoted to float32; `tests/test_precision.py` lowers every family's train step in bfloat16 and checks that every
convolution and matmul takes bfloat16 operands.

Users of the modules in their own code get the same by calling `mixed_apply`, or by casting parameters and inputs.
In float32 `mixed_apply` is exactly `module.apply` (the same program as before mixed precision existed).
"""
import jax
import jax.numpy as jnp

from mmgen_jax.errors import UserError

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(config):
  """The jnp dtype named by `config.model.compute_dtype` (float32 when the config has none), or one error line."""
  name = config.model.get("compute_dtype", "float32")
  if name not in COMPUTE_DTYPES:
    raise UserError(f"model.compute_dtype={name!r} is not a compute dtype: use --set "
                    f"model.compute_dtype=float32 or --set model.compute_dtype=bfloat16")
  return COMPUTE_DTYPES[name]


def cast_floating(tree, dtype):
  """`tree` with every floating-point array cast to `dtype` (integers, booleans and keys unchanged)."""
  def cast(x):
    return x.astype(dtype) if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) else x
  return jax.tree.map(cast, tree)


def mixed_apply(module, variables, *args, dtype=jnp.float32, **kwargs):
  """`module.apply(variables, *args, **kwargs)` computed in `dtype`: parameters and floating inputs cast to it,
  floating outputs (and updated collections) returned in float32. `kwargs` are apply's own (method, mutable, rngs)
  and the module's keyword inputs, whose floating arrays are cast too."""
  if dtype == jnp.float32:
    return module.apply(variables, *args, **kwargs)
  variables = {name: cast_floating(value, dtype) if name == "params" else value for name, value in variables.items()}
  args = cast_floating(args, dtype)
  kwargs = {k: v if k in ("method", "mutable", "rngs") else cast_floating(v, dtype) for k, v in kwargs.items()}
  return cast_floating(module.apply(variables, *args, **kwargs), jnp.float32)
