"""English captions for the embedded `digits`: a template around the digit's word ("seven") or numeral ("7").

`TRAIN_TEMPLATES` write the dataset's `text` feature. `NOVEL_TEMPLATES` share no template with them (other wordings
around the same word or numeral); the conditional-generation benchmark uses them to test that a text encoder learnt
the digit, not the templates.
"""
import re

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

TRAIN_TEMPLATES = (
    "a handwritten {d}",
    "the digit {d}",
    "an image of the number {d}",
    "a picture showing {d}",
    "{d} written by hand",
    "a small grayscale {d}",
    "someone wrote the digit {d}",
    "it shows {d}",
    "the number {d}, handwritten",
    "a blurry {d} on a dark background",
)

NOVEL_TEMPLATES = (
    "my favourite number is {d}",
    "please draw {d}",
    "{d}",
    "can you write {d} for me",
    "the answer is {d}",
    "a quick sketch of {d} in white ink",
    "draw the numeral {d} large",
    "{d} again",
)


def caption(label, rng, templates=TRAIN_TEMPLATES):
  """A caption for digit `label`: a random template, the word or the numeral with equal probability."""
  template = templates[rng.integers(len(templates))]
  word = WORDS[label] if rng.random() < 0.5 else str(label)
  return template.format(d=word)


def digit_captions(labels, ids, seed, templates=TRAIN_TEMPLATES):
  """str array [N]: one caption per example, a pure function of (seed, example id)."""
  return np.asarray([caption(int(l), np.random.default_rng([seed, int(i)]), templates) for l, i in zip(labels, ids)])


def all_captions(label, templates=TRAIN_TEMPLATES):
  """Every caption the templates can write for digit `label` (each template with the word and with the numeral)."""
  return [t.format(d=d) for t in templates for d in (WORDS[label], str(label))]


def named_digits(text):
  """The set of digits a caption names, by word ("seven") or numeral ("7"); numerals are read digit by digit."""
  found = set()
  for token in re.findall(r"[a-z]+|[0-9]", text.lower()):
    if token in WORDS:
      found.add(WORDS.index(token))
    elif token.isdigit():
      found.add(int(token))
  return found
