"""`any_digits`: one digit in four modalities per example, for any-to-any generation.

Each example of the embedded `digits` (the real scikit-learn image, its caption) gains a spoken clip of the same
digit (`speech.py`: eSpeak NG, 1 s at 16 kHz, voices split between train and test) and a moving-digit video (the
`moving_digits` motion of `clips.py`: the digit at half size moving at up to 3 px per frame and bouncing, T = 4 frames
of 32x32). Features: image uint8 [32, 32, 1], label, id, text str, speech float32 [16000], voice str (the eSpeak
variant), word_form int64 (how the clip says the digit: an index into `speech.WORD_FORMS`, e.g. "number {}"),
video uint8 [4, 32, 32, 1], dtmf float32 [4000] (the `digits` DTMF clip: tones as an alternative audio).

The training split holds each training digit in TAKES["train"] = 4 examples ("takes"): the same image, caption and
DTMF tones with a spoken clip of its own (another voice, word form, room and noise) and a motion of its own; the
test split one take per digit. Why: the four modalities share only the digit, so a take is as true a pairing as
the first, and a spoken-digit network trained on 4x the clips of the training voices hears unseen voices far better
(`benchmarks/speech_expert_study.py --takes`; docs/results/any2any.md). An example's `id` is its digit's id plus
TAKE_ID_STRIDE x its take: take 0 is the digit's own id, and its clip and motion are those of a one-take split.
"""
import numpy as np

from mmgen_jax.data import clips, digits, speech

FRAMES = 4
SPEECH_SEED = 3
VIDEO_SEED = {"train": 31, "test": 32}
TAKES = {"train": 4, "test": 1}
TAKE_ID_STRIDE = 10_000  # Above any digit's id (1,797 images).


def any_digits_arrays(split):
  """The examples of 'train' (4 x 1,528 = 6,112: TAKES) or 'test' (269), in id order (take by take); see the module
  docstring."""
  base = digits.digits_arrays(split)
  takes = []
  for take in range(TAKES[split]):
    ids = base["id"] + TAKE_ID_STRIDE * take
    said, voice, word_form = speech.spoken_digits(base["label"], ids, split, SPEECH_SEED)
    # Each take's motions from a seed of their own; take 0's are those of the one-take split.
    moving = clips.moving_digit_clips(base["image"], VIDEO_SEED[split] + 1000 * take, 1, context=FRAMES - 1)
    video = np.concatenate([moving["video"], moving["target"][:, None]], axis=1)
    takes.append({"image": base["image"], "label": base["label"], "id": ids, "text": base["text"], "speech": said,
                  "voice": voice, "word_form": word_form, "video": video, "dtmf": base["audio"]})
  return {k: np.concatenate([t[k] for t in takes]) for k in takes[0]}
