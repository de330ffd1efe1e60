"""An inter-process lock on a file, so concurrent processes (parallel tests, several jobs on one machine, the
processes of a multi-process run) prepare a shared cache once instead of racing on it."""
import contextlib
import fcntl
import os


@contextlib.contextmanager
def file_lock(path):
  """Holds an exclusive flock on `path` (created if missing) for the duration of the block."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)
