"""Greedy and beam search against brute force on a toy model whose next-token distribution depends on its cache."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mmgen_jax.layers import decoding

PAD, BOS, EOS, V, MAX_LEN = 0, 1, 2, 5, 4


def toy_model(seed=0):
  """step_fn whose logits depend on the position, the previous token and (through the cache) the sum of all tokens
  so far: a beam search that reorders its cache wrongly gives different answers."""
  table = jax.random.normal(jax.random.PRNGKey(seed), (MAX_LEN, V, V)) * 2.0
  history = jax.random.normal(jax.random.PRNGKey(seed + 1), (V, V)) * 2.0

  def step_fn(tokens, index, cache):
    total = (cache + tokens) % V
    return table[index, tokens] + history[total], total

  def log_prob(seq):
    """Log-probability of seq (after BOS) under the model, and the cache trajectory it implies."""
    lp, prev, cache = 0.0, BOS, np.zeros((1,), np.int32)
    for i, tok in enumerate(seq):
      logits, cache = step_fn(jnp.asarray([prev]), i, cache)
      lp += float(jax.nn.log_softmax(logits[0])[tok])
      prev = tok
    return lp

  return step_fn, log_prob


def until_eos(tokens):
  """The tokens up to and including the first EOS (PAD is an ordinary token in the toy model)."""
  tokens = [int(t) for t in np.asarray(tokens)]
  return tokens[:tokens.index(EOS) + 1] if EOS in tokens else tokens


def finished_sequences():
  """Every sequence that ends with EOS at some position <= MAX_LEN (no EOS before)."""
  others = [t for t in range(V) if t != EOS]
  for n in range(MAX_LEN):
    for prefix in itertools.product(others, repeat=n):
      yield prefix + (EOS,)


def test_greedy_search_takes_the_argmax_and_pads_after_eos():
  step_fn, _ = toy_model()
  got = np.asarray(decoding.greedy_search(step_fn, jnp.zeros((1,), jnp.int32), 1, MAX_LEN, BOS, EOS, PAD))[0]
  prev, cache, want = jnp.asarray([BOS]), jnp.zeros((1,), jnp.int32), []
  for i in range(MAX_LEN):
    logits, cache = step_fn(prev, i, cache)
    prev = jnp.argmax(logits, -1)
    want.append(int(prev[0]))
    if want[-1] == EOS:
      break
  want += [PAD] * (MAX_LEN - len(want))
  np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_wide_beam_search_is_exact(alpha):
  """With more beams than live prefixes, beam search must return the K best finished sequences, best first."""
  beam = (V - 1) ** (MAX_LEN - 1)  # Every non-EOS prefix of length MAX_LEN - 1 stays live: the search is exhaustive.
  step_fn, log_prob = toy_model(seed=3)
  tokens, scores = decoding.beam_search(step_fn, jnp.zeros((beam,), jnp.int32), 1, beam, MAX_LEN, BOS, EOS, PAD,
                                        alpha=alpha)
  truth = sorted(((decoding.length_normalise(log_prob(s), len(s), alpha), s) for s in finished_sequences()),
                 reverse=True)[:beam]
  for (want_score, want_seq), got_seq, got_score in zip(truth, np.asarray(tokens[0]), np.asarray(scores[0])):
    np.testing.assert_allclose(got_score, want_score, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got_seq, list(want_seq) + [PAD] * (MAX_LEN - len(want_seq)))


def test_beam_search_batches_independently_and_beats_greedy():
  step_fn, log_prob = toy_model(seed=5)
  k, b = 3, 4
  # Entries differ through their initial cache (the token sum starts at 0..3).
  start = jnp.arange(b, dtype=jnp.int32)
  tokens, scores = decoding.beam_search(step_fn, decoding.tile_beams(start, k), b, k, MAX_LEN, BOS, EOS, PAD)
  greedy = decoding.greedy_search(step_fn, start, b, MAX_LEN, BOS, EOS, PAD)
  for e in range(b):
    single, single_scores = decoding.beam_search(step_fn, decoding.tile_beams(start[e:e + 1], k), 1, k, MAX_LEN, BOS,
                                                 EOS, PAD)
    np.testing.assert_array_equal(tokens[e], single[0])
    np.testing.assert_allclose(scores[e], single_scores[0], rtol=1e-6)
  assert np.all(np.diff(np.asarray(scores), axis=1) <= 1e-6)  # Best first.
  # Entry 0 starts from the cache log_prob assumes: the best beam's score is its log-probability, >= greedy's.
  seq = until_eos(tokens[0, 0])
  np.testing.assert_allclose(scores[0, 0], log_prob(seq), rtol=1e-5)
  greedy_seq = until_eos(greedy[0])
  if EOS in greedy_seq:  # Compare finished with finished.
    assert scores[0, 0] >= log_prob(greedy_seq) - 1e-5


def test_decoding_compiles_under_jit():
  step_fn, _ = toy_model()
  run = jax.jit(lambda c: decoding.beam_search(step_fn, c, 2, 2, MAX_LEN, BOS, EOS, PAD)[0])
  assert run(jnp.zeros((4,), jnp.int32)).shape == (2, 2, MAX_LEN)
