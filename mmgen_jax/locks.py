"""Inter-process locks on files: `file_lock` waits, so concurrent processes (parallel tests, several jobs on one
machine, the processes of a multi-process run) prepare a shared cache once instead of racing on it;
`exclusive_lock` refuses at once, so two trainers never write one workdir."""
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


@contextlib.contextmanager
def exclusive_lock(path, busy_message):
  """Holds an exclusive flock on `path` for the block, or raises UserError(busy_message(holder)) at once when another
  process holds it; `holder` is what that process wrote into the file ("pid N on HOST"). The lock dies with its
  process (a killed run never leaves a stale lock); the file stays."""
  import socket

  from mmgen_jax.errors import UserError

  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  f = open(path, "a+")
  try:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      f.seek(0)
      raise UserError(busy_message(f.read().strip() or "another process")) from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()} on {socket.gethostname()}")
    f.flush()
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)
  finally:
    f.close()
