"""Optimizers chosen by config: one function turns an `optim` block into an optax transformation.

Keys of the block (all optional but the learning rate, which the caller passes: `lr`, `g_lr` or `d_lr`):
- name: 'adam' (default) or 'adamw' (with `weight_decay`);
- b1, b2: Adam's moment decays (default 0.9, 0.999);
- schedule: 'constant' (default), 'cosine' (to 1% of the rate at the run's last step), or 'warmup_cosine' (linear
  warmup over `warmup_steps` from 0, then cosine to 5% of the rate);
- grad_clip: clip the global gradient norm to this first (default: no clipping).
The transformation's state structure depends only on `name`, whether `grad_clip` is set and whether the rate is
scheduled, so checkpoints of runs that differ in rates, moments or schedule shapes restore into each other's states.
"""
import optax

from mmgen_jax.errors import UserError

NAMES = ("adam", "adamw")
SCHEDULES = ("constant", "cosine", "warmup_cosine")


def learning_rate(optim, lr, total_steps):
  """The rate (a float, or an optax schedule of the step) for peak rate `lr` over a run of `total_steps`."""
  kind = optim.get("schedule", "constant")
  if kind == "constant":
    return lr
  if kind == "cosine":
    return optax.cosine_decay_schedule(lr, total_steps, alpha=0.01)
  if kind == "warmup_cosine":
    warmup = optim.warmup_steps
    # A run shorter than the warmup (--set train.steps=3) just stays in it.
    return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(total_steps, warmup + 1), lr * 0.05)
  raise UserError(f"optim.schedule={kind!r} is not one of {', '.join(SCHEDULES)}: set --set optim.schedule=constant")


def make_optimizer(optim, lr, total_steps=1):
  """optax GradientTransformation from the `optim` config block with peak learning rate `lr`."""
  name = optim.get("name", "adam")
  rate = learning_rate(optim, lr, total_steps)
  b1, b2 = optim.get("b1", 0.9), optim.get("b2", 0.999)
  if name == "adam":
    tx = optax.adam(rate, b1=b1, b2=b2)
  elif name == "adamw":
    tx = optax.adamw(rate, b1=b1, b2=b2, weight_decay=optim.weight_decay)
  else:
    raise UserError(f"optim.name={name!r} is not one of {', '.join(NAMES)}: set --set optim.name=adam")
  if optim.get("grad_clip"):
    tx = optax.chain(optax.clip_by_global_norm(optim.grad_clip), tx)
  return tx
