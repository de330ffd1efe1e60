"""Any-to-any generation over image, caption, speech and video: the full table of directions, the judges' ceilings,
phase reconstruction, and joint samples to look at and listen to.

On the whole held-out test split of `any_digits` (test voices never heard in training, test digits never seen):
1. The judges on real data: the spoken-digit judge on real clips, and on the same clips after they went through the
   speech decoder's target (`any2any.speech_target`: the word above the noise floor, stretched to the first
   workdir's `model.speech_word_span`, and centred only as before it; and the older "shifted" target) and its
   route back to sound (mel pseudo-inverse + Griffin-Lim, plain and fast); the video judge (frames, motion) and
   the digits classifier on real clips and images.
2. Phase reconstruction: spectral convergence of plain and fast Griffin-Lim by iteration count, with its time.
3. For each --workdir: every direction S -> T (T generated from a posterior draw given S alone), video frames and
   motion, each modality's reconstruction (S -> S), and joint coherence from the prior (all four judges name one
   digit): from the prior samples come from, and for a model that keeps a fitted prior, from its learnt one too.
Writes --out/table.md, results.json, joint.png (prior samples: image, first video frame, caption), joint.gif (their
videos), joint_N.wav (their speech), speech_to_all.png (from held-out test-voice clips), and image_to_speech.png
with image_to_speech_D.wav (the speech drawn from one held-out image of each digit D, its spectrogram captioned with
what the judge hears).

  python benchmarks/any_to_any.py --workdir workdirs/any2any_digits [--workdir workdirs/any2any_digits_normal]
      [--prior-expert normal|generation] [--seed 0] [--set infer.video_whole_pixels=true]
"""
import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import mmgen_jax
from mmgen_jax.data import split_arrays
from mmgen_jax.export import write_wav
from mmgen_jax.layers import audio
from mmgen_jax.metrics import any_to_any
from mmgen_jax.models import any2any
from mmgen_jax.train.images import save_captioned_grid, save_gif

MODALITIES = ("image", "text", "speech", "video")


def judge_ceilings(test, judges, span):
  """The judges on real test data, and the speech judge after the decoder's route back to sound (the target of a
  model whose word span is `span` frames, 0: centred only)."""
  from mmgen_jax.metrics.speech_classifier import SpeechJudge

  out = any_to_any.real_data_report(test, MODALITIES, judges)
  labels = np.asarray(test["label"])
  hear = SpeechJudge(progress=False)
  clips = jnp.asarray(test["speech"])
  target = any2any.speech_target(clips, "dense", span)  # What the decoder learns to predict.
  targets = [("plain_griffin_lim_32", 32, 0.0, target), ("fast_griffin_lim_32", 32, 0.99, target)]
  if span:
    targets.append(("centred_target_fast_griffin_lim_32", 32, 0.99, any2any.speech_target(clips)))  # Not stretched.
  targets.append(("shifted_target_fast_griffin_lim_32", 32, 0.99, any2any.speech_target(clips, "shifted")))
  for name, iterations, momentum, t in targets:
    run = jax.jit(lambda x, i=iterations, m=momentum: _waveform(x, i, m))
    waves = np.concatenate([np.asarray(run(t[k:k + 64])) for k in range(0, len(labels), 64)])
    out[f"real_speech_via_{name}"] = float(np.mean(hear(waves) == labels))
  return out


def _waveform(target, iterations, momentum):
  magnitude = audio.mel_to_magnitude(target * any2any.SPEECH_SCALE, 16000, any2any.SPEECH_FFT, any2any.SPEECH_MELS)
  return audio.griffin_lim(magnitude, 16000, any2any.SPEECH_FFT, any2any.SPEECH_HOP, iterations, momentum)


def phase_reconstruction(test):
  """Spectral convergence against the true STFT magnitude of 64 real clips, and seconds per clip."""
  x = jnp.asarray(test["speech"][:64])
  magnitude = jnp.abs(audio.stft(x, any2any.SPEECH_FFT, any2any.SPEECH_HOP))
  rows = []
  for momentum in (0.0, 0.99):
    for iterations in (16, 32, 64):
      run = jax.jit(lambda m, i=iterations, mo=momentum: audio.griffin_lim(m, 16000, any2any.SPEECH_FFT,
                                                                           any2any.SPEECH_HOP, i, mo))
      run(magnitude).block_until_ready()
      start = time.perf_counter()
      wave = run(magnitude).block_until_ready()
      seconds = (time.perf_counter() - start) / len(x)
      sc = float(jnp.mean(audio.spectral_convergence(wave, magnitude, any2any.SPEECH_FFT, any2any.SPEECH_HOP)))
      rows.append({"momentum": momentum, "iterations": iterations, "spectral_convergence": sc,
                   "ms_per_clip": 1000 * seconds})
  return rows


def pictures(model, test, out_dir):
  """Joint prior samples and speech -> everything from held-out voices, as files."""
  config, variables = model.config, model.variables
  joint = any2any.decode_outputs(config, jax.jit(
      lambda v, r: any2any.sample_given(config, v, r, 20, {}))(variables, jax.random.PRNGKey(1)))
  save_captioned_grid(os.path.join(out_dir, "joint.png"), joint["images"], joint["text"], cols=10)
  save_gif(os.path.join(out_dir, "joint.gif"), joint["video"], cols=10)
  for i in range(4):
    write_wav(os.path.join(out_dir, f"joint_{i}.wav"), np.asarray(joint["speech"][i]), 16000)
  pick = np.concatenate([np.flatnonzero(test["label"] == d)[:1] for d in range(10)])
  heard = any2any.decode_outputs(config, jax.jit(
      lambda v, r, s: any2any.sample_given(config, v, r, 10, {"speech": s}))(variables, jax.random.PRNGKey(2),
                                                                            test["speech"][pick]))
  captions = [f"heard {test['label'][i]} ({test['voice'][i]}): {t}" for i, t in zip(pick, heard["text"])]
  save_captioned_grid(os.path.join(out_dir, "speech_to_all.png"), heard["images"], captions, cols=10, lines=4)
  save_gif(os.path.join(out_dir, "speech_to_video.gif"), heard["video"], cols=10)
  spoken = jax.jit(lambda v, r, im: any2any.sample_given(config, v, r, 10, {"image": im}))(
      variables, jax.random.PRNGKey(3), test["image"][pick])
  save_spectrograms(os.path.join(out_dir, "image_to_speech.png"), spoken, test["label"][pick])
  for d, wave in enumerate(np.asarray(spoken["speech"])):
    write_wav(os.path.join(out_dir, f"image_to_speech_{d}.wav"), wave, 16000)
  return joint


def save_spectrograms(path, spoken, digits):
  """The generated log-mel spectrograms (low frequencies at the bottom, time left to right) captioned with the
  digit asked for and the one the spoken-digit judge hears in the waveform."""
  from mmgen_jax.metrics.speech_classifier import SpeechJudge

  heard = SpeechJudge(progress=False)(np.asarray(spoken["speech"]))
  floor = -any2any.SPEECH_RANGE / any2any.SPEECH_SCALE
  grey = np.clip(255 * (np.asarray(spoken["speech_log_mel"]) - floor) / -floor, 0, 255).astype(np.uint8)
  pictures = grey.transpose(0, 2, 1)[:, ::-1, :, None]  # [N, mels, frames, 1]
  save_captioned_grid(path, pictures, [f"asked {d}, heard {h}" for d, h in zip(digits, heard)], cols=5, scale=2)


def learnt_prior_joint(model, n, judges, seed=0):
  """Joint coherence of n samples from the model's learnt prior, for a model whose samples come from its fitted
  prior (`models/any2any.generation_prior`): the same decoders, the other density."""
  config = model.config
  variables = {k: v for k, v in model.variables.items() if k != any2any.FITTED_PRIOR}
  out = jax.jit(lambda v, r: any2any.sample_given(config, v, r, n, {}))(variables, jax.random.PRNGKey(seed))
  return any_to_any.joint_agreement(judges, MODALITIES, any2any.decode_outputs(config, out))


def table(report):
  """Every direction, and joint coherence from the learnt prior and (models that keep one) the fitted prior."""
  lines = ["| workdir | prior | " + " | ".join(f"{s} → {t}" for s in MODALITIES for t in MODALITIES if s != t) +
           " | joint, learnt prior | joint, fitted prior |", "|---|---|" + "---|" * 14]
  for name, r in report["models"].items():
    cells = [f"{100 * r[f'{s}_to_{t}']:.1f}" for s in MODALITIES for t in MODALITIES if s != t]
    prior = f"mixture of {r['prior_components']}" if r["prior_components"] else "N(0, I)"
    if r.get("prior_expert") == "generation":
      prior += "; fitted prior as the prior expert"
    fitted = r.get("fitted_prior_components", 0)
    learnt = r.get("joint_learnt_prior") if fitted else r["joint_prior"]  # A logged run's evaluation has only one.
    cells += ["n/a" if learnt is None else f"{100 * learnt:.1f}", f"{100 * r['joint_prior']:.1f}" if fitted else "–"]
    lines.append(f"| `{name}` | {prior} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def reconstruction_table(report):
  """Each modality decoded from its own posterior (`S_to_S`): a decoder that cannot draw from one that is not told
  enough. Runs evaluated before the evaluation reported it show n/a."""
  lines = ["| workdir | " + " | ".join(f"{m} → {m}" for m in MODALITIES) + " |", "|---|" + "---|" * len(MODALITIES)]
  for name, r in report["models"].items():
    cells = [f"{100 * r[f'{m}_to_{m}']:.1f}" if f"{m}_to_{m}" in r else "n/a" for m in MODALITIES]
    lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", action="append", required=True, help="a trained any2any workdir (repeatable; the "
                 "first one's samples are written)")
  p.add_argument("--logged", action="append", default=[], metavar="NAME=WORKDIR",
                 help="a variant whose code has changed since it trained: its final evaluation from metrics.jsonl")
  p.add_argument("--out", default="docs/results/any2any")
  p.add_argument("--prior-expert", choices=("normal", "generation"),
                 help="sample every --workdir with this prior expert (model.prior_expert, a sampler-only setting; "
                      "default: each workdir's own)")
  p.add_argument("--seed", type=int, default=0, help="the evaluation's sampling seed")
  p.add_argument("--set", action="append", default=[], metavar="infer.KEY=VALUE",
                 help="an inference setting for every --workdir (e.g. infer.video_whole_pixels=false)")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  test = split_arrays("any_digits", "test")
  judges = any_to_any.Judges()
  first = mmgen_jax.load(args.workdir[0], settings=args.set)
  span = int(first.config.model.speech_word_span)
  report = {"judges": judge_ceilings(test, judges, span), "phase": phase_reconstruction(test), "models": {}}
  print(json.dumps(report["judges"], indent=1))
  for row in report["phase"]:
    print(row)
  for i, workdir in enumerate(args.workdir or []):
    model = first if i == 0 else mmgen_jax.load(workdir, settings=args.set)
    if args.prior_expert:
      model.config.model.prior_expert = args.prior_expert
    scores = model.evaluate(num=len(test["label"]), seed=args.seed)
    fitted = int(model.config.model.fitted_prior_components)
    scores.update(step=int(model.step), prior_components=int(model.config.model.prior_components),
                  fitted_prior_components=fitted, prior_expert=model.config.model.prior_expert)
    if fitted:
      scores["joint_learnt_prior"] = learnt_prior_joint(model, len(test["label"]), judges)
    report["models"][os.path.basename(os.path.normpath(workdir))] = scores
    print(workdir, json.dumps(scores))
    if i == 0:
      pictures(model, test, args.out)
  for spec in args.logged:
    name, workdir = spec.split("=", 1)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      evals = [{k[len("eval/"):]: v for k, v in json.loads(line).items() if k.startswith("eval/")}
               for line in f if '"eval/coherence"' in line]
    with open(os.path.join(workdir, "config.json")) as f:
      settings = json.load(f)["model"]
    report["models"][name] = {**evals[-1], "prior_components": settings["prior_components"],
                              "fitted_prior_components": settings.get("fitted_prior_components", 0), "logged": True}
  with open(os.path.join(args.out, "results.json"), "w") as f:
    json.dump(report, f, indent=1)
  tables = table(report) + "\n\nReconstructions:\n\n" + reconstruction_table(report)
  with open(os.path.join(args.out, "table.md"), "w") as f:
    f.write(tables + "\n")
  print(tables)


if __name__ == "__main__":
  main()
