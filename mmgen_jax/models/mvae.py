"""Multimodal VAE over the image, caption and DTMF clip of each `digits` example, for cross-modal generation
(image -> text, text -> image, audio -> image, image -> audio, or any subset -> all). Config: `mvae_digits`.

One shared latent z [B, latent_dim]. Each modality has an expert q_m(z | x_m) = N(mean_m, diag(exp(logvar_m))):
a CNN for images, the caption transformer (`layers/text.py`) and the log-mel CNN (`layers/audio.py`). The
posterior of any subset S of modalities is their **product of experts** with the prior expert N(0, I)
(Wu & Goodman 2018): precision-weighted, closed form, so one set of encoders serves all 2^3 subsets, a missing
modality simply drops out of the product, and agreeing modalities sharpen the posterior. (A mixture of experts,
Shi et al. 2019, needs importance sampling over the components and cannot sharpen with more evidence.)

Decoders: images by Bernoulli logits on dynamically binarised pixels (as `vae`), captions by a transformer decoder
reading z as memory tokens (`layers/text_decoder.py`, cross-entropy), clips by a Gaussian (unit variance) over the
standardised log-mel [frames, mels]; clips are rendered back to audio by additive synthesis.

Objective: the ELBO of the joint subset plus those of the three single-modality subsets (the sub-sampling of Wu &
Goodman), where every subset's posterior must reconstruct **all** modalities (as in MoPoE's subset terms, Sutter
et al. 2021): that is what makes a caption alone place z where the image decoder draws its digit. Per-modality
weights `model.weights` balance 1,024 pixels against ~8 caption tokens (MVAE's lambda).
"""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import dtmf, eval_arrays
from mmgen_jax.errors import UserError
from mmgen_jax.layers import likelihoods
from mmgen_jax.layers.audio import AudioEncoder, additive_synthesis, num_frames, standardized_log_mel
from mmgen_jax.layers.experts import product_of_experts
from mmgen_jax.layers.fusion import pool
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import cast_floating, compute_dtype, mixed_apply
from mmgen_jax.layers.text import PAD, TextEncoder, Tokenizer, fit_vocab, tokenize_text
from mmgen_jax.layers.text_decoder import TextDecoder, search
from mmgen_jax.layers.vision import ConvDecoder, ConvEncoder, bottleneck_size
from mmgen_jax.state import TrainState
from mmgen_jax.train.optim import make_optimizer

MODALITIES = ("image", "text", "audio")
# The batch key each modality's expert reads.
INPUT_KEY = {"image": "image", "text": "caption_ids", "audio": "audio"}
N_FFT, HOP, N_MELS = 256, 128, 64


class MultimodalVAE(nn.Module):
  """Experts, decoders and their shapes; see the methods."""
  vocab_size: int
  latent_dim: int = 32
  widths: tuple = (16, 32, 64)
  text_dim: int = 64
  max_len: int = 12
  memory_tokens: int = 4
  resolution: int = 32
  audio_samples: int = 4000
  sample_rate: int = 8000

  def setup(self):
    start = bottleneck_size(self.resolution, len(self.widths))
    self.image_encoder = ConvEncoder(self.widths, self.widths[-1], max_cells=start * start)
    self.text_encoder = TextEncoder(self.vocab_size, self.text_dim, max_len=self.max_len + 1)
    self.audio_encoder = AudioEncoder(self.sample_rate, N_FFT, HOP, N_MELS, dim=self.text_dim)
    self.posterior = {m: nn.Dense(2 * self.latent_dim, name=f"{m}_posterior") for m in MODALITIES}
    self.image_decoder = ConvDecoder(tuple(reversed(self.widths)), 1, start=start)
    self.text_memory = nn.Dense(self.memory_tokens * self.text_dim)
    self.text_decoder = TextDecoder(self.vocab_size, self.text_dim, depth=2, num_heads=4, max_len=self.max_len)
    self.frames = num_frames(self.audio_samples, N_FFT, HOP)
    self.audio_hidden = nn.Dense(256)
    self.audio_out = nn.Dense(self.frames * N_MELS)

  def experts(self, inputs):
    """{modality: (mean, logvar) [B, L]} for the modalities in inputs: image float [B, R, R, 1] in [-1, 1],
    caption_ids int [B, max_len + 1], audio float32 [B, audio_samples]."""
    out = {}
    for m in MODALITIES:
      if INPUT_KEY[m] not in inputs:
        continue
      x = inputs[INPUT_KEY[m]]
      if m == "image":
        tokens, _ = self.image_encoder(x)
        h = tokens.reshape(x.shape[0], -1)
      else:
        h = pool(*(self.text_encoder(x) if m == "text" else self.audio_encoder(x)))
      mean, logvar = jnp.split(self.posterior[m](h), 2, axis=-1)
      out[m] = (mean, jnp.clip(logvar, -12.0, 8.0))
    return out

  def decode_image(self, z):
    """z [N, L] -> Bernoulli logits [N, R, R, 1]."""
    return self.image_decoder(z)

  def decode_audio(self, z):
    """z [N, L] -> mean standardised log-mel [N, frames, mels]."""
    return self.audio_out(nn.gelu(self.audio_hidden(z))).reshape(z.shape[0], self.frames, N_MELS)

  def text_memory_kvs(self, z):
    """z [N, L] -> the text decoder's cross-attention keys/values of z's memory tokens."""
    memory = self.text_memory(z).reshape(z.shape[0], self.memory_tokens, self.text_dim)
    return self.text_decoder.memory_kv(memory)

  def text_logits(self, z, ids):
    """Teacher forcing: z [N, L], ids [N, max_len] (BOS first) -> next-token logits [N, max_len, vocab]."""
    return self.text_decoder(ids, self.text_memory_kvs(z))

  def text_step(self, tokens, index, cache, memory_kvs):
    return self.text_decoder.decode_step(tokens, index, cache, memory_kvs)

  def __call__(self, inputs):
    """For initialisation: every parameter is touched."""
    experts = self.experts(inputs)
    mean, _ = product_of_experts(experts, {m: jnp.ones(inputs["image"].shape[0], bool) for m in experts})
    return (self.decode_image(mean), self.decode_audio(mean),
            self.text_logits(mean, inputs["caption_ids"][:, :-1]))


# --- host side -------------------------------------------------------------------------------------------------------

def tokenizer(config):
  return Tokenizer(config.model.vocab)


def text_decoder(config):
  """The caption decoder, unbound: its fields size the decoding cache."""
  return TextDecoder(tokenizer(config).size, config.model.text_dim, 2, 4, config.model.max_len)


def make_model(config):
  m, d = config.model, config.data
  return MultimodalVAE(tokenizer(config).size, m.latent_dim, tuple(m.widths), m.text_dim, m.max_len,
                       m.memory_tokens, d.image_size, m.audio_samples)


def prepare_config(config, source):
  """Builds the caption vocabulary from the training split; it is saved with the checkpoint."""
  if not config.model.vocab:
    config.model.vocab = fit_vocab(source, "the multimodal VAE", features=("image", "text", "audio"))
  return config


def encode_inputs(config, arrays):
  """`text` (str [N]) -> `caption_ids` (int32 [N, max_len + 1]: BOS, words, EOS, padding)."""
  return tokenize_text(arrays, "caption_ids", tokenizer(config), config.model.max_len + 1, bos=True, eos=True)


def decode_outputs(config, out):
  """Adds `text` (str [N]) decoded from the sampler's `text_ids`."""
  return {**out, "text": np.asarray(tokenizer(config).decode(np.asarray(out["text_ids"])))}


def input_features(config):
  del config
  return ("image", "text", "audio")


# --- the family contract ---------------------------------------------------------------------------------------------

def _dummy_inputs(config, n=1):
  d, m = config.data, config.model
  return {"image": jnp.zeros((n, d.image_size, d.image_size, d.channels)),
          "caption_ids": jnp.zeros((n, m.max_len + 1), jnp.int32), "audio": jnp.zeros((n, m.audio_samples))}


def init_state(config, rng):
  if config.data.channels != 1:
    raise UserError(f"the multimodal VAE models grey images (data.channels=1), got {config.data.channels}")
  init_rng, state_rng = jax.random.split(rng)
  variables = make_model(config).init(init_rng, _dummy_inputs(config))
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(config.optim, config.optim.lr),
                           ema=config.ema)


def _model_inputs(batch):
  """The experts' inputs from a batch (uint8 images to [-1, 1]), for the modalities present."""
  out = {}
  if "image" in batch:
    out["image"] = to_float(batch["image"])
  if "caption_ids" in batch:
    out["caption_ids"] = jnp.asarray(batch["caption_ids"], jnp.int32)
  if "audio" in batch:
    out["audio"] = jnp.asarray(batch["audio"], jnp.float32)
  return out


def log_likelihoods(apply, z, batch, binarised):
  """{modality: log p(x_m | z) [N]} for z [N, L] and the batch's targets (tiled to N); apply(*args, method) applies
  the model (`mixed_apply` bound to it, its variables and the compute dtype)."""
  n, b = z.shape[0], batch["image"].shape[0]
  tile = lambda x: jnp.tile(x, (n // b,) + (1,) * (x.ndim - 1))
  logits = apply(z, method=MultimodalVAE.decode_image)
  image = jnp.sum(likelihoods.bernoulli_log_prob(logits, tile(binarised)), axis=(1, 2, 3))
  ids = tile(batch["caption_ids"])
  text_logits = apply(z, ids[:, :-1], method=MultimodalVAE.text_logits)
  targets = ids[:, 1:]
  text = -jnp.sum(optax.softmax_cross_entropy_with_integer_labels(text_logits, targets) * (targets != PAD), axis=1)
  target_mel = tile(standardized_log_mel(batch["audio"], dtmf.SAMPLE_RATE, N_FFT, HOP, N_MELS))
  mel = apply(z, method=MultimodalVAE.decode_audio)
  audio = jnp.sum(likelihoods.gaussian_log_prob(mel, 0.0, target_mel), axis=(1, 2))
  return {"image": image, "text": text, "audio": audio}


SUBSETS = (("image", "text", "audio"), ("image",), ("text",), ("audio",))


def train_step(config, state, batch, rng):
  """One Adam step on the sum over SUBSETS of ELBO(subset) = E_q_S[sum_m w_m log p(x_m|z)] - beta KL(q_S || p)."""
  m = config.model
  model = make_model(config)
  bin_rng, z_rng = jax.random.split(rng)
  inputs = _model_inputs(batch)
  b = batch["image"].shape[0]
  binarised = jax.random.bernoulli(bin_rng, batch["image"].astype(jnp.float32) / 255.0).astype(jnp.float32)
  weights = dict(zip(MODALITIES, m.weights))

  def loss_fn(params):
    dtype = compute_dtype(config)  # Parameters cast once: the applies below then cast nothing.
    apply = functools.partial(mixed_apply, model, {"params": cast_floating(params, dtype)}, dtype=dtype)
    experts = apply(inputs, method=MultimodalVAE.experts)
    means, logvars = [], []
    for subset in SUBSETS:
      mean, logvar = product_of_experts(experts, {k: jnp.full(b, k in subset) for k in MODALITIES})
      means.append(mean)
      logvars.append(logvar)
    mean, logvar = jnp.concatenate(means), jnp.concatenate(logvars)  # [len(SUBSETS) * B, L]
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(z_rng, mean.shape)
    log_p = log_likelihoods(apply, z, batch, binarised)
    kl = likelihoods.gaussian_kl(mean, logvar)
    elbo = sum(weights[k] * log_p[k] for k in MODALITIES) - m.beta * kl
    loss = -jnp.sum(jnp.mean(elbo.reshape(len(SUBSETS), b), axis=1))
    per_subset = {f"nll_{k}": -jnp.mean(log_p[k].reshape(len(SUBSETS), b), axis=1) for k in MODALITIES}
    metrics = {"kl": jnp.mean(kl)}
    for k in MODALITIES:  # The joint posterior's reconstruction and the cross-modal ones, per target modality.
      metrics[f"nll_{k}_joint"] = per_subset[f"nll_{k}"][0]
      metrics[f"nll_{k}_cross"] = jnp.mean(jnp.asarray([per_subset[f"nll_{k}"][1 + i]
                                                        for i, s in enumerate(SUBSETS[1:]) if k not in s]))
    return loss, metrics

  (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads, state.model_state), {"loss": loss, **metrics}


def _check_inputs(config, given):
  d, m = config.data, config.model
  expected = {"image": ((d.image_size, d.image_size, d.channels), "uint8", ""),
              "caption_ids": ((m.max_len + 1,), "int32", "token ids; pass `text` strings to have them made"),
              "audio": ((m.audio_samples,), "float32", "clips of 0.5 s at 8 kHz")}
  return {k: check_condition(k, v, expected[k][0], dtype=expected[k][1], note=expected[k][2])
          for k, v in given.items()}


def generate(config, variables, z):
  """{'images': uint8 [N, R, R, 1] (Bernoulli means), 'text_ids': int32 [N, max_len] (greedy), 'log_mel' [N, frames,
  mels], 'audio': float32 [N, audio_samples] (additive synthesis)} from z [N, L]."""
  apply = functools.partial(mixed_apply, make_model(config), variables, dtype=compute_dtype(config))
  logits = apply(z, method=MultimodalVAE.decode_image)
  mel = apply(z, method=MultimodalVAE.decode_audio)
  memory_kvs = apply(z, method=MultimodalVAE.text_memory_kvs)
  step = lambda *args: apply(*args, method=MultimodalVAE.text_step)
  text_ids = search(text_decoder(config), step, memory_kvs)
  return {"images": to_uint8(likelihoods.mean_image("bernoulli", logits)), "text_ids": text_ids, "log_mel": mel,
          "audio": additive_synthesis(mel, dtmf.SAMPLE_RATE, config.model.audio_samples, HOP)}


def sample(config, variables, rng, n, image=None, caption_ids=None, audio=None):
  """All three modalities (see `generate`) for n latents drawn from the product of the given modalities' experts
  (tiled to n; none given: the prior). Conditions: image uint8 [k, R, R, 1], caption_ids int32 [k, max_len + 1]
  (`Sampler.sample(text=[...])` tokenises), audio float32 [k, 4000] at 8 kHz."""
  given = {k: v for k, v in (("image", image), ("caption_ids", caption_ids), ("audio", audio)) if v is not None}
  return sample_given(config, variables, rng, n, given)


def sample_given(config, variables, rng, n, given, mean=False):
  """`sample` for the conditions in the dict `given`; `mean` (static) decodes the posterior mean instead of a draw."""
  model = make_model(config)
  if not given:
    z = jax.random.normal(rng, (n, config.model.latent_dim))
  else:
    given = {k: tile(v, n) for k, v in _check_inputs(config, given).items()}
    experts = mixed_apply(model, variables, _model_inputs(given), method=MultimodalVAE.experts,
                          dtype=compute_dtype(config))
    mu, logvar = product_of_experts(experts, {k: jnp.ones(n, bool) for k in experts})
    z = mu if mean else mu + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape)
  return generate(config, variables, z)


def cross_modal_coherence(config, variables, num=None, seed=0):
  """Cross-modal accuracy on the eval split: does what one modality generates show the digit of the input?

  text->image, audio->image: the digits classifier's call on the generated image (z drawn from the posterior);
  image->text: the greedy caption (posterior mean) names the digit and no other; image->audio: the DTMF decoder
  (`data/dtmf.detect_keys`) dials the digit from the generated log-mel.
  """
  from mmgen_jax.data.captions import named_digits
  from mmgen_jax.metrics.classifier import FeatureExtractor

  arrays = eval_arrays(config)
  num = min(num or len(arrays["label"]), len(arrays["label"]))
  labels = np.asarray(arrays["label"])[:num]
  conditions = encode_inputs(config, {"image": arrays["image"][:num], "text": arrays["text"][:num],
                                      "audio": arrays["audio"][:num]})
  # Weights as arguments, not closure constants: XLA would constant-fold through them (slower compiles).
  jitted = jax.jit(lambda v, rng, c, mean: sample_given(config, v, rng, num, c, mean), static_argnums=3)
  run = lambda rng, c, mean: jitted(variables, rng, c, mean)  # noqa: E731
  classify = FeatureExtractor("digits", progress=False)
  rng = jax.random.PRNGKey(seed)
  out = {}
  for source in ("caption_ids", "audio"):
    images = run(rng, {source: conditions[source]}, False)["images"]
    name = "text" if source == "caption_ids" else source
    out[f"{name}_to_image"] = float(np.mean(np.argmax(classify(np.asarray(images))[1], -1) == labels))
  from_image = decode_outputs(config, run(rng, {"image": conditions["image"]}, True))
  out["image_to_text"] = float(np.mean([named_digits(t) == {int(l)} for t, l in zip(from_image["text"], labels)]))
  out["image_to_audio"] = float(np.mean(dtmf.detect_keys(np.asarray(from_image["log_mel"])) == labels))
  out["num"] = num
  return out


def evaluate(config, state, num=1000, seed=0):
  """Cross-modal coherence (see `cross_modal_coherence`) and its mean over the four directions."""
  out = cross_modal_coherence(config, state.ema_variables(), num, seed)
  out["coherence"] = float(np.mean([out[k] for k in ("text_to_image", "audio_to_image", "image_to_text",
                                                      "image_to_audio")]))
  return out
