"""Atomic file writes: a file is written beside its destination under a temporary name and renamed over it
(os.replace), so a run killed, interrupted or out of disk space mid-write leaves the previous whole file
(or none), never half of one that would break `--resume`, `automl report` or `automl predict`.

A failed write raises OSError naming the destination (error.filename), which the CLI turns into one clear
message; the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

# Temporary names: ".NAME.partial-TOKEN.EXT", hidden, with the destination's extension (numpy's savez adds
# ".npz" to a name without it) and a token unique to this process and write.
_TEMPORARY = re.compile(r"^\..+\.partial-[0-9a-f]+(\.[^.]*)?$")


def temporary_name(path: Path) -> Path:
    """A fresh temporary path in path's folder, for writing path atomically."""
    path = Path(path)
    return path.with_name(f".{path.stem}.partial-{os.getpid():x}{secrets.token_hex(4)}{path.suffix}")


def is_temporary(name: str) -> bool:
    """Whether a file name is one of temporary_name's (left behind only when a process was killed mid-write)."""
    return bool(_TEMPORARY.match(name))


def _named(error: OSError, path: Path) -> OSError:
    """The error with the destination as its filename (a write() on a full disk names no file)."""
    if error.filename is not None and not is_temporary(Path(str(error.filename)).name):
        return error
    return OSError(error.errno, error.strerror or str(error), str(path))  # OSError picks the errno's subclass


def _sync(path: Path) -> None:
    """Flushes a written file to disk, so a power cut after the rename cannot leave it empty."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside path for a writer that opens files itself (numpy, pandas); when the
    block ends without an error the file written there (if any) replaces path, else it is removed.

    Raises:
        OSError: Writing or renaming failed (error.filename is path); path is left as it was.
    """
    path = Path(path)
    temporary = temporary_name(path)
    try:
        yield temporary
        if os.path.lexists(temporary):  # a writer that wrote nothing leaves path as it was
            _sync(temporary)
            os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise _named(error, path) from error
    except BaseException:
        _remove(temporary)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Writes data to path atomically (see the module docstring); returns path."""
    path = Path(path)
    with atomic_path(path) as temporary:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    return path


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Writes text to path atomically (see the module docstring); returns path."""
    return write_bytes_atomic(path, text.encode(encoding))


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
