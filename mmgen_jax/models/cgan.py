"""Conditional GAN: one family, any condition. A pluggable condition encoder (label, text, audio or reference-image
features; `layers/conditional.py`) feeds a generator through a selectable fusion (`layers/fusion.py`), and a
spectrally normalised projection discriminator with its own encoder of the same kind judges (image, condition) pairs.
Hinge loss and an EMA generator by default. Configs: `cgan_digits`, `text2img_digits`, `audio2img_digits`,
`features2img_digits`.

Generator: (z [B, Z], condition) -> images [B, R, R, C] in [-1, 1]. Discriminator: (images, condition) -> logits [B].
The condition input is, per `model.condition`: label int [B]; text_ids int32 [B, L] (captions tokenised on the host
by `encode_inputs`); audio float32 [B, 4000]; image (the reference) in [-1, 1] [B, R, R, C].
Fusion (`model.fusion`): 'early' concatenates the pooled condition with z; 'late' concatenates it with the feature
map at R/2 (two conv layers before the output); 'film' modulates every batch norm from [condition, z] (conditional
batch norm, as in BigGAN); 'cross_attention' adds attention from every pixel to the condition tokens in the blocks up
to 16x16.
DiffAugment (`model.diffaugment`, e.g. 'translation,cutout'; '' for none) transforms everything D sees, real and
fake, differentiably, against D memorising a few-shot training set; `data.augment` (e.g. ['affine_elastic']) instead
transforms the training images themselves, so G learns the transformed set (`cgan_digits_fewshot`).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mmgen_jax.conditions import check_condition, check_labels, tile
from mmgen_jax.data import class_cycle, eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers.augment import (augment_images, check_diff_augment_policy, check_image_augmentations,
                                      diff_augment)
from mmgen_jax.layers.conditional import ProjectionHead, make_condition_encoder
from mmgen_jax.layers.conv import Conv
from mmgen_jax.layers.fusion import ConcatFusion, CrossAttention, FiLM, pool
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import compute_dtype, mixed_apply
from mmgen_jax.layers.text import PAD, UNK, Tokenizer, fit_vocab, tokenize_text
from mmgen_jax.layers.trunks import downsampling_trunk, upsampling_widths
from mmgen_jax.layers.updown import Upsample2x
from mmgen_jax.state import GANState
from mmgen_jax.train.gan_step import adversarial_step, apply_with_state
from mmgen_jax.train.optim import make_optimizer

# model.condition -> the batch feature the encoder reads, and the `sample` keyword a user passes it as.
BATCH_INPUT = {"label": "label", "text": "text_ids", "audio": "audio", "features": "image"}
SAMPLE_KEYWORD = {"label": "labels", "text": "text", "audio": "audio", "features": "image"}
CONFIG_DEFAULTS = {"model.diffaugment": "", "data.augment": []}


def unit_condition(tokens, mask):
  """The pooled condition scaled to unit norm [B, D]. A text or audio encoder's output is ~sqrt(D) larger than a
  fresh label embedding; unnormalised, it dominated z in G and the realism term in D, and G drew one image per
  condition (measured on text2img_digits: recall 0 at step 1000)."""
  c = pool(tokens, mask)
  return c / (jnp.linalg.norm(c, axis=-1, keepdims=True) + 1e-6)


class ConditionalGenerator(nn.Module):
  """(z [B, z_dim], condition [B, ...]) -> images [B, resolution, resolution, channels] in [-1, 1]."""
  condition_encoder: nn.Module
  fusion: str = "film"
  resolution: int = 32
  channels: int = 1
  width: int = 32
  upsample: str = "pixel_shuffle"

  @nn.compact
  def __call__(self, z, condition, train=True):
    tokens, mask = self.condition_encoder(condition, train)
    start, widths = upsampling_widths(self.resolution, self.width)
    c = unit_condition(tokens, mask)
    film = self.fusion == "film"
    # FiLM reads [condition, z], as BigGAN's conditional batch norm does: every block can vary with z.
    film_tokens = jnp.concatenate([c, z], -1)[:, None]
    film_mask = jnp.ones((z.shape[0], 1), bool)

    def norm_and_fuse(x, size):
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9, use_scale=not film, use_bias=not film)(x)
      if film:
        x = FiLM()(x, film_tokens, film_mask)
      elif self.fusion == "cross_attention" and size <= 16:
        x = CrossAttention()(x, tokens, mask)
      elif self.fusion == "late" and size == self.resolution // 2:
        x = ConcatFusion()(x, tokens, mask)
      return nn.relu(x)

    inputs = jnp.concatenate([z, c], -1) if self.fusion == "early" else z
    x = nn.Dense(4 * 4 * start)(inputs).reshape(z.shape[0], 4, 4, start)
    x = norm_and_fuse(x, 4)
    for i, features in enumerate(widths):
      x = norm_and_fuse(Upsample2x(features, self.upsample)(x), 2 ** (i + 3))
    return jnp.tanh(Conv(self.channels, (3, 3))(x))


class ProjectionDiscriminator(nn.Module):
  """(images [B, R, R, C] in [-1, 1], condition [B, ...]) -> logits [B]; every layer spectrally normalised."""
  condition_encoder: nn.Module
  resolution: int = 32
  width: int = 32

  @nn.compact
  def __call__(self, x, condition, train=True):
    h = downsampling_trunk(x, self.resolution, self.width, train, norm="spectral")
    return ProjectionHead()(h, unit_condition(*self.condition_encoder(condition, train)), train)


def tokenizer(config):
  return Tokenizer(config.model.vocab)


def _encoder(config):
  m = config.model
  return make_condition_encoder(m.condition, m.cond_dim, num_classes=m.num_classes,
                                vocab_size=tokenizer(config).size, text_max_len=m.text_max_len,
                                features=m.features)


def make_generator(config):
  m = config.model
  return ConditionalGenerator(_encoder(config), fusion=m.fusion, resolution=config.data.image_size,
                              channels=config.data.channels, width=m.g_width, upsample=m.upsample)


def make_discriminator(config):
  return ProjectionDiscriminator(_encoder(config), resolution=config.data.image_size, width=config.model.d_width)


# --- host side: what the trainer and the sampler call outside jit ---------------------------------------------------

def prepare_config(config, source):
  """Builds the caption vocabulary from the training split (text conditions); it is saved with the checkpoint."""
  if config.model.condition == "text" and not config.model.vocab:
    config.model.vocab = fit_vocab(source, "text conditioning")
  return config


def input_features(config):
  """The dataset features a training batch needs."""
  extra = {"label": ("label",), "text": ("text",), "audio": ("audio",), "features": ()}[config.model.condition]
  return ("image",) + extra


def encode_inputs(config, arrays):
  """Host-side conversion of inputs jit cannot take: `text` (str [N]) -> `text_ids` (int32 [N, text_max_len]); class
  labels (`labels` to sample, a batch's `label`) are checked to lie in 0..num_classes-1."""
  if config.model.condition == "label" and arrays.get("labels") is not None:
    check_labels("labels condition", arrays["labels"], config.model.num_classes)
  if config.model.condition == "label" and arrays.get("label") is not None:  # A training batch.
    check_labels("the dataset's label feature", arrays["label"], config.model.num_classes,
                 fix="set --set model.num_classes to the dataset's number of classes")
  return tokenize_text(arrays, "text_ids", tokenizer(config), config.model.text_max_len)


def default_conditions(config, n):
  """({the model's condition [n, ...] (`text_ids` for text)}, {'labels': int32 [n], the digits they encode}):
  eval-split conditions of classes 0, 1, ..., K-1, 0, ...; the i-th is the (i // K)-th eval example of class i % K,
  so grids read by column."""
  arrays = eval_arrays(config)
  labels = np.asarray(arrays["label"])
  index = class_cycle(labels, n, config.model.num_classes)
  labels = labels[index].astype(np.int32)
  key = SAMPLE_KEYWORD[config.model.condition]
  conditions = encode_inputs(config, {key: labels if key == "labels" else np.asarray(arrays[key])[index]})
  return conditions, ({} if key == "labels" else {"labels": labels})


# --- the family contract --------------------------------------------------------------------------------------------

def init_state(config, rng):
  """A GANState; parameter shapes come from the config."""
  check_diff_augment_policy(config.model.diffaugment)  # Bad options fail here, before anything is written.
  check_image_augmentations(config.data.augment)
  g_rng, d_rng, state_rng = jax.random.split(rng, 3)
  condition = _condition_of(config, _dummy_inputs(config))
  z = jnp.zeros((1, config.model.z_dim))
  x = jnp.zeros((1, config.data.image_size, config.data.image_size, config.data.channels))
  o = config.optim
  return GANState.create(
      rng=state_rng, g_variables=make_generator(config).init(g_rng, z, condition, train=False),
      d_variables=make_discriminator(config).init(d_rng, x, condition, train=False),
      g_tx=make_optimizer(o, o.g_lr), d_tx=make_optimizer(o, o.d_lr), ema=config.ema)


def _condition_spec(config):
  """(trailing shape, dtype) of one condition input of the model's kind, e.g. ((4000,), float32) for audio."""
  d, m = config.data, config.model
  return {"label": ((), np.int32), "text": ((m.text_max_len,), np.int32), "audio": ((m.audio_samples,), np.float32),
          "features": ((d.image_size, d.image_size, d.channels), np.uint8)}[m.condition]


def _dummy_inputs(config):
  """A batch of one all-zero condition input, for initialisation."""
  shape, dtype = _condition_spec(config)
  return {BATCH_INPUT[config.model.condition]: np.zeros((1,) + shape, dtype)}


def _condition_of(config, batch):
  """The encoder's input from a batch dict keyed by BATCH_INPUT names (images converted to [-1, 1])."""
  kind = config.model.condition
  value = batch[BATCH_INPUT[kind]]
  if kind == "features":
    return to_float(value)
  if kind == "audio":
    return jnp.asarray(value, jnp.float32)
  return jnp.asarray(value, jnp.int32)


def word_dropout(ids, rate, rng):
  """int [B, L] token ids with each word (not padding) replaced by UNK with probability `rate` (Iyyer et al. 2015)."""
  drop = jax.random.bernoulli(rng, rate, ids.shape) & (ids != PAD)
  return jnp.where(drop, UNK, ids)


def train_step(config, state, batch, rng):
  """One D and one G update on batch['image'] (uint8 [B, R, R, C]) and the batch's condition input.

  Fakes are generated for the batch's own conditions, so both players see the data's condition distribution.
  Captions get word dropout (`model.word_dropout`: words replaced by the unknown-word id), so wordings never seen
  in training, whose extra words are unknown, still carry the digit (measured on novel wordings: 49% of samples
  right without it, 98% with 0.3).
  """
  generator, discriminator = make_generator(config), make_discriminator(config)
  dtype = compute_dtype(config)
  images = augment_images(jax.random.fold_in(rng, 2), batch["image"], check_image_augmentations(config.data.augment))
  real, condition = to_float(images), _condition_of(config, batch)
  z_rng, gp_rng, drop_rng = jax.random.split(rng, 3)
  augment_policy = check_diff_augment_policy(config.model.diffaugment)
  aug_rng = jax.random.fold_in(rng, 1)  # Not a fourth split: runs without DiffAugment keep their random streams.
  if config.model.condition == "text" and config.model.word_dropout:
    condition = word_dropout(condition, config.model.word_dropout, drop_rng)
  z = jax.random.normal(z_rng, (real.shape[0], config.model.z_dim))

  def generate(g_params):
    return apply_with_state(generator, g_params, state.g_model_state, z, condition, train=True, dtype=dtype)

  def discriminate(d_params, model_state, x, condition, train):
    if augment_policy:
      x = diff_augment(aug_rng, x, augment_policy)
    return apply_with_state(discriminator, d_params, model_state, x, condition, train=train, dtype=dtype)

  return adversarial_step(state, real, generate, discriminate, condition, gp_rng, loss_name=config.loss.name,
                          gp_weight=config.loss.gp_weight)


def sample(config, variables, rng, n, labels=None, text_ids=None, audio=None, image=None):
  """{'images': uint8 [n, R, R, C]} for the model's condition (+ 'labels' int32 [n] for label models), tiled to n:

  labels int [k] (label models), text_ids int32 [k, L] (text models; `Sampler.sample(text=[...])` tokenises),
  audio float32 [k, 4000] at 8 kHz (audio models), image uint8 [k, R, R, C] reference images (feature models).
  """
  kind = config.model.condition
  given = {"label": labels, "text": text_ids, "audio": audio, "features": image}
  others = [SAMPLE_KEYWORD[k] for k, v in given.items() if v is not None and k != kind]
  if others or given[kind] is None:
    raise UserError(f"this {config.family} model is conditioned on {kind}"
                    f"{', not on ' + ', '.join(others) if others else ''}: pass {SAMPLE_KEYWORD[kind]!r} "
                    f"(--labels for labels, --cond FILE.npz for the others)")
  shape, dtype = _condition_spec(config)
  value = tile(check_condition(SAMPLE_KEYWORD[kind], given[kind], shape, dtype=np.dtype(dtype).name,
                               note="float32 clips of 0.5 s at 8 kHz" if kind == "audio" else ""), n)
  z = jax.random.normal(rng, (n, config.model.z_dim))
  images = mixed_apply(make_generator(config), variables, z, _condition_of(config, {BATCH_INPUT[kind]: value}),
                       train=False, dtype=compute_dtype(config))
  out = {"images": to_uint8(images)}
  if kind == "label":
    out["labels"] = jnp.asarray(value, jnp.int32)
  return out


def evaluate(config, state, num=1000, seed=0):
  """Classifier-feature FID/KID/precision/recall/score and `class_accuracy` (the fraction of samples the domain
  classifier assigns to the digit of their condition), for conditions from the eval split (classes cycling)."""
  from mmgen_jax.metrics.evaluate import image_generator_metrics

  variables = state.ema_variables()
  batch = 500
  conditions, references = default_conditions(config, batch)
  labels = {**conditions, **references}["labels"]  # The digit each condition encodes.
  # Weights as arguments, not closure constants: XLA would constant-fold through them (slower compiles).
  jitted = jax.jit(lambda v, rng, c: sample(config, v, rng, batch, **c))

  def sample_fn(rng, n):
    assert n == batch, n
    return {**jitted(variables, rng, conditions), "labels": labels}

  return image_generator_metrics(sample_fn, config, num, seed)
