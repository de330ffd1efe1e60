"""The adversarial update shared by the GAN families: one D step, then one G step, inside the caller's jit.

G runs forward once per step (as in the reference PyTorch DCGAN): its output feeds the D update as a constant, then
D's gradient at that output, under the updated D, is pulled back through G's saved VJP. Families supply closures
over their modules and conditions, so the same code serves unconditional and conditional GANs.
"""
import jax
import jax.numpy as jnp

from mmgen_jax.layers.precision import mixed_apply
from mmgen_jax.train import losses


def adversarial_step(state, real, generate, discriminate, condition, rng, *, loss_name, gp_weight=10.0,
                     separate_passes=False, g_extra_loss=None, g_adv_weight=1.0):
  """Returns (state, metrics).

  real: float [B, H, W, C] in [-1, 1]. generate(g_params) -> (fake [B, H, W, C], new G model state).
  discriminate(d_params, d_model_state, x [N, ...], condition [N, ...] or None, train) -> (logits [N], new D model
  state). condition: D's condition for the B real examples (the fakes share it), or None.
  separate_passes: D sees real and fake in two calls (needed when D has batch norm, so statistics do not mix);
  otherwise one call over real and fake interleaved (see `interleave`).
  g_extra_loss(fake) -> (scalar, metrics dict): a term G minimises besides fooling D (e.g. L1 to a target, as in
  pix2pix); its gradient joins D's at the fake before the one pull-back through G.
  g_adv_weight: the weight of G's adversarial term (D trains regardless; 0 makes G's update reconstruction only).
  """
  fake, g_vjp, g_model_state = jax.vjp(generate, state.g_params, has_aux=True)
  doubled = None if condition is None else jax.tree.map(lambda c: interleave(c, c), condition)

  def d_loss_fn(d_params):
    if separate_passes:
      real_logits, ms = discriminate(d_params, state.d_model_state, real, condition, True)
      fake_logits, ms = discriminate(d_params, ms, fake, condition, True)
    else:
      logits, ms = discriminate(d_params, state.d_model_state, interleave(real, fake), doubled, True)
      real_logits, fake_logits = deinterleave(logits)
    loss = losses.discriminator_loss(loss_name, real_logits, fake_logits)
    if loss_name == "wgan-gp":
      critic = lambda x: discriminate(d_params, ms, x, condition, False)[0]
      loss = loss + gp_weight * losses.gradient_penalty(critic, real, fake, rng)
    return loss, (ms, real_logits, fake_logits)

  (d_loss, (d_ms, real_logits, fake_logits)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(state.d_params)
  state = state.apply_d_gradients(d_grads, d_ms)

  def g_loss_fn(x):
    # D in train mode (as in the D step) but its batch statistics from this pass are discarded.
    logits, _ = discriminate(state.d_params, state.d_model_state, x, condition, True)
    loss = g_adv_weight * losses.generator_loss(loss_name, logits)
    if g_extra_loss is None:
      return loss, {}
    extra, extra_metrics = g_extra_loss(x)
    return loss + extra, {"g_adv_loss": loss, **extra_metrics}

  (g_loss, extra_metrics), fake_grad = jax.value_and_grad(g_loss_fn, has_aux=True)(fake)
  (g_grads,) = g_vjp(fake_grad)
  state = state.apply_g_gradients(g_grads, g_model_state)
  return state, {"d_loss": d_loss, "g_loss": g_loss, "d_real": jnp.mean(real_logits),
                 "d_fake": jnp.mean(fake_logits), **extra_metrics}


def interleave(a, b):
  """[B, ...], [B, ...] -> [2B, ...] as a0, b0, a1, b1, ...

  Not [a; b]: with the batch sharded over devices, each device's slice of the result is then its own slices of a and
  b, where concatenation would make XLA move halves between devices (an all-to-all per step)."""
  return jnp.stack([a, b], axis=1).reshape((2 * a.shape[0],) + a.shape[1:])


def deinterleave(x):
  """The inverse of `interleave`: [2B, ...] -> ([B, ...], [B, ...])."""
  pairs = x.reshape((x.shape[0] // 2, 2) + x.shape[1:])
  return pairs[:, 0], pairs[:, 1]


def apply_with_state(module, params, model_state, *args, train, dtype=jnp.float32):
  """module.apply in compute `dtype` (`layers/precision.py`) that returns (output, model state): updated when
  training, unchanged otherwise."""
  variables = {"params": params, **model_state}
  if train:
    return mixed_apply(module, variables, *args, train=True, mutable=list(model_state), dtype=dtype)
  return mixed_apply(module, variables, *args, train=False, dtype=dtype), model_state
