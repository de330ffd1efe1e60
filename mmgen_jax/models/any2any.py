"""Any-to-any generation over N modalities with one multimodal VAE: any subset of image, caption, speech, video (and
DTMF tones) infers a shared latent, and every modality is decoded from it. Config: `any2any_digits`.

Modalities (`model.modalities`, any subset of MODALITIES; each a pluggable expert q_m(z | x_m) and decoder p(x_m | z)):
- `image`  uint8 [R, R, 1]: CNN expert; Bernoulli decoder on dynamically binarised pixels (as `vae`).
- `text`   caption ids: transformer expert (`layers/text.py`); transformer decoder reading z as memory tokens.
- `speech` float32 [16000] at 16 kHz: log-mel CNN expert (`layers/audio.AudioEncoder`); a dense decoder draws the
  word from z alone as a log-mel spectrogram (every `model.speech_frame_stride`-th frame, interpolated between)
  under a unit Gaussian: what rises above each band's noise floor,
  centred in time and stretched to one length (`speech_target`, `model.speech_word_span` frames), so the noise, the
  onset and the talker's rate, which no other modality can tell, are not its to predict; fast Griffin-Lim
  (`layers/audio.griffin_lim`) makes the waveform (the word in the middle of the clip).
  With `model.speech_word_form` the decoder also reads the clip's word form ("seven", "number seven", "it's a seven",
  ...: the dataset's `word_form`), drawn from the training frequencies when sampling: a decoder that draws an average
  then averages one form's clips, not all forms' (the average over forms of "five" is heard as "nine";
  `benchmarks/speech_target_ceiling.py`).
- `video`  uint8 [T, R, R, 1]: a sprite and its trajectory (`layers/sprites.py`): the expert reads a window around
  each frame's ink and the windows' positions; the decoder draws a 16x16 sprite from z and T positions from z and w
  and composites it (Bernoulli over the frames). A frames-as-channels CNN, measured first, drew blurred blobs.
- `dtmf`   float32 [4000] at 8 kHz: the `digits` keypad tones (the toy audio of `mvae`), kept as an option.

Latents: a shared z [L] and, per modality, a private w_m [P] (`model.private_dim`; MMVAE+-style, Palumbo et al.
2023): what only one modality shows (a clip's motion) lives in w_m, so a caption need not predict it and a
decoder given z from a caption draws a sharp digit with a drawn motion, not the blur of all of them. (The dense
speech decoder reads no w: its target leaves out the noise and the onset; the voice it draws is the mean of the
voices, which is where speech is still weakest.) The posterior of z given a subset S: the **product of experts**
of S's experts and the prior expert N(0, I) (Wu & Goodman 2018; one set of encoders serves all 2^N subsets).
Objective: the ELBO of the joint subset plus those of every single modality, each reconstructing **all**
modalities (MoPoE's subset terms, Sutter et al. 2021), so that one modality alone places z where every decoder
draws its digit. `model.weights` balance the modalities' likelihoods. The experts of `model.labelled_experts` also
read the dataset's label (cross-entropy weighted by `model.label_weight`): from the features their posterior is
read from, a linear readout each (`model.label_from="features"`), or from the mean of z each gives, one linear
readout for them all (`"latent"`): the digit then lies along the same directions of z whichever modality placed
it. The ELBO teaches an expert only through the decoders, and speech's, so taught, read unseen voices less surely
than a classifier of the same network and differently from seed to seed (docs/results/any2any.md).

The prior: `model.prior_components` = 0 is N(0, I); K > 0 is a learnt mixture of K diagonal Gaussians, trained
with the rest (the KL term is then the one-sample estimate log q(z|x) - log p(z)). Joint samples from N(0, I) fall
between the digit clusters the subset terms carve (mvae's 19% three-way coherence); a mixture puts prior mass
where posteriors are. Samples given no modality come from a second, **fitted prior** when
`model.fitted_prior_components` > 0: a mixture fitted by EM in the train step to the joint posterior's latest
codes (`generation_prior`); the ELBO still trains against the learnt one. `benchmarks/any_to_any.py` measures
joint coherence from each. Samples given some modalities may take that prior as the prior expert of the product in
place of N(0, I) (`model.prior_expert="generation"`, `conditional_codes`): a broad posterior, speech's, then draws
where whole examples' codes are.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mmgen_jax.conditions import check_condition, tile
from mmgen_jax.data import dtmf, eval_arrays, speech
from mmgen_jax.errors import UserError
from mmgen_jax.layers import code_density, likelihoods
from mmgen_jax.layers.augment import random_roll, random_spectral_masks
from mmgen_jax.layers.experts import (diagonal_log_prob, prior_log_prob, product_of_experts, product_with_mixture,
                                      sample_mixtures, sample_prior)
from mmgen_jax.layers.audio import (AudioEncoder, additive_synthesis, griffin_lim, log_mel_spectrogram,
                                    mel_to_magnitude, num_frames, standardized_log_mel, word_features)
from mmgen_jax.layers.fusion import pool
from mmgen_jax.layers.pixels import to_float, to_uint8
from mmgen_jax.layers.precision import cast_floating, compute_dtype, mixed_apply
from mmgen_jax.layers.sprites import SpriteVideoDecoder, SpriteVideoEncoder, shift_matrix
from mmgen_jax.layers.text import PAD, TextEncoder, Tokenizer, fit_vocab, tokenize_text
from mmgen_jax.layers.text_decoder import TextDecoder, search
from mmgen_jax.layers.vision import ConvDecoder, ConvEncoder, bottleneck_size
from mmgen_jax.state import TrainState
from mmgen_jax.train.optim import make_optimizer

MODALITIES = ("image", "text", "speech", "video", "dtmf")
# The batch key each modality's expert reads (and the sampler's condition keyword).
INPUT_KEY = {"image": "image", "text": "caption_ids", "speech": "speech", "video": "video", "dtmf": "dtmf"}
SPEECH_FFT, SPEECH_HOP, SPEECH_MELS = 512, 128, 64
SPEECH_RANGE, SPEECH_SCALE = 12.0, 3.0  # 12 nats (52 dB) below the clip's peak, divided by 3: targets in [-4, 0].
NUM_WORD_FORMS = len(speech.WORD_FORMS)
# `data.augment`: "speech_shift" rolls each training clip the speech expert reads by up to SPEECH_SHIFT samples
# (0.2 s) either way. The expert then reads the word wherever it falls: without it, it read the training clips
# right and clips of unseen voices far less often (docs/results/any2any.md). "speech_masks" takes two random mel
# bands and two moments of up to 50 ms out of each (`layers/augment.random_spectral_masks`, SpecAugment): the gap
# between training and unseen voices narrowed from 9-14 to 5-7 points (docs/results/any2any.md).
AUGMENTATIONS = ("speech_shift", "speech_masks")
SPEECH_SHIFT = speech.SAMPLE_RATE // 5
DTMF_FFT, DTMF_HOP, DTMF_MELS = 256, 128, 64
# Modalities whose decoders read their content from z alone (the private latent only places or colours it): their
# private latents come from their own experts in every subset, as no shortcut through them exists.
CONTENT_FROM_Z_ONLY = ("video", "speech")


class DenseSpeechDecoder(nn.Module):
  """content [N, C] -> scaled log-mel [N, frames, mels] (see `speech_target`: the word above the noise floor,
  centred), by two hidden layers and one output per frame and mel bin; silence (-SPEECH_RANGE / SPEECH_SCALE) is
  the starting output. Against the convolutional `SpeechDecoder` on the same frozen latents and target
  (`benchmarks/speech_decoder_study.py`): the judge heard image -> speech at 73% from this decoder and at chance
  (10%) from that one, whose output hardly varied with z."""
  frames: int
  mels: int = SPEECH_MELS
  hidden: int = 1024
  # Output frames every `frame_stride` frames, linearly interpolated in between: the output layer, most of the
  # decoder's weights and time, shrinks by the stride (its spectrograms are smooth in time anyway: a third of the
  # targets' variance over time, docs/results/any2any.md).
  frame_stride: int = 1

  @nn.compact
  def __call__(self, content):
    h = nn.gelu(nn.Dense(self.hidden)(content))
    h = nn.gelu(nn.Dense(self.hidden)(h))
    coarse = -(-self.frames // self.frame_stride)
    out = nn.Dense(coarse * self.mels)(h).reshape(content.shape[0], coarse, self.mels)
    if self.frame_stride > 1:
      out = jax.image.resize(out, (out.shape[0], self.frames, self.mels), "linear")
    return out - SPEECH_RANGE / SPEECH_SCALE


class SpeechDecoder(nn.Module):
  """The decoder of checkpoints from before `DenseSpeechDecoder` (`model.speech_decoder="shifted"`; its target is
  the log-mel relative to the clip's peak, noise and onset included).
  (content [N, C], delivery [N, P]) -> scaled log-mel [N, frames, mels]. The content alone draws a word's
  spectrogram (Dense to 16 time steps, three x2 upsamplings of repeat + 5-tap convolution, a per-frame projection
  to the mel bins); the delivery code (a private latent) only moves it in time (a shift of up to +-`max_shift`
  frames, by interpolation) and colours its spectrum (a gain and a bias per mel band): it can say when and in what
  voice colour, not which word."""
  frames: int
  mels: int = SPEECH_MELS
  width: int = 64
  max_shift: float = 30.0
  gain: bool = True

  @nn.compact
  def __call__(self, content, delivery):
    x = nn.gelu(nn.Dense(16 * self.width)(content)).reshape(content.shape[0], 16, self.width)
    for _ in range(3):
      x = jnp.repeat(x, 2, axis=1)
      x = nn.gelu(nn.LayerNorm()(nn.Conv(self.width, (5,))(x)))
    floor = -SPEECH_RANGE / SPEECH_SCALE  # Silence: shifting brings in silence, not the peak level 0.
    template = nn.Dense(self.mels)(x)[:, :self.frames] - floor  # [N, frames, mels], silence at 0.
    shift = self.max_shift * jnp.tanh(nn.Dense(1)(delivery))[:, 0]  # [N] frames.
    moved = jnp.einsum("nts,nsm->ntm", shift_matrix(shift, self.frames, self.frames).astype(template.dtype),
                       template)
    if self.gain:
      moved = moved * (1.0 + 0.5 * jnp.tanh(nn.Dense(self.mels)(delivery))[:, None, :])
    return moved + floor + nn.Dense(self.mels)(delivery)[:, None, :]


def speech_encoder(wide, dim):
  """The speech expert's network (`layers/audio.AudioEncoder`, tokens of `dim`): `wide` has 10 ms hops, 5-tap
  convolutions and two halvings (a view of ~0.5 s, a word's length); otherwise a view of 7 frames of 16 ms
  (measured: 40% speech -> image accuracy on training voices at speech weight 0.5)."""
  if wide:
    return AudioEncoder(speech.SAMPLE_RATE, SPEECH_FFT, 160, SPEECH_MELS, depth=4, dim=dim, kernel=5, pool_every=2)
  return AudioEncoder(speech.SAMPLE_RATE, SPEECH_FFT, 2 * SPEECH_HOP, SPEECH_MELS, dim=dim)


class AnyToAnyVAE(nn.Module):
  """Experts, decoders and the prior of the configured modalities; see the methods."""
  modalities: tuple
  vocab_size: int
  latent_dim: int = 32
  widths: tuple = (16, 32, 64)
  text_dim: int = 64
  max_len: int = 12
  memory_tokens: int = 4
  resolution: int = 32
  video_frames: int = 4
  prior_components: int = 0
  private_dim: int = 0
  speech_wide: bool = True
  text_depth: int = 2  # Transformer blocks of the caption expert and of the caption decoder.
  speech_decoder: str = "dense"  # "dense" (DenseSpeechDecoder) or "shifted" (SpeechDecoder, older checkpoints).
  speech_hidden: int = 1024
  speech_frame_stride: int = 1  # The dense speech decoder's output frame stride (DenseSpeechDecoder.frame_stride).
  speech_word_form: bool = False  # The speech decoder also reads a one-hot word form, after z and w in its code.
  labelled_experts: tuple = ()  # Experts that also classify the label (`experts_and_labels`; from `label_from`).
  num_labels: int = 10
  label_from: str = "features"  # "features": a readout per expert of its features; "latent": one of z's means.

  def setup(self):
    start = bottleneck_size(self.resolution, len(self.widths))
    cells = start * start
    has = set(self.modalities)
    # Each expert gives (mean, logvar) of the shared latent and of its modality's private latent, concatenated.
    width = self.latent_dim + self.private_dim
    self.posterior = {m: nn.Dense(2 * width, name=f"{m}_posterior") for m in self.modalities}
    if self.label_from == "latent":  # One readout of every labelled expert's mean of z: the digits' regions shared.
      self.latent_label = nn.Dense(self.num_labels)
    else:
      self.label_readout = {m: nn.Dense(self.num_labels, name=f"{m}_label") for m in self.labelled_experts}
    if "image" in has:
      self.image_encoder = ConvEncoder(self.widths, self.widths[-1], max_cells=cells)
      self.image_decoder = ConvDecoder(tuple(reversed(self.widths)), 1, start=start)
    if "video" in has:
      self.video_encoder = SpriteVideoEncoder(self.widths, dim=self.widths[-1])
      self.video_decoder = SpriteVideoDecoder(tuple(reversed(self.widths)), self.video_frames, self.resolution)
    if "text" in has:
      self.text_encoder = TextEncoder(self.vocab_size, self.text_dim, depth=self.text_depth, max_len=self.max_len + 1)
      self.text_memory = nn.Dense(self.memory_tokens * self.text_dim)
      self.text_decoder = TextDecoder(self.vocab_size, self.text_dim, depth=self.text_depth, num_heads=4,
                                      max_len=self.max_len)
    if "speech" in has:
      self.speech_encoder = speech_encoder(self.speech_wide, self.text_dim)
      frames = num_frames(speech.CLIP_SAMPLES, SPEECH_FFT, SPEECH_HOP)
      if self.speech_decoder == "dense":
        self.speech_decoder_net = DenseSpeechDecoder(frames, hidden=self.speech_hidden,
                                                     frame_stride=self.speech_frame_stride, name="speech_decoder")
      else:
        self.speech_decoder_net = SpeechDecoder(frames, gain=self.speech_wide, name="speech_decoder")
    if "dtmf" in has:
      self.dtmf_encoder = AudioEncoder(dtmf.SAMPLE_RATE, DTMF_FFT, DTMF_HOP, DTMF_MELS, dim=self.text_dim)
      self.dtmf_hidden = nn.Dense(256)
      self.dtmf_out = nn.Dense(num_frames(dtmf.CLIP_SAMPLES, DTMF_FFT, DTMF_HOP) * DTMF_MELS)
    if self.prior_components:
      k, l = self.prior_components, self.latent_dim
      self.prior_means = self.param("prior_means", nn.initializers.normal(1.0), (k, l))
      self.prior_logvars = self.param("prior_logvars", nn.initializers.zeros, (k, l))
      self.prior_logits = self.param("prior_logits", nn.initializers.zeros, (k,))

  def experts(self, inputs):
    """{modality: (mean, logvar) [B, L + P]} (shared latent first, then the private one) for the modalities whose
    INPUT_KEY is in inputs (image, video float in [-1, 1]: [B, R, R, 1], [B, T, R, R, 1]; caption_ids int
    [B, max_len + 1]; speech, dtmf float32 waveforms)."""
    return self.experts_and_labels(inputs)[0]

  def experts_and_labels(self, inputs):
    """(`experts`, {modality: label logits [B, num_labels]} for the `labelled_experts` among them): a linear readout
    of the digit from the features the expert's posterior is read from (`label_from="features"`), or one readout,
    shared by the experts, of the mean of z each expert gives (`"latent"`)."""
    out, labels = {}, {}
    for m in self.modalities:
      if INPUT_KEY[m] not in inputs:
        continue
      x = inputs[INPUT_KEY[m]]
      if m == "image":
        h = self.image_encoder(x)[0].reshape(x.shape[0], -1)
      elif m == "video":
        h = self.video_encoder(x)
      elif m == "text":
        h = pool(*self.text_encoder(x))
      elif m == "speech":  # Mean and max over time: a word is short and anywhere in the clip.
        tokens, _ = self.speech_encoder(x)
        h = jnp.concatenate([tokens.mean(1), tokens.max(1)], -1)
      else:
        h = pool(*self.dtmf_encoder(x))
      mean, logvar = jnp.split(self.posterior[m](h), 2, axis=-1)
      out[m] = (mean, jnp.clip(logvar, -12.0, 8.0))
      if m in self.labelled_experts:
        labels[m] = (self.latent_label(mean[:, :self.latent_dim]) if self.label_from == "latent" else
                     self.label_readout[m](h))
    return out, labels

  # Every decoder reads a code [N, L + P]: the shared latent z and the modality's private latent w.
  def decode_image(self, z):
    """code [N, L + P] -> Bernoulli logits [N, R, R, 1]."""
    return self.image_decoder(z)

  def decode_video(self, z, whole_pixels=False):
    """code [N, L + P] -> Bernoulli logits [N, T, R, R, 1]: the sprite from z, its trajectory from z and w
    (`whole_pixels`: its positions rounded, see `SpriteVideoDecoder`)."""
    return self.video_decoder(z[:, :self.latent_dim], z[:, self.latent_dim:], whole_pixels)

  def decode_speech(self, z):
    """code [N, L + P (+ NUM_WORD_FORMS)] -> scaled log-mel [N, frames, SPEECH_MELS] (see `speech_target`): the word
    from z (and the one-hot word form after w, with `speech_word_form`; the "shifted" decoder: its onset and
    spectral tilt from w)."""
    if self.speech_decoder == "dense":
      if self.speech_word_form:
        return self.speech_decoder_net(jnp.concatenate([z[:, :self.latent_dim],
                                                        z[:, self.latent_dim + self.private_dim:]], axis=1))
      return self.speech_decoder_net(z[:, :self.latent_dim])
    return self.speech_decoder_net(z[:, :self.latent_dim], z[:, self.latent_dim:])

  def decode_dtmf(self, z):
    """z [N, L] -> standardised log-mel [N, frames, DTMF_MELS]."""
    frames = num_frames(dtmf.CLIP_SAMPLES, DTMF_FFT, DTMF_HOP)
    return self.dtmf_out(nn.gelu(self.dtmf_hidden(z))).reshape(z.shape[0], frames, DTMF_MELS)

  def text_memory_kvs(self, z):
    """z [N, L] -> the text decoder's cross-attention keys/values of z's memory tokens."""
    memory = self.text_memory(z).reshape(z.shape[0], self.memory_tokens, self.text_dim)
    return self.text_decoder.memory_kv(memory)

  def text_logits(self, z, ids):
    """Teacher forcing: z [N, L], ids [N, max_len] (BOS first) -> next-token logits [N, max_len, vocab]."""
    return self.text_decoder(ids, self.text_memory_kvs(z))

  def text_step(self, tokens, index, cache, memory_kvs):
    return self.text_decoder.decode_step(tokens, index, cache, memory_kvs)

  def prior(self):
    """(log weights [K], means [K, L], logvars [K, L]) of the mixture prior (K = 1, N(0, I) without components)."""
    if not self.prior_components:
      zeros = jnp.zeros((1, self.latent_dim))
      return jnp.zeros(1), zeros, zeros
    return jax.nn.log_softmax(self.prior_logits), self.prior_means, jnp.clip(self.prior_logvars, -8.0, 4.0)

  def __call__(self, inputs):
    """For initialisation: every parameter is touched."""
    experts, labels = self.experts_and_labels(inputs)
    z = jnp.mean(jnp.stack([mean for mean, _ in experts.values()]), 0)  # [B, L + P]
    out = [self.prior(), labels]
    for m in self.modalities:
      if m == "text":
        out.append(self.text_logits(z, inputs["caption_ids"][:, :-1]))
      elif m == "speech" and self.speech_word_form:
        out.append(self.decode_speech(jnp.concatenate([z, jnp.zeros((z.shape[0], NUM_WORD_FORMS), z.dtype)], 1)))
      else:
        out.append(getattr(self, f"decode_{m}")(z))
    return out


# --- host side -------------------------------------------------------------------------------------------------------

def _modalities(config):
  modalities = tuple(config.model.modalities)
  unknown = [m for m in modalities if m not in MODALITIES]
  if unknown or len(modalities) < 2:
    raise UserError(f"model.modalities={list(modalities)}: choose two or more of {', '.join(MODALITIES)}")
  return modalities


def tokenizer(config):
  return Tokenizer(config.model.vocab)


def text_decoder(config):
  """The caption decoder, unbound: its fields size the decoding cache."""
  return TextDecoder(tokenizer(config).size, config.model.text_dim, config.model.text_depth, 4, config.model.max_len)


def make_model(config):
  m, d = config.model, config.data
  if m.speech_decoder not in ("dense", "shifted"):
    raise UserError(f"model.speech_decoder={m.speech_decoder!r}: use 'dense' (the word above the noise floor, "
                    f"centred) or 'shifted' (checkpoints from before it)")
  if m.cross_private not in ("auxiliary", "posterior"):
    raise UserError(f"model.cross_private={m.cross_private!r}: use 'auxiliary' (private latents of the modalities a "
                    f"subset lacks drawn from the wide auxiliary prior) or 'posterior' (from their own experts)")
  if m.speech_word_form and m.speech_decoder != "dense":
    raise UserError("model.speech_word_form=True needs model.speech_decoder='dense' (the shifted decoder reads no "
                    "word form): set one of them")
  unknown = sorted(set(d.get("augment", ())) - set(AUGMENTATIONS))
  if unknown:
    raise UserError(f"data.augment has {unknown}: the any-to-any VAE knows {', '.join(AUGMENTATIONS)} (or [] for "
                    f"none)")
  if m.prior_expert not in ("normal", "generation"):
    raise UserError(f"model.prior_expert={m.prior_expert!r}: use 'normal' (conditional samples from the experts' "
                    f"product with N(0, I), as the ELBO trains) or 'generation' (with the prior that samples given "
                    f"nothing come from)")
  if not set(m.labelled_experts) <= set(_modalities(config)):
    raise UserError(f"model.labelled_experts={list(m.labelled_experts)}: name some of model.modalities "
                    f"({', '.join(_modalities(config))}) whose experts also learn the label, or []")
  if m.label_from not in ("features", "latent"):
    raise UserError(f"model.label_from={m.label_from!r}: use 'features' (each labelled expert's features read the "
                    f"label) or 'latent' (one readout of the mean of z every labelled expert gives)")
  return AnyToAnyVAE(_modalities(config), tokenizer(config).size, m.latent_dim, tuple(m.widths), m.text_dim,
                     m.max_len, m.memory_tokens, d.image_size, m.video_frames, m.prior_components, m.private_dim,
                     m.speech_wide, m.text_depth, m.speech_decoder, m.speech_hidden, m.speech_frame_stride,
                     reads_word_form(config), tuple(m.labelled_experts), m.num_labels, m.label_from)


# Settings older checkpoints lack, at the values they trained with: before private latents they were shared-latent
# models; before `DenseSpeechDecoder`, speech used the shifted template decoder; before the fitted prior, prior
# samples came from the learnt one; before `model.prior_expert`, conditional samples used N(0, I) as the prior expert;
# before `model.speech_word_form`, the speech decoder read z alone; before `model.speech_frame_stride`, it drew every
# frame; before `model.speech_word_span`, its target was centred in time, not stretched; before
# `model.labelled_experts`, no expert read the label; before `infer.video_whole_pixels`, sampled clips were rendered at
# fractional positions.
CONFIG_DEFAULTS = {"model.private_dim": 0, "model.cross_private": "posterior", "model.aux_prior_scale": 3.0,
                   "model.speech_wide": False, "model.text_depth": 2, "model.speech_decoder": "shifted",
                   "model.speech_hidden": 1024, "model.speech_frame_stride": 1, "model.fitted_prior_components": 0,
                   "model.fitted_prior_bank": 2048, "model.fitted_prior_refit_every": 500,
                   "model.prior_expert": "normal", "model.speech_word_form": False, "model.speech_word_span": 0,
                   "model.labelled_experts": [], "model.num_labels": 10, "model.label_weight": 0.0,
                   "model.label_from": "features",
                   "data.augment": [], "infer.video_whole_pixels": False}
FITTED_PRIOR = "fitted_prior"  # The train state's collection holding the fitted prior (`layers/code_density.py`).


def reads_word_form(config):
  """Whether the speech decoder reads the clip's word form (`model.speech_word_form`, with speech a modality)."""
  return bool(config.model.speech_word_form) and "speech" in _modalities(config)


def input_features(config):
  """The dataset features of the configured modalities (text as `text` strings, tokenised by `encode_inputs`),
  `word_form` when the speech decoder reads it, and `label` when an expert learns it (`model.labelled_experts`)."""
  features = tuple("text" if m == "text" else INPUT_KEY[m] for m in _modalities(config))
  return (features + (("word_form",) if reads_word_form(config) else ())
          + (("label",) if config.model.labelled_experts else ()))


def prepare_config(config, source):
  """Builds the caption vocabulary from the training split when `text` is a modality; saved with the checkpoint."""
  if "text" in _modalities(config) and not config.model.vocab:
    config.model.vocab = fit_vocab(source, "the any-to-any VAE", features=input_features(config))
  return config


def encode_inputs(config, arrays):
  """`text` (str [N]) -> `caption_ids` (int32 [N, max_len + 1]: BOS, words, EOS, padding)."""
  return tokenize_text(arrays, "caption_ids", tokenizer(config), config.model.max_len + 1, bos=True, eos=True)


def decode_outputs(config, out):
  """Adds `text` (str [N]) decoded from the sampler's `text_ids`."""
  if "text_ids" not in out:
    return out
  return {**out, "text": np.asarray(tokenizer(config).decode(np.asarray(out["text_ids"])))}


def _dummy_inputs(config, n=1):
  d, m = config.data, config.model
  shapes = {"image": ((n, d.image_size, d.image_size, 1), jnp.float32),
            "caption_ids": ((n, m.max_len + 1), jnp.int32),
            "speech": ((n, speech.CLIP_SAMPLES), jnp.float32),
            "video": ((n, m.video_frames, d.image_size, d.image_size, 1), jnp.float32),
            "dtmf": ((n, dtmf.CLIP_SAMPLES), jnp.float32)}
  return {INPUT_KEY[k]: jnp.zeros(*shapes[INPUT_KEY[k]]) for k in _modalities(config)}


def init_state(config, rng):
  if config.data.channels != 1:
    raise UserError(f"the any-to-any VAE models grey images (data.channels=1), got {config.data.channels}")
  init_rng, state_rng = jax.random.split(rng)
  variables = make_model(config).init(init_rng, _dummy_inputs(config))
  m = config.model
  if m.fitted_prior_components:
    if m.fitted_prior_bank < config.data.batch_size:
      raise UserError(f"model.fitted_prior_bank={m.fitted_prior_bank} holds less than one batch "
                      f"({config.data.batch_size}): set it to at least data.batch_size")
    variables = {**variables, FITTED_PRIOR: code_density.init_tracker(
        jax.random.fold_in(init_rng, 1), m.fitted_prior_bank, m.fitted_prior_components, m.latent_dim)}
  return TrainState.create(rng=state_rng, variables=variables, tx=make_optimizer(config.optim, config.optim.lr),
                           ema=config.ema)


def _model_inputs(batch):
  """The experts' inputs from a batch: uint8 pixels to [-1, 1], the rest as float32 / int32."""
  out = {}
  for key in ("image", "video"):
    if key in batch:
      out[key] = to_float(batch[key])
  for key in ("speech", "dtmf"):
    if key in batch:
      out[key] = jnp.asarray(batch[key], jnp.float32)
  if "caption_ids" in batch:
    out["caption_ids"] = jnp.asarray(batch["caption_ids"], jnp.int32)
  return out


def speech_target(waves, decoder="dense", span=0):
  """The speech decoder's target from waveforms [..., 16000]: [..., frames, mels] in [-4, 0], 0 the loudest a bin
  can be and -4 (SPEECH_RANGE nats down, divided by SPEECH_SCALE) silence.
  "dense": how far each bin rises above its band's noise floor (`layers/audio.above_noise_floor`), capped at
  SPEECH_RANGE, moved in time so its energy centroid is the middle frame (`span` = 0), or stretched in time so the
  word spans `span` frames about the middle (`layers/audio.stretch_in_time`): the word without the noise, the
  onset and (stretched) the talker's rate, which only the clip itself shows. Stretched, the mean of many clips of
  one word keeps its sounds apart, and a decoder trained under a Gaussian draws that mean (docs/results/any2any.md).
  "shifted" (older checkpoints): the log-mel relative to the clip's peak, floored SPEECH_RANGE down."""
  if decoder == "shifted":
    log_mel = log_mel_spectrogram(waves, speech.SAMPLE_RATE, SPEECH_FFT, SPEECH_HOP, SPEECH_MELS)
    return jnp.maximum(log_mel - log_mel.max(axis=(-2, -1), keepdims=True), -SPEECH_RANGE) / SPEECH_SCALE
  word = word_features(waves, speech.SAMPLE_RATE, SPEECH_FFT, SPEECH_HOP, SPEECH_MELS, span, SPEECH_RANGE)
  return (word - SPEECH_RANGE) / SPEECH_SCALE


def speech_waveform(scaled_log_mel, iterations=32):
  """float32 [N, 16000] (peak 0.9) from the speech decoder's scaled log-mel: mel pseudo-inverse, fast Griffin-Lim."""
  magnitude = mel_to_magnitude(scaled_log_mel * SPEECH_SCALE, speech.SAMPLE_RATE, SPEECH_FFT, SPEECH_MELS)
  wave = griffin_lim(magnitude, speech.CLIP_SAMPLES, SPEECH_FFT, SPEECH_HOP, iterations)
  return 0.9 * wave / (jnp.max(jnp.abs(wave), axis=-1, keepdims=True) + 1e-6)


def log_likelihoods(config, model, variables, codes, batch, binarised):
  """{modality: log p(x_m | z, w_m) [N]} for codes {modality: [z, w_m] [N, L + P]} and the batch's targets (tiled to
  N); `binarised` holds the Bernoulli targets of image and video."""
  n, b = next(iter(codes.values())).shape[0], next(iter(batch.values())).shape[0]
  rep = lambda x: jnp.tile(x, (n // b,) + (1,) * (x.ndim - 1))  # noqa: E731
  dtype = compute_dtype(config)
  apply = lambda method, *args: mixed_apply(model, variables, *args, method=method, dtype=dtype)  # noqa: E731
  out = {}
  for m in _modalities(config):
    z = codes[m]
    if m in ("image", "video"):
      logits = apply(getattr(AnyToAnyVAE, f"decode_{m}"), z)
      log_p = likelihoods.bernoulli_log_prob(logits, rep(binarised[m]))
    elif m == "text":
      ids = rep(batch["caption_ids"])
      logits = apply(AnyToAnyVAE.text_logits, z, ids[:, :-1])
      targets = ids[:, 1:]
      log_p = -optax.softmax_cross_entropy_with_integer_labels(logits, targets) * (targets != PAD)
    elif m == "speech":
      log_p = likelihoods.gaussian_log_prob(apply(AnyToAnyVAE.decode_speech, z), 0.0,
                                            rep(speech_target(batch["speech"], config.model.speech_decoder,
                                                                 config.model.speech_word_span)))
    else:
      target = standardized_log_mel(batch["dtmf"], dtmf.SAMPLE_RATE, DTMF_FFT, DTMF_HOP, DTMF_MELS)
      log_p = likelihoods.gaussian_log_prob(apply(AnyToAnyVAE.decode_dtmf, z), 0.0, rep(target))
    out[m] = jnp.sum(log_p.reshape(n, -1), axis=1)
  return out


def augment_inputs(config, inputs, rng):
  """The experts' inputs (`_model_inputs`) transformed at random as `data.augment` says: with "speech_shift", each
  clip float32 [B, 16000] rolled by its own shift of up to SPEECH_SHIFT samples; with "speech_masks", bands and
  moments of each taken out (`layers/augment.random_spectral_masks`). Only what the experts read: the decoders'
  targets stay the batch's (the speech target is centred or stretched in time anyway)."""
  augment = config.data.get("augment", ())
  if "speech_shift" in augment and "speech" in inputs:
    inputs = {**inputs, "speech": random_roll(rng, inputs["speech"], SPEECH_SHIFT)}
  if "speech_masks" in augment and "speech" in inputs:  # Its own key: the shifts stay those of runs without masks.
    inputs = {**inputs, "speech": random_spectral_masks(jax.random.fold_in(rng, 1), inputs["speech"],
                                                        speech.SAMPLE_RATE)}
  return inputs


def split_experts(experts, latent_dim):
  """Experts' (mean, logvar) [B, L + P] -> ({m: shared (mean, logvar) [B, L]}, {m: private (mean, logvar) [B, P]})."""
  shared = {k: (mu[:, :latent_dim], lv[:, :latent_dim]) for k, (mu, lv) in experts.items()}
  private = {k: (mu[:, latent_dim:], lv[:, latent_dim:]) for k, (mu, lv) in experts.items()}
  return shared, private


def train_step(config, state, batch, rng):
  """One Adam step on the sum over the joint and the single-modality subsets S of
  ELBO(S) = E_q_S(z) q(w | x)[sum_m lambda_m log p(x_m | z, w_m)] - beta KL(q_S(z) || p(z))
            - beta sum_m KL(q(w_m | x_m) || N(0, I)),
  less `model.label_weight` times the cross-entropy of each labelled expert's readout of the batch's `label`.
  A subset S decodes its own modalities m in S with w_m drawn from q(w_m | x_m), and (`model.cross_private` =
  "auxiliary", MMVAE+'s recipe) the others with w_m drawn from a wide auxiliary prior N(0, aux_prior_scale^2 I):
  a decoder then has to read what the modalities share (the digit) from z whatever w says, and w keeps only what
  no other modality can tell (a clip's motion, a voice, an onset). Video and speech (CONTENT_FROM_Z_ONLY) draw
  their content from z alone by construction, so their w comes from their own experts in every subset: a caption's
  subset then learns to draw a sharp digit moving as the clip does, not a blur of all motions. With "posterior"
  every modality's w comes from its own expert in every subset: measured, the image and caption decoders then read
  the digit from w and z carries nothing (the shortcut that the auxiliary prior closes)."""
  m = config.model
  modalities = _modalities(config)
  model, dtype = make_model(config), compute_dtype(config)
  bin_rng, z_rng, w_rng = jax.random.split(rng, 3)
  inputs = augment_inputs(config, _model_inputs(batch), jax.random.fold_in(rng, 13))  # Its own key: z, w as before.
  b = next(iter(batch.values())).shape[0]
  binarised = {}
  for k, key in ((0, "image"), (1, "video")):
    if key in modalities:
      pixels = batch[key].astype(jnp.float32) / 255.0
      binarised[key] = jax.random.bernoulli(jax.random.fold_in(bin_rng, k), pixels).astype(jnp.float32)
  weights = dict(zip(modalities, m.weights))
  subsets = (modalities,) + tuple((k,) for k in modalities)

  def loss_fn(params):
    variables = {"params": cast_floating(params, dtype)}  # Once: the applies below then cast nothing.
    experts, label_logits = mixed_apply(model, variables, inputs, method=AnyToAnyVAE.experts_and_labels, dtype=dtype)
    experts, private = split_experts(experts, m.latent_dim)
    posteriors = [product_of_experts(experts, {k: jnp.full(b, k in s) for k in modalities}) for s in subsets]
    mean = jnp.concatenate([p[0] for p in posteriors])  # [len(subsets) * B, L]
    logvar = jnp.concatenate([p[1] for p in posteriors])
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(z_rng, mean.shape)
    codes, kl_private = {}, 0.0
    for i, k in enumerate(modalities):
      w_mean, w_logvar = private[k]
      noise = jax.random.normal(jax.random.fold_in(w_rng, i), (len(subsets),) + w_mean.shape)
      w = w_mean + jnp.exp(0.5 * w_logvar) * noise  # [len(subsets), B, P]
      own = jnp.asarray([k in s or m.cross_private == "posterior" or k in CONTENT_FROM_Z_ONLY
                         for s in subsets])[:, None, None]
      w = jnp.where(own, w, m.aux_prior_scale * noise)
      codes[k] = jnp.concatenate([z, w.reshape(-1, w.shape[-1])], axis=1)
      if k == "speech" and reads_word_form(config):  # Every subset's speech is decoded in the clip's word form.
        form = jax.nn.one_hot(batch["word_form"], NUM_WORD_FORMS, dtype=z.dtype)
        codes[k] = jnp.concatenate([codes[k], jnp.tile(form, (len(subsets), 1))], axis=1)
      kl_private = kl_private + own[:, :, 0] * likelihoods.gaussian_kl(w_mean, w_logvar)  # [len(subsets), B]
    log_p = log_likelihoods(config, model, variables, codes, batch, binarised)
    if m.prior_components:  # One-sample estimate: the mixture has no closed-form KL.
      prior = mixed_apply(model, variables, method=AnyToAnyVAE.prior, dtype=dtype)
      kl = diagonal_log_prob(z, mean, logvar) - prior_log_prob(prior, z)
    else:
      kl = likelihoods.gaussian_kl(mean, logvar)
    kl = kl + kl_private.reshape(-1)
    elbo = sum(weights[k] * log_p[k] for k in modalities) - m.beta * kl
    loss = -jnp.sum(jnp.mean(elbo.reshape(len(subsets), b), axis=1))
    metrics = {"kl": jnp.mean(kl)}
    for k, logits in label_logits.items():  # The labelled experts' readouts of the digit.
      label_loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32),
                                                                            batch["label"]))
      loss = loss + m.label_weight * label_loss
      metrics[f"label_loss_{k}"] = label_loss
    joint_codes = jax.lax.stop_gradient(z[:b]).astype(jnp.float32)  # Draws from the joint posterior.
    for k in modalities:  # The joint posterior's reconstruction and the cross-modal ones, per target modality.
      per_subset = -jnp.mean(log_p[k].reshape(len(subsets), b), axis=1)
      metrics[f"nll_{k}_joint"] = per_subset[0]
      metrics[f"nll_{k}_cross"] = jnp.mean(jnp.asarray([per_subset[1 + i] for i, s in enumerate(subsets[1:])
                                                        if k not in s]))
    return loss, (metrics, joint_codes)

  (loss, (metrics, joint_codes)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  model_state = state.model_state
  if FITTED_PRIOR in model_state:  # The density prior samples come from, fitted to the joint posterior's codes.
    tracker, log_density = code_density.track(model_state[FITTED_PRIOR], joint_codes, jax.random.fold_in(rng, 7),
                                              state.step + 1, m.fitted_prior_refit_every)
    model_state = {**model_state, FITTED_PRIOR: tracker}
    metrics["fitted_prior_nll"] = -log_density / m.latent_dim
  return state.apply_gradients(grads, model_state), {"loss": loss, **metrics}


def _check_inputs(config, given):
  d, m = config.data, config.model
  r = d.image_size
  expected = {"image": ((r, r, 1), "uint8", ""),
              "caption_ids": ((m.max_len + 1,), "int32", "token ids; pass `text` strings to have them made"),
              "speech": ((speech.CLIP_SAMPLES,), "float32", "1 s clips at 16 kHz"),
              "video": ((m.video_frames, r, r, 1), "uint8", f"{m.video_frames}-frame clips"),
              "dtmf": ((dtmf.CLIP_SAMPLES,), "float32", "0.5 s keypad tones at 8 kHz")}
  keys = {INPUT_KEY[k] for k in _modalities(config)}
  for k in given:
    if k not in keys:
      raise UserError(f"condition {k!r} is not a modality of this model (model.modalities="
                      f"{list(_modalities(config))}): pass some of {', '.join(sorted(keys))}")
  return {k: check_condition(k, v, expected[k][0], dtype=expected[k][1], note=expected[k][2])
          for k, v in given.items()}


def generate(config, variables, codes):
  """Every modality decoded from its code {modality: [z, w_m] [N, L + P]}: 'images' uint8 [N, R, R, 1] and 'video'
  uint8 [N, T, R, R, 1] (Bernoulli means), 'text_ids' int32 [N, max_len] (greedy), 'speech' float32 [N, 16000]
  (Griffin-Lim of 'speech_log_mel' [N, frames, mels]), 'dtmf' float32 [N, 4000] (additive synthesis of
  'dtmf_log_mel')."""
  model = make_model(config)
  dtype = compute_dtype(config)
  apply = lambda method, *args: mixed_apply(model, variables, *args, method=method, dtype=dtype)  # noqa: E731
  out = {}
  modalities = _modalities(config)
  if "image" in modalities:
    out["images"] = to_uint8(likelihoods.mean_image("bernoulli", apply(AnyToAnyVAE.decode_image, codes["image"])))
  if "video" in modalities:
    logits = apply(AnyToAnyVAE.decode_video, codes["video"], config.infer.video_whole_pixels)
    out["video"] = to_uint8(likelihoods.mean_image("bernoulli", logits))
  if "text" in modalities:
    step = lambda *args: apply(AnyToAnyVAE.text_step, *args)  # noqa: E731
    out["text_ids"] = search(text_decoder(config), step, apply(AnyToAnyVAE.text_memory_kvs, codes["text"]))
  if "speech" in modalities:
    out["speech_log_mel"] = apply(AnyToAnyVAE.decode_speech, codes["speech"])
    out["speech"] = speech_waveform(out["speech_log_mel"], config.model.griffin_lim_iterations)
  if "dtmf" in modalities:
    out["dtmf_log_mel"] = apply(AnyToAnyVAE.decode_dtmf, codes["dtmf"])
    out["dtmf"] = additive_synthesis(out["dtmf_log_mel"], dtmf.SAMPLE_RATE, dtmf.CLIP_SAMPLES, DTMF_HOP)
  return out


def sample(config, variables, rng, n, image=None, caption_ids=None, speech=None, video=None, dtmf=None):
  """Every modality (see `generate`) for n shared latents drawn from the product of the given modalities' experts,
  each condition tiled to n (none given: from `generation_prior`); a given modality's private latent from its own
  expert, the others' from N(0, I) (a caption gives the digit; the video's motion is drawn). Conditions: image
  uint8 [k, R, R, 1], caption_ids int32 [k, max_len + 1] (`Sampler.sample(text=[...])` tokenises), speech float32
  [k, 16000] at 16 kHz, video uint8 [k, T, R, R, 1], dtmf float32 [k, 4000] at 8 kHz."""
  given = {k: v for k, v in (("image", image), ("caption_ids", caption_ids), ("speech", speech),
                             ("video", video), ("dtmf", dtmf)) if v is not None}
  return sample_given(config, variables, rng, n, given)


def sample_given(config, variables, rng, n, given, mean=False):
  """`sample` for the conditions in the dict `given`; `mean` (static) decodes the posterior mean instead of a draw."""
  given = {k: tile(v, n) for k, v in _check_inputs(config, given).items()}
  return sample_masked(config, variables, rng, n, given, {k: jnp.ones(n, bool) for k in given}, mean)


def sample_masked(config, variables, rng, n, inputs, present, mean=False):
  """All modalities for n examples, each inferred from the modalities `present` marks for it: inputs {key: [n,
  ...]} (INPUT_KEY names), present {key: bool [n]}; an example with none present is drawn from the prior.
  One program for every subset of the inputs it holds (the evaluation's directions and prior share one compile)."""
  variables = {**variables, "params": cast_floating(variables["params"], compute_dtype(config))}  # Cast once.
  return generate(config, variables, conditional_codes(config, variables, rng, n, inputs, present, mean))


def conditional_codes(config, variables, rng, n, inputs, present, mean=False):
  """{modality: [z, w_m] [n, L + P]} for `sample_masked`'s arguments. z: a draw from the product of the present
  experts with the prior expert (`model.prior_expert`: N(0, I) as in training, or the generation prior, which for a
  fitted prior pulls a broad posterior, speech's, towards where whole examples' codes are), or from the generation
  prior where nothing is present; w_m: from the modality's own expert where present, else N(0, I). `mean` takes
  the posterior's mean (with the generation prior: its heaviest component's) and the private experts' means.
  With `model.speech_word_form`, speech's code ends in a one-hot word form drawn from the training frequencies
  (`speech.word_form_probabilities`; the commonest form with `mean`)."""
  m = config.model
  model, dtype = make_model(config), compute_dtype(config)
  z_rng, w_rng = jax.random.split(rng)
  prior = generation_prior(config, variables)
  z = sample_prior(prior, z_rng, n)
  private = {}
  if inputs:
    experts, private = split_experts(
        mixed_apply(model, variables, _model_inputs(inputs), method=AnyToAnyVAE.experts, dtype=dtype), m.latent_dim)
    mask = {k: present[INPUT_KEY[k]] for k in experts}
    if m.prior_expert == "generation":  # The experts' product with the generation prior (a mixture per row).
      mixtures = product_with_mixture(experts, mask, prior)
      if mean:  # The mean of the row's heaviest component.
        heaviest = jnp.argmax(mixtures[0], axis=-1)[:, None, None]
        posterior = jnp.take_along_axis(mixtures[1], heaviest, axis=1)[:, 0]
      else:
        posterior = sample_mixtures(mixtures, z_rng)
    else:
      mu, logvar = product_of_experts(experts, mask)
      posterior = mu if mean else mu + jnp.exp(0.5 * logvar) * jax.random.normal(z_rng, mu.shape)
    z = jnp.where(jnp.any(jnp.stack(list(mask.values())), axis=0)[:, None], posterior, z)
  codes = {}
  for i, k in enumerate(_modalities(config)):
    noise = jax.random.normal(jax.random.fold_in(w_rng, i), (n, m.private_dim))
    w = noise
    if k in private:
      w_mean, w_logvar = private[k]
      drawn = w_mean if mean else w_mean + jnp.exp(0.5 * w_logvar) * noise
      w = jnp.where(present[INPUT_KEY[k]][:, None], drawn, noise)
    codes[k] = jnp.concatenate([z, w], axis=1)
  if reads_word_form(config):  # Its own key: the draws of z and w above are those of models without forms.
    log_p = np.log(speech.word_form_probabilities())
    form = (jnp.full(n, int(np.argmax(log_p))) if mean else
            jax.random.categorical(jax.random.fold_in(rng, 11), jnp.asarray(log_p, jnp.float32), shape=(n,)))
    codes["speech"] = jnp.concatenate([codes["speech"], jax.nn.one_hot(form, NUM_WORD_FORMS, dtype=z.dtype)], 1)
  return codes


def generation_prior(config, variables):
  """The mixture (log weights [K], means [K, L], logvars [K, L]) that samples given no modality draw z from: the
  fitted prior when the model keeps one (`model.fitted_prior_components` > 0), else the prior the ELBO trains with.

  Why a second prior: the learnt one is fitted, through the KL terms, to the posteriors of every subset, the broad
  single-modality ones included, and many of its draws land where the decoders disagree on the digit (joint
  coherence from each prior: docs/results/any2any.md). The fitted prior is a mixture of
  `model.fitted_prior_components` diagonal Gaussians fitted by EM, inside the train step, to the last
  `model.fitted_prior_bank` draws from the joint posterior (`layers/code_density.py`): where the codes of whole
  examples are, which is what a sample of all four modalities should look like."""
  if FITTED_PRIOR in variables:
    return code_density.mixture_of(variables[FITTED_PRIOR])
  return mixed_apply(make_model(config), variables, method=AnyToAnyVAE.prior, dtype=compute_dtype(config))


def evaluate(config, state, num=None, seed=0):
  """Cross-modal accuracy for every (given -> generated) pair of modalities on the eval split, joint coherence of
  prior samples and their mean (`coherence`): see `metrics/any_to_any.py`."""
  from mmgen_jax.metrics.any_to_any import coherence_report

  return coherence_report(config, state.ema_variables(), sample_masked, encode_inputs, decode_outputs,
                          eval_arrays(config), INPUT_KEY, _modalities(config), num, seed)
