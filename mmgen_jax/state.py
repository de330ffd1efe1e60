"""The common train states: pytrees of arrays, with optimizers as static (non-leaf) fields.

`GANState` serves every adversarial family (generator G, discriminator D); `TrainState` serves single-optimizer
families (VAEs, autoencoders, captioners). Both keep an EMA of the (generator) params, updated inside the jitted step
by `update_ema`, and the rng the trainer folds the step into. `ema_variables()` is what samplers run on.
"""
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

PyTree = Any


def update_ema(ema_params, params, step, decay, start_step):
  """EMA of params; before `start_step` it copies the params (early weights are noise not worth averaging)."""
  step_size = jnp.where(step < start_step, 1.0, 1.0 - decay)
  return optax.incremental_update(params, ema_params, step_size)


@struct.dataclass
class GANState:
  """Generator and discriminator params, optimizer states, generator EMA, model state (batch stats etc.)."""
  step: jax.Array
  rng: jax.Array
  g_params: PyTree
  d_params: PyTree
  g_opt_state: PyTree
  d_opt_state: PyTree
  g_ema_params: PyTree
  g_model_state: PyTree
  d_model_state: PyTree
  g_tx: optax.GradientTransformation = struct.field(pytree_node=False)
  d_tx: optax.GradientTransformation = struct.field(pytree_node=False)
  ema_decay: float = struct.field(pytree_node=False, default=0.999)
  ema_start_step: int = struct.field(pytree_node=False, default=0)

  @classmethod
  def create(cls, *, rng, g_variables, d_variables, g_tx, d_tx, ema):
    """From `module.init` variables: 'params' are trained, every other collection is model state. `ema`: the
    config's `ema` block (decay, start_step)."""
    g_params, g_model_state = _split_variables(g_variables)
    d_params, d_model_state = _split_variables(d_variables)
    return cls(step=jnp.zeros((), jnp.int32), rng=rng, g_params=g_params, d_params=d_params,
               g_opt_state=g_tx.init(g_params), d_opt_state=d_tx.init(d_params),
               g_ema_params=jax.tree.map(jnp.copy, g_params), g_model_state=g_model_state,
               d_model_state=d_model_state, g_tx=g_tx, d_tx=d_tx, ema_decay=ema["decay"],
               ema_start_step=ema["start_step"])

  def apply_d_gradients(self, grads, d_model_state):
    updates, d_opt_state = self.d_tx.update(grads, self.d_opt_state, self.d_params)
    return self.replace(d_params=optax.apply_updates(self.d_params, updates), d_opt_state=d_opt_state,
                        d_model_state=d_model_state)

  def apply_g_gradients(self, grads, g_model_state):
    """Updates G, its EMA, and advances the step (one G update = one step)."""
    updates, g_opt_state = self.g_tx.update(grads, self.g_opt_state, self.g_params)
    g_params = optax.apply_updates(self.g_params, updates)
    return self.replace(step=self.step + 1, g_params=g_params, g_opt_state=g_opt_state, g_model_state=g_model_state,
                        g_ema_params=update_ema(self.g_ema_params, g_params, self.step, self.ema_decay,
                                                self.ema_start_step))

  def g_variables(self, ema=True):
    """Generator variables for `apply`: EMA params (or live ones) plus its model state."""
    return {"params": self.g_ema_params if ema else self.g_params, **self.g_model_state}

  def ema_variables(self):
    """What samplers run on: the EMA generator's variables."""
    return self.g_variables(ema=True)

  def d_variables(self, params=None):
    return {"params": self.d_params if params is None else params, **self.d_model_state}


@struct.dataclass
class TrainState:
  """One model, one optimizer, an EMA of its params and its model state."""
  step: jax.Array
  rng: jax.Array
  params: PyTree
  opt_state: PyTree
  ema_params: PyTree
  model_state: PyTree
  tx: optax.GradientTransformation = struct.field(pytree_node=False)
  ema_decay: float = struct.field(pytree_node=False, default=0.999)
  ema_start_step: int = struct.field(pytree_node=False, default=0)

  @classmethod
  def create(cls, *, rng, variables, tx, ema):
    """From `module.init` variables; `ema`: the config's `ema` block (decay, start_step)."""
    params, model_state = _split_variables(variables)
    return cls(step=jnp.zeros((), jnp.int32), rng=rng, params=params, opt_state=tx.init(params),
               ema_params=jax.tree.map(jnp.copy, params), model_state=model_state, tx=tx,
               ema_decay=ema["decay"], ema_start_step=ema["start_step"])

  def apply_gradients(self, grads, model_state):
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    params = optax.apply_updates(self.params, updates)
    return self.replace(step=self.step + 1, params=params, opt_state=opt_state, model_state=model_state,
                        ema_params=update_ema(self.ema_params, params, self.step, self.ema_decay,
                                              self.ema_start_step))

  def variables(self, ema=True):
    return {"params": self.ema_params if ema else self.params, **self.model_state}

  def ema_variables(self):
    """What samplers run on: the EMA params and the model state."""
    return self.variables(ema=True)


def _split_variables(variables):
  variables = dict(variables)
  params = variables.pop("params")
  return params, variables
