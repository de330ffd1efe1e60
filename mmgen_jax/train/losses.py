"""GAN losses over discriminator logits, and the WGAN-GP gradient penalty.

Names: 'ns' (non-saturating, Goodfellow et al. 2014), 'hinge' (Lim & Ye 2017; Miyato et al. 2018), 'ls'
(least squares, Mao et al. 2017), 'wgan-gp' (Gulrajani et al. 2017; its penalty is added by the family with
`gradient_penalty`). All return scalar means over the batch.
"""
import jax
import jax.numpy as jnp

GAN_LOSSES = ("ns", "hinge", "ls", "wgan-gp")


def discriminator_loss(name, real_logits, fake_logits):
  """D's loss; logits are [B] or [B, 1] float."""
  if name == "ns":
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))
  if name == "hinge":
    return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))
  if name == "ls":
    return 0.5 * (jnp.mean((real_logits - 1.0) ** 2) + jnp.mean(fake_logits ** 2))
  if name == "wgan-gp":
    return jnp.mean(fake_logits) - jnp.mean(real_logits)
  raise ValueError(f"unknown GAN loss {name!r}; choose one of {GAN_LOSSES}")


def generator_loss(name, fake_logits):
  """G's loss on D's logits for generated samples."""
  if name == "ns":
    return jnp.mean(jax.nn.softplus(-fake_logits))
  if name in ("hinge", "wgan-gp"):
    return -jnp.mean(fake_logits)
  if name == "ls":
    return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)
  raise ValueError(f"unknown GAN loss {name!r}; choose one of {GAN_LOSSES}")


def gradient_penalty(critic, real, fake, rng):
  """E[(||grad_x critic(x)||_2 - 1)^2] at random interpolates x of real and fake ([B, ...] each).

  `critic` maps [B, ...] -> [B] logits and must treat examples independently (no batch norm).
  """
  alpha = jax.random.uniform(rng, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
  mixed = alpha * real + (1.0 - alpha) * fake
  grads = jax.grad(lambda x: jnp.sum(critic(x)))(mixed)
  norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1) + 1e-12)
  return jnp.mean((norms - 1.0) ** 2)
