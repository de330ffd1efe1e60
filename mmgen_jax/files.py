"""Files written whole or not at all: a process killed mid-write leaves the previous file (or none), never half."""
import contextlib
import os


@contextlib.contextmanager
def atomic_write(path, mode="w"):
  """Opens `path + '.tmp'` for writing ('w' or 'wb'); on a clean exit renames it over `path` (atomic on POSIX)."""
  tmp = path + ".tmp"
  with open(tmp, mode) as f:
    yield f
  os.replace(tmp, path)
