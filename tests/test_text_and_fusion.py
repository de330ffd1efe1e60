"""Tokenizer, text encoder and the fusion modules."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mmgen_jax.layers import fusion, text


def test_tokenizer_fits_encodes_and_decodes():
  tok = text.Tokenizer.fit(["the digit 7", "a handwritten seven", "the number 7,"])
  assert tok.vocab[:2] == ["7", "the"]  # Most frequent first.
  ids = tok.encode(["The digit 7!", "a purple seven", "the the the the the"], max_len=4, eos=True)
  assert ids.shape == (3, 4) and ids.dtype == np.int32
  assert ids[1, 1] == text.UNK and ids[0, 3] == text.EOS and ids[2, 3] == tok.stoi["the"]  # Cut at max_len.
  assert tok.decode(ids[:1]) == ["the digit 7"]
  assert text.Tokenizer(tok.vocab).encode(["seven"], 2).tolist() == tok.encode(["seven"], 2).tolist()


def test_text_encoder_ignores_padding():
  tok = text.Tokenizer.fit(["the digit seven"])
  encoder = text.TextEncoder(vocab_size=tok.size, dim=16, max_len=8)
  short, long = tok.encode(["the digit seven"], 3), tok.encode(["the digit seven"], 8)
  variables = encoder.init(jax.random.PRNGKey(0), long)
  a = fusion.pool(*encoder.apply(variables, short))
  b = fusion.pool(*encoder.apply(variables, long))
  np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("name", fusion.FUSIONS)
def test_fusions_share_a_signature_and_use_the_condition(name):
  h = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 8))
  tokens = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 6))
  mask = jnp.array([[True, True, False], [True, True, True]])
  module = fusion.make_fusion(name)
  variables = jax.jit(module.init)(jax.random.PRNGKey(2), h, tokens, mask)
  variables = jax.tree.map(lambda p: p + 0.1, variables)  # FiLM starts as identity: move it off zero.
  out = jax.jit(module.apply)(variables, h, tokens, mask)
  assert out.shape == h.shape
  grad = jax.jit(jax.grad(lambda t: module.apply(variables, h, t, mask).sum()))(tokens)
  assert np.abs(np.asarray(grad[:, :2])).sum() > 0  # The condition reaches the output ...
  np.testing.assert_array_equal(grad[0, 2], 0)  # ... and a masked token does not.
