"""Autoregressive decoding under `jax.jit`: greedy and beam search over any step function with a cache.

Both run in one `lax.while_loop` with a fixed maximum length (static shapes) and stop early once every sequence has
ended (greedy) or no live beam can still beat the finished ones (beam). The model is a step function

    step_fn(tokens int32 [N], index int32 [], cache) -> (logits float [N, V], cache)

which reads the previous token at position `index` and returns the distribution of the next one; `cache` is any
pytree with leading dimension N (e.g. a transformer's per-layer keys and values). Sequences start with `bos`; the
outputs exclude it and hold `pad` after `eos`.
"""
import jax
import jax.numpy as jnp

NEG_INF = -1.0e9


def greedy_search(step_fn, cache, batch_size, max_len, bos, eos, pad=0):
  """int32 [B, max_len]: the argmax token at every step, `pad` after the first `eos`."""
  tokens = jnp.full((batch_size, max_len + 1), pad, jnp.int32).at[:, 0].set(bos)

  def cond(carry):
    i, _, _, done = carry
    return (i < max_len) & ~jnp.all(done)

  def body(carry):
    i, tokens, cache, done = carry
    logits, cache = step_fn(tokens[:, i], i, cache)
    nxt = jnp.where(done, pad, jnp.argmax(logits, -1).astype(jnp.int32))
    return i + 1, tokens.at[:, i + 1].set(nxt), cache, done | (nxt == eos)

  _, tokens, _, _ = jax.lax.while_loop(cond, body, (jnp.int32(0), tokens, cache, jnp.zeros(batch_size, bool)))
  return tokens[:, 1:]


def length_normalise(log_prob, length, alpha):
  """GNMT length penalty (Wu et al. 2016): log_prob / ((5 + length) / 6) ** alpha; alpha = 0 keeps log_prob."""
  return log_prob / ((5.0 + length) / 6.0) ** alpha


def tile_beams(tree, beam_size):
  """Repeats every leaf's batch entries beam_size times: [B, ...] -> [B * beam_size, ...] (beams of an entry adjacent)."""
  return jax.tree.map(lambda x: jnp.repeat(x, beam_size, axis=0), tree)


def _gather_beams(x, beams, batch_size, beam_size):
  """x [B * K, ...] reordered so that beam k of entry b becomes old beam beams[b, k] (beams int [B, K])."""
  xs = x.reshape((batch_size, beam_size) + x.shape[1:])
  return jnp.take_along_axis(xs, beams.reshape(beams.shape + (1,) * (xs.ndim - 2)), axis=1).reshape(x.shape)


def beam_search(step_fn, cache, batch_size, beam_size, max_len, bos, eos, pad=0, alpha=0.0):
  """(tokens int32 [B, K, max_len], scores float32 [B, K]), best first per entry.

  `cache` leaves have leading dimension B * K (see `tile_beams`). At each step every live beam's `eos` continuation
  joins the finished pool (scored with the length penalty `alpha`; the best K are kept), and the K best other
  continuations stay live. The loop stops when, for every entry, K beams have finished and the best live beam,
  even at the most favourable length, scores below the worst finished one. Entries with fewer than K finished
  beams at max_len are filled from the live ones.
  """
  b, k = batch_size, beam_size
  seqs = jnp.full((b, k, max_len + 1), pad, jnp.int32).at[:, :, 0].set(bos)
  # Only beam 0 is live at first, so the first expansion does not pick the same token K times.
  live_logp = jnp.tile(jnp.asarray([0.0] + [NEG_INF] * (k - 1), jnp.float32), (b, 1))
  fin_seqs, fin_scores = seqs, jnp.full((b, k), NEG_INF, jnp.float32)

  def cond(carry):
    i, _, live_logp, _, _, fin_scores = carry
    # Log-probs only fall as a beam grows; the length penalty favours it most at max_len (for alpha >= 0).
    best_possible = length_normalise(live_logp[:, 0], jnp.float32(max_len), alpha)
    settled = jnp.all(fin_scores > NEG_INF / 2, axis=1) & (best_possible < fin_scores[:, -1])
    return (i < max_len) & ~jnp.all(settled)

  def body(carry):
    i, seqs, live_logp, cache, fin_seqs, fin_scores = carry
    logits, cache = step_fn(seqs[:, :, i].reshape(b * k), i, cache)
    vocab = logits.shape[-1]
    logp = jax.nn.log_softmax(logits.astype(jnp.float32)).reshape(b, k, vocab) + live_logp[:, :, None]
    # Finished candidates: every live beam ended here. Merged into the pool, the best K are kept.
    ended_logp = logp[:, :, eos]
    ended = jnp.where(ended_logp > NEG_INF / 2, length_normalise(ended_logp, (i + 1).astype(jnp.float32), alpha),
                      NEG_INF)
    fin_scores, pick = jax.lax.top_k(jnp.concatenate([fin_scores, ended], 1), k)
    all_fin = jnp.concatenate([fin_seqs, seqs.at[:, :, i + 1].set(eos)], 1)
    fin_seqs = jnp.take_along_axis(all_fin, pick[:, :, None], axis=1)
    # Live: the best K continuations that do not end.
    live_logp, flat = jax.lax.top_k(logp.at[:, :, eos].set(NEG_INF).reshape(b, k * vocab), k)
    beams, tokens = flat // vocab, (flat % vocab).astype(jnp.int32)
    seqs = jnp.take_along_axis(seqs, beams[:, :, None], axis=1).at[:, :, i + 1].set(tokens)
    cache = jax.tree.map(lambda x: _gather_beams(x, beams, b, k), cache)
    return i + 1, seqs, live_logp, cache, fin_seqs, fin_scores

  carry = (jnp.int32(0), seqs, live_logp, cache, fin_seqs, fin_scores)
  _, seqs, live_logp, _, fin_seqs, fin_scores = jax.lax.while_loop(cond, body, carry)
  # Entries short of K finished beams fill the empty places with live ones (scored as if they ended at max_len),
  # ranked after every finished beam.
  live_scores = length_normalise(live_logp, jnp.float32(max_len), alpha)
  fin_rank = jnp.where(fin_scores > NEG_INF / 2, fin_scores, 4 * NEG_INF)
  rank = jnp.concatenate([fin_rank, live_scores + 2 * NEG_INF], 1)
  _, pick = jax.lax.top_k(rank, k)
  scores = jnp.take_along_axis(jnp.concatenate([fin_scores, live_scores], 1), pick, 1)
  tokens = jnp.take_along_axis(jnp.concatenate([fin_seqs, seqs], 1), pick[:, :, None], axis=1)
  return tokens[:, :, 1:], scores
