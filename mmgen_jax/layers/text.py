"""Text: a word tokenizer built from training captions, and a small transformer text encoder.

The tokenizer runs on the host (strings never enter `jax.jit`); its vocabulary is a plain list of words, stored in
the config (so it is saved with every checkpoint and `load(workdir)` needs nothing else). Ids: 0 = padding, 1 =
unknown word, 2 = begin, 3 = end, then the vocabulary.
"""
import collections
import re

import flax.linen as nn
import numpy as np

from mmgen_jax.errors import UserError

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIAL = ("<pad>", "<unk>", "<bos>", "<eos>")
_WORD = re.compile(r"[a-z0-9]+")


def words(text):
  """Lower-cased alphanumeric words of `text`; punctuation is dropped ("4," -> "4")."""
  return _WORD.findall(text.lower())


class Tokenizer:
  """Words <-> int32 ids over a fixed vocabulary (a list of words; unknown words map to UNK)."""

  def __init__(self, vocab):
    self.vocab = list(vocab)
    self.itos = list(SPECIAL) + self.vocab
    self.stoi = {w: i for i, w in enumerate(self.itos)}

  @classmethod
  def fit(cls, texts, min_count=1):
    """Vocabulary of the words in `texts` seen at least `min_count` times, most frequent first (ties by spelling)."""
    counts = collections.Counter(w for t in texts for w in words(str(t)))
    return cls(sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)))

  @property
  def size(self):
    return len(self.itos)

  def encode(self, texts, max_len, bos=False, eos=False):
    """int32 [N, max_len] ids of `texts` (str sequence), padded with PAD and cut at max_len."""
    out = np.full((len(texts), max_len), PAD, np.int32)
    for i, text in enumerate(texts):
      ids = [BOS] * bos + [self.stoi.get(w, UNK) for w in words(str(text))] + [EOS] * eos
      out[i, :min(len(ids), max_len)] = ids[:max_len]
    return out

  def decode(self, ids):
    """Strings of int [N, L] ids; stops at EOS, skips PAD and BOS."""
    texts = []
    for row in np.asarray(ids):
      toks = []
      for i in row:
        if i == EOS:
          break
        if i not in (PAD, BOS):
          toks.append(self.itos[i] if i < len(self.itos) else SPECIAL[UNK])
      texts.append(" ".join(toks))
    return texts


def fit_vocab(source, purpose, features=("text",)):
  """The vocabulary (a list of words) of a training source's captions, for `prepare_config` hooks; one error line
  naming `purpose` when the source is not in memory or lacks any of `features`."""
  arrays = getattr(source, "arrays", None)
  missing = [f for f in features if arrays is None or f not in arrays]
  if missing:
    raise UserError(f"{purpose} needs the feature(s) {', '.join(features)} in an in-memory dataset ({source.name} "
                    f"lacks {', '.join(missing)}): use digits, or set model.vocab")
  return Tokenizer.fit(arrays["text"]).vocab


def tokenize_text(arrays, key, tokenizer, length, bos=False, eos=False):
  """For `encode_inputs` hooks: `arrays` with its `text` (str [N]) replaced by `key`, int32 ids [N, length]
  (`arrays` itself when it has no text)."""
  if "text" not in arrays:
    return arrays
  arrays = dict(arrays)
  texts = np.asarray(arrays.pop("text")).reshape(-1).tolist()
  arrays[key] = tokenizer.encode(texts, length, bos=bos, eos=eos)
  return arrays


class TransformerBlock(nn.Module):
  """Pre-norm self-attention + MLP block: x [B, L, D], mask bool [B, L] (True = token) -> [B, L, D]."""
  num_heads: int = 4
  mlp_ratio: int = 2

  @nn.compact
  def __call__(self, x, mask):
    attn_mask = nn.make_attention_mask(mask, mask)
    x = x + nn.MultiHeadDotProductAttention(num_heads=self.num_heads)(nn.LayerNorm()(x), mask=attn_mask)
    h = nn.Dense(self.mlp_ratio * x.shape[-1])(nn.LayerNorm()(x))
    return x + nn.Dense(x.shape[-1])(nn.gelu(h))


class TextEncoder(nn.Module):
  """Token ids int [B, L] -> (tokens [B, L, dim], mask bool [B, L]); padding (id 0) is masked out.

  Embedding + learnt positions + `depth` pre-norm transformer blocks. Condition vectors are the masked mean of the
  tokens (`layers.fusion.pool`), which keeps the encoder robust to wordings it never saw: every word contributes.
  """
  vocab_size: int
  dim: int = 64
  depth: int = 2
  num_heads: int = 4
  max_len: int = 16

  @nn.compact
  def __call__(self, ids, train=True):
    del train
    mask = ids != PAD
    x = nn.Embed(self.vocab_size, self.dim, name="embedding")(ids)
    positions = self.param("positions", nn.initializers.normal(0.02), (self.max_len, self.dim))
    x = x + positions[None, :ids.shape[1]]
    for _ in range(self.depth):
      x = TransformerBlock(self.num_heads)(x, mask)
    return nn.LayerNorm()(x), mask
