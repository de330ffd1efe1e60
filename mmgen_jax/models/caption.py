"""Image captioning (image -> text): a CNN encoder's cell tokens read by a transformer decoder through
cross-attention; teacher forcing with label smoothing; greedy or beam-search decoding under `jax.jit` with a KV cache.
Config: `caption_digits`.

Shapes: images uint8 [B, R, R, C]; captions are token ids int32 [B, L] of `layers/text.Tokenizer` (BOS, words, EOS,
padding), built from the training captions and saved in `config.model.vocab`. The decoder's output embedding is
tied to its input embedding. The decoder (`layers/text_decoder.py`) keeps a KV cache: a decoding step costs O(L).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import class_cycle, eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers.pixels import to_float
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.text import PAD, Tokenizer, fit_vocab, tokenize_text, words
from mmgen_jax.layers.text_decoder import TextDecoder, search
from mmgen_jax.layers.vision import ConvEncoder
from mmgen_jax.metrics.batched import batched
from mmgen_jax.state import TrainState
from mmgen_jax.train.optim import make_optimizer

# Settings that configs of older checkpoints lack, as those checkpoints were trained.
CONFIG_DEFAULTS = {"optim.name": "adamw", "optim.schedule": "warmup_cosine"}


class Captioner(nn.Module):
  """A ConvEncoder's cell tokens as the memory of a TextDecoder; see the methods for shapes."""
  vocab_size: int
  dim: int = 128
  depth: int = 2
  num_heads: int = 4
  max_len: int = 16
  encoder_widths: tuple = (32, 64, 128)

  def setup(self):
    self.encoder = ConvEncoder(self.encoder_widths, self.dim)
    self.decoder = TextDecoder(self.vocab_size, self.dim, self.depth, self.num_heads, self.max_len)

  def encode(self, images):
    """Per-block cross-attention (keys, values) of images float [B, R, R, C] in [-1, 1]."""
    return self.decoder.memory_kv(self.encoder(images)[0])

  def __call__(self, images, ids):
    """Teacher forcing: ids int [B, L] (BOS first) -> logits [B, L, vocab] of each next token."""
    return self.decoder(ids, self.encode(images))

  def decode_step(self, tokens, index, cache, memory_kvs):
    """tokens int [B] at position `index` -> (logits [B, vocab], cache); see TextDecoder.decode_step."""
    return self.decoder.decode_step(tokens, index, cache, memory_kvs)


# --- host side -------------------------------------------------------------------------------------------------------

def tokenizer(config):
  return Tokenizer(config.model.vocab)


def make_model(config):
  m = config.model
  return Captioner(tokenizer(config).size, m.dim, m.depth, m.num_heads, m.max_len, tuple(m.encoder_widths))


def prepare_config(config, source):
  """Builds the caption vocabulary from the training split; it is saved with the checkpoint."""
  if not config.model.vocab:
    config.model.vocab = fit_vocab(source, "captioning")
  return config


def input_features(config):
  del config
  return ("image", "text")


def encode_inputs(config, arrays):
  """`text` (str [N]) -> `caption_ids` (int32 [N, max_len + 1]: BOS, words, EOS, padding)."""
  return tokenize_text(arrays, "caption_ids", tokenizer(config), config.model.max_len + 1, bos=True, eos=True)


def decode_outputs(config, out):
  """Adds `text` (str [N]) decoded from the sampler's `text_ids`."""
  out = dict(out)
  out["text"] = np.asarray(tokenizer(config).decode(np.asarray(out["text_ids"])))
  return out


# --- the family contract ---------------------------------------------------------------------------------------------

def init_state(config, rng):
  init_rng, state_rng = jax.random.split(rng)
  d, m, o = config.data, config.model, config.optim
  images = jnp.zeros((1, d.image_size, d.image_size, d.channels))
  variables = make_model(config).init(init_rng, images, jnp.zeros((1, m.max_len), jnp.int32))
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(o, o.lr, config.train.steps),
                           ema=config.ema)


def caption_loss(logits, targets, smoothing):
  """(mean label-smoothed cross-entropy over non-padding targets, token accuracy): logits [B, L, V], targets [B, L]."""
  onehot = optax.smooth_labels(jax.nn.one_hot(targets, logits.shape[-1]), smoothing)
  weights = (targets != PAD).astype(jnp.float32)
  loss = optax.softmax_cross_entropy(logits.astype(jnp.float32), onehot)
  accuracy = (jnp.argmax(logits, -1) == targets).astype(jnp.float32)
  return (loss * weights).sum() / weights.sum(), (accuracy * weights).sum() / weights.sum()


def random_shift(images, rng, max_shift):
  """Each image [B, H, W, C] translated by its own random offset in [-max_shift, max_shift]^2 (edge pixels fill)."""
  b, h, w, _ = images.shape
  offsets = jax.random.randint(rng, (b, 2), -max_shift, max_shift + 1)
  padded = jnp.pad(images, [(0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)], mode="edge")
  crop = lambda im, o: jax.lax.dynamic_slice(im, (max_shift + o[0], max_shift + o[1], 0), (h, w, im.shape[-1]))
  return jax.vmap(crop)(padded, offsets)


def train_step(config, state, batch, rng):
  """One AdamW step of teacher forcing on batch['image'] uint8 [B, R, R, C], batch['caption_ids'] [B, L + 1].

  Images are shifted by up to `model.augment_shift` pixels: without it the captioner memorises which template each
  of the 1,528 training images was given (train token accuracy 100% by step 1,800).
  """
  model = make_model(config)
  images, ids = to_float(batch["image"]), batch["caption_ids"]
  if config.model.augment_shift:
    images = random_shift(images, rng, config.model.augment_shift)

  def loss_fn(params):
    logits = mixed_apply(model, {"params": params}, images, ids[:, :-1], dtype=compute_dtype(config))
    return caption_loss(logits, ids[:, 1:], config.model.label_smoothing)

  (loss, accuracy), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads, state.model_state), {"loss": loss, "token_accuracy": accuracy}


def text_decoder(config):
  """The captioner's TextDecoder, unbound: its fields size the decoding cache."""
  m = config.model
  return TextDecoder(tokenizer(config).size, m.dim, m.depth, m.num_heads, m.max_len)


def generate(config, variables, images, beam_size=None):
  """Caption ids int32 [B, max_len] (EOS then padding) for images float [B, R, R, C] in [-1, 1], by greedy search
  (beam_size 1) or beam search (`model.beam_size` unless given; the best beam is returned)."""
  model = make_model(config)
  beam_size = config.model.beam_size if beam_size is None else beam_size
  memory_kvs = mixed_apply(model, variables, images, method=Captioner.encode, dtype=compute_dtype(config))
  step = lambda *args: mixed_apply(model, variables, *args, method=Captioner.decode_step, dtype=compute_dtype(config))
  return search(text_decoder(config), step, memory_kvs, beam_size, config.model.length_penalty)


def default_conditions(config, n):
  """Eval-split images of digits 0..9 cycling (as grids read them), and their `labels` to return."""
  arrays = eval_arrays(config)
  labels = np.asarray(arrays["label"])
  index = class_cycle(labels, n, 10)
  return {"image": arrays["image"][index]}, {"labels": labels[index].astype(np.int32)}


def sample(config, variables, rng, n, image=None):
  """{'text_ids': int32 [n, max_len], 'images': the images captioned} for `image` (uint8 [k, R, R, C], tiled to n);
  `decode_outputs` adds `text` (str [n]). Deterministic: `rng` is unused (greedy/beam search)."""
  del rng
  d = config.data
  if image is None:
    raise UserError("a captioner describes images: pass image (uint8 [N, R, R, C]) in --cond")
  image = tile(check_condition("image", image, (d.image_size, d.image_size, d.channels),
                               note="resize the images to the size the captioner was trained on"), n)
  return {"text_ids": generate(config, variables, to_float(image)), "images": image}


def evaluate(config, state, num=1000, seed=0, beam_size=None):
  """On the eval split (all of it, or its first `num` examples): `digit_accuracy` (the caption names the image's
  digit and no other), corpus `bleu4` against the example's own caption, and `bleu4_multi` against all 20 renderings
  of its digit by the training templates (the template an example got is random, so one reference undercounts)."""
  del seed
  from mmgen_jax.data.captions import all_captions, named_digits
  from mmgen_jax.metrics.text import corpus_bleu

  arrays = eval_arrays(config)
  images, labels = arrays["image"][:num or None], np.asarray(arrays["label"])[:num or None]
  references = [str(t) for t in np.asarray(arrays["text"])[:num or None]]
  variables = state.ema_variables()
  run = jax.jit(lambda v, x: generate(config, v, to_float(x), beam_size))  # Weights as arguments: no folding.
  ids = batched(lambda image: {"ids": run(variables, image)}, {"image": images})["ids"]
  texts = tokenizer(config).decode(ids)
  norm = lambda t: " ".join(words(t))  # As the tokenizer sees it: lower case, no punctuation.
  return {"digit_accuracy": float(np.mean([named_digits(t) == {int(l)} for t, l in zip(texts, labels)])),
          "bleu4": corpus_bleu(texts, [[norm(r)] for r in references]),
          "bleu4_multi": corpus_bleu(texts, [[norm(r) for r in all_captions(int(l))] for l in labels]),
          "num": len(texts)}
