"""`any_digits`: one digit in four modalities per example, for any-to-any generation.

Each example of the embedded `digits` (the real scikit-learn image, its caption) gains a spoken clip of the same
digit (`speech.py`: eSpeak NG, 1 s at 16 kHz, voices split between train and test) and a moving-digit video (the
`moving_digits` motion of `clips.py`: the digit at half size moving at up to 3 px per frame and bouncing, T = 4 frames
of 32x32). Features: image uint8 [32, 32, 1], label, id, text str, speech float32 [16000], voice str (the eSpeak
variant), word_form int64 (how the clip says the digit: an index into `speech.WORD_FORMS`, e.g. "number {}"),
video uint8 [4, 32, 32, 1], dtmf float32 [4000] (the `digits` DTMF clip: tones as an alternative audio).
"""
import numpy as np

from mmgen_jax.data import clips, digits, speech

FRAMES = 4
SPEECH_SEED = 3
VIDEO_SEED = {"train": 31, "test": 32}


def any_digits_arrays(split):
  """The examples of 'train' (1,528) or 'test' (269), in id order; see the module docstring."""
  base = digits.digits_arrays(split)
  said, voice, word_form = speech.spoken_digits(base["label"], base["id"], split, SPEECH_SEED)
  moving = clips.moving_digit_clips(base["image"], VIDEO_SEED[split], 1, context=FRAMES - 1)
  video = np.concatenate([moving["video"], moving["target"][:, None]], axis=1)
  return {"image": base["image"], "label": base["label"], "id": base["id"], "text": base["text"], "speech": said,
          "voice": voice, "word_form": word_form, "video": video, "dtmf": base["audio"]}
