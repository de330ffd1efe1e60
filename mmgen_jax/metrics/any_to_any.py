"""Judges of generated digits in every modality, none of them the generator, and the any-to-any coherence report.

- image: the digits classifier (`metrics/classifier.py`).
- text: the caption names exactly one digit (`data/captions.named_digits`).
- speech: the spoken-digit judge (`metrics/speech_classifier.py`, trained on other voices) on the waveform.
- video: every frame's digit by the digits classifier on a 16x16 window around the frame's ink centroid, enlarged
  x2 (the moving digit is drawn at half size), and a motion check: ink in every frame and a mean centroid step
  between MOTION_STEP_PX[0] and MOTION_STEP_PX[1] pixels per frame, as real clips move (1-4.2 px: integer
  velocities of up to 3 px per axis, bouncing). The call is the digit when all frames agree and the motion passes.
- dtmf: the keypad decoder (`data/dtmf.detect_keys`).
A judge's call is -1 when it names no single digit.
"""
import numpy as np

MOTION_STEP_PX = (0.5, 5.0)
INK = 64  # A frame with no pixel above this holds no digit.
WINDOW = 16


def centroids(video):
  """Ink centroids (y, x) float [N, T, 2] of uint8 frames [N, T, H, W, 1]."""
  p = np.asarray(video, np.float64)[..., 0]
  h, w = p.shape[-2:]
  mass = p.sum((-2, -1)) + 1e-9
  y = (p.sum(-1) * np.arange(h)).sum(-1) / mass
  x = (p.sum(-2) * np.arange(w)).sum(-1) / mass
  return np.stack([y, x], -1)


def digit_windows(video):
  """uint8 [N * T, 2 * WINDOW, 2 * WINDOW, 1]: each frame's WINDOW x WINDOW window centred on its ink, enlarged x2
  (pixel repetition), the size the digits classifier reads."""
  n, t, h, w, _ = video.shape
  corner = np.clip(np.round(centroids(video) - (WINDOW - 1) / 2), 0, [h - WINDOW, w - WINDOW]).astype(int)
  flat, corner = video.reshape(n * t, h, w), corner.reshape(n * t, 2)
  windows = np.stack([f[y:y + WINDOW, x:x + WINDOW] for f, (y, x) in zip(flat, corner)])
  return windows.repeat(2, 1).repeat(2, 2)[..., None]


def mean_steps(video):
  """float [N]: the mean distance, in pixels, that the ink centroid moves between consecutive frames."""
  return np.linalg.norm(np.diff(centroids(video), axis=1), axis=-1).mean(1)


def motion_ok(video):
  """bool [N]: ink in every frame and a mean centroid step within MOTION_STEP_PX."""
  inked = (np.asarray(video).max((2, 3, 4)) > INK).all(1)
  steps = mean_steps(video)
  return inked & (steps >= MOTION_STEP_PX[0]) & (steps <= MOTION_STEP_PX[1])


class Judges:
  """Callable judges of each modality's outputs (loaded on first use): `calls(modality, outputs)` -> int [N]."""

  def __init__(self):
    self._digits = self._speech = None

  def digits(self, images):
    from mmgen_jax.metrics.classifier import FeatureExtractor

    self._digits = self._digits or FeatureExtractor("digits", progress=False)
    return np.argmax(self._digits(np.asarray(images))[1], -1)

  def video_frames(self, video):
    """int [N, T]: each frame's digit."""
    n, t = video.shape[:2]
    return self.digits(digit_windows(np.asarray(video))).reshape(n, t)

  @staticmethod
  def video_call(frames, video):
    """int [N]: the clips' digit from their frames' digits `frames` [N, T]: the digit when every frame shows it and
    the motion check passes, else -1."""
    agree = (frames == frames[:, :1]).all(1) & motion_ok(video)
    return np.where(agree, frames[:, 0], -1)

  def calls(self, modality, out):
    if modality == "image":
      return self.digits(out["images"])
    if modality == "text":
      from mmgen_jax.data.captions import named_digits

      named = [named_digits(t) for t in out["text"]]
      return np.asarray([next(iter(d)) if len(d) == 1 else -1 for d in named])
    if modality == "speech":
      from mmgen_jax.metrics.speech_classifier import SpeechJudge

      self._speech = self._speech or SpeechJudge(progress=False)
      return self._speech(np.asarray(out["speech"]))
    if modality == "video":
      return self.video_call(self.video_frames(out["video"]), out["video"])
    if modality == "dtmf":
      from mmgen_jax.data import dtmf

      return dtmf.detect_keys(np.asarray(out["dtmf_log_mel"]))
    raise ValueError(modality)


def real_data_report(arrays, modalities, judges=None):
  """The judges on the real held-out examples (their ceiling): accuracy per modality, video frames and motion."""
  judges = judges or Judges()
  labels = np.asarray(arrays["label"])
  real = {"images": arrays["image"], "text": arrays["text"], "speech": arrays.get("speech"),
          "video": arrays.get("video")}
  out = {}
  for m in modalities:
    if m == "dtmf":
      continue  # The keypad decoder reads log-mels; its accuracy on real tones is in the mvae results.
    out[f"real_{m}"] = float(np.mean(judges.calls(m, real) == labels))
  if "video" in modalities:
    out["real_video_frames"] = float(np.mean(judges.video_frames(arrays["video"]) == labels[:, None]))
    out["real_video_motion"] = float(np.mean(motion_ok(arrays["video"])))
  return out


def joint_agreement(judges, modalities, out):
  """The fraction of the samples `out` whose modalities all name one digit, each judge calling one."""
  calls = np.stack([judges.calls(m, out) for m in modalities])
  return float(np.mean((calls == calls[:1]).all(0) & (calls[0] >= 0)))


def coherence_report(config, variables, sample_masked, encode_inputs, decode_outputs, arrays, input_key, modalities,
                     num=None, seed=0):
  """Accuracy of every direction `S_to_T` (T generated from a posterior draw given S alone, judged against the
  label of S's example; `S_to_S` is S's reconstruction, not one of the directions), `joint_prior` (the fraction of
  prior samples whose modalities all name one digit, each judge calling one), `S_to_video_frames` /
  `S_to_video_motion` for the video generated from each other source (and `S_to_video_too_fast` / `_too_slow`: the
  shares whose mean step lies above / below MOTION_STEP_PX; `S_to_video_frames_agree`: the share whose frames are
  all read as one digit, right or wrong), and `coherence` (the mean over directions).
  sample_masked(config, variables, rng, n, inputs, present): every direction and the prior run one compiled
  program, told by `present` (bool [n] per input) which inputs it may read."""
  import jax
  import jax.numpy as jnp

  judges = Judges()
  n = min(num or len(arrays["label"]), len(arrays["label"]))
  labels = np.asarray(arrays["label"])[:n]
  feature = {m: "text" if m == "text" else input_key[m] for m in modalities}
  conditions = encode_inputs(config, {feature[m]: arrays[feature[m]][:n] for m in modalities})
  inputs = {input_key[m]: conditions[input_key[m]] for m in modalities}
  # Weights as arguments, not closure constants: XLA would constant-fold through them (slower compiles).
  jitted = jax.jit(lambda v, rng, c, p: sample_masked(config, v, rng, n, c, p))
  rng = jax.random.PRNGKey(seed)
  only = lambda source: {input_key[m]: jnp.full(n, m == source) for m in modalities}
  out, directions = {}, []
  for source in modalities:
    generated = decode_outputs(config, jitted(variables, rng, inputs, only(source)))
    for target in modalities:
      # S_to_S, the reconstruction, is reported but is not a direction: it tells a decoder that cannot draw from an
      # expert that cannot read.
      name, cross = f"{source}_to_{target}", target != source
      if target == "video":  # The frames are judged once, for the call and for the per-frame accuracy.
        frames = judges.video_frames(generated["video"])
        calls = judges.video_call(frames, generated["video"])
        if cross:
          out[f"{name}_frames"] = float(np.mean(frames == labels[:, None]))
          out[f"{name}_motion"] = float(np.mean(motion_ok(generated["video"])))
          out[f"{name}_frames_agree"] = float(np.mean((frames == frames[:, :1]).all(1)))  # Right or wrong.
          steps = mean_steps(generated["video"])  # Why the motion check fails: too fast or too slow.
          out[f"{name}_too_fast"] = float(np.mean(steps > MOTION_STEP_PX[1]))
          out[f"{name}_too_slow"] = float(np.mean(steps < MOTION_STEP_PX[0]))
      else:
        calls = judges.calls(target, generated)
      out[name] = float(np.mean(calls == labels))
      if cross:
        directions.append(name)
  out["joint_prior"] = joint_agreement(judges, modalities,
                                       decode_outputs(config, jitted(variables, rng, inputs, only(None))))
  out["coherence"] = float(np.mean([out[k] for k in directions]))
  out["num"] = n
  return out
