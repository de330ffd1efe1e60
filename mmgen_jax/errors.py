"""The exception types a user sees: `UserError` for mistakes, `Interrupted` for a run stopped by a signal.

The CLI prints a `UserError` as a single line (`error: ...`) and exits with status 2; every other exception is a bug
and keeps its traceback. Messages name the cause and the fix. `Interrupted` is not a mistake: a run stopped by a
signal after saving, which the CLI reports with the shell's status for that signal (128 + its number).
"""
import difflib
import errno
import os
import signal


class UserError(Exception):
  """A mistake in the user's input (config, data, flags, workdir), reported as one line."""


class Interrupted(Exception):
  """Training stopped by a signal (SIGTERM, SIGINT) after saving a checkpoint at `step`: rerun to resume."""

  def __init__(self, signum, step, directory):
    self.signum, self.step, self.directory = signum, step, directory
    super().__init__(f"interrupted by {signal.Signals(signum).name} at step {step}, saved to {directory}; rerun "
                     f"to resume")


# What to do when a workdir's disk is full (the checkpointer's free-space check and the trainer's storage errors).
DISK_FULL_FIX = ("free space on that disk (or train in another --workdir), then rerun to resume from the newest "
                 "complete checkpoint")
# Errors of a storage device rather than of the code: full, over quota, file too large, read-only.
_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def disk_error(error):
  """The OSError behind `error` (itself, a cause in its chain, or one TensorStore reports in its message) when the
  storage failed, else None."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno in _DISK_ERRNOS:
      return error
    text = str(error)
    for code in _DISK_ERRNOS:  # TensorStore (orbax's array writer) raises its own types with errno's text.
      if os.strerror(code) in text:
        return OSError(code, os.strerror(code))
    error = error.__cause__ or error.__context__
  return None


def did_you_mean(word, choices, n=3):
  """' (did you mean: a, b?)' for the closest choices, or '' when nothing is close."""
  close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.5)
  return f" (did you mean: {', '.join(close)}?)" if close else ""
