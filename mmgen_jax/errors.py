"""The one exception type for mistakes a user can make.

The CLI prints a `UserError` as a single line (`error: ...`) and exits with status 2; every other exception is a bug
and keeps its traceback. Messages name the cause and the fix.
"""
import difflib


class UserError(Exception):
  """A mistake in the user's input (config, data, flags, workdir), reported as one line."""


def did_you_mean(word, choices, n=3):
  """' (did you mean: a, b?)' for the closest choices, or '' when nothing is close."""
  close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.5)
  return f" (did you mean: {', '.join(close)}?)" if close else ""
