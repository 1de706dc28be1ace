"""Atomic file output: the one way every output of the product is written.

A file appears complete under its final name or not at all: it is written to a temporary file in
the same folder (same file system, so the rename is atomic) and renamed into place. A failure
removes the temporary file and names the destination, never the temporary name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike[str], overwrite: bool = True, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on a clean exit it is renamed to ``path``.

    ``suffix``: the temporary file's suffix (default: ``path``'s own, so writers that pick a format
    by extension, such as ``numpy.savez`` or Blender, behave). Raises FileExistsError when ``path``
    exists and ``overwrite`` is false, and OSError naming ``path`` when its folder is not writable.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp" + (path.suffix if suffix is None else suffix),
                                    dir=path.parent)
    except OSError as e:
        raise OSError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the user's normal permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(path: str | os.PathLike[str], data: str | bytes, overwrite: bool = True) -> Path:
    """Write text (UTF-8, ``\\n`` line ends) or bytes to ``path`` atomically."""
    with atomic_path(path, overwrite) as tmp:
        if isinstance(data, str):
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                f.write(data)
        else:
            tmp.write_bytes(data)
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], data: Any, overwrite: bool = True) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    return write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", overwrite)


def save_atomic(path: str | os.PathLike[str], writer: Callable[[Path], Any], overwrite: bool = True) -> Path:
    """Call ``writer(tmp_path)`` (``np.savez_compressed``, ``torch.save``, ``fig.savefig`` ...) and
    rename the result to ``path``."""
    with atomic_path(path, overwrite) as tmp:
        writer(tmp)
    return Path(path)


# --------------------------------------------------------------------------------------------
# Locks

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # Windows has no fcntl; msvcrt locks instead
    import msvcrt


class LockHeld(OSError):
    """The lock is held by another process (raised only with ``wait=False``)."""


def _lock_fd(fd: int, wait: bool) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        return
    # Windows (untested here): msvcrt locks a byte range; LK_LOCK retries for 10 s, so loop.
    while True:  # pragma: no cover
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
            return
        except OSError:
            if not wait:
                raise


@contextmanager
def file_lock(path: str | os.PathLike[str], wait: bool = True) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (created if needed; never removed, since removing a lock
    file races with a process about to take it) for the ``with`` block.

    ``fcntl.flock`` on POSIX: the kernel releases it when the holder exits or is killed, so a lock
    is never left behind. On Windows ``msvcrt.locking`` on the file's first byte, also released when
    the process ends. ``wait=False`` raises :class:`LockHeld` instead of waiting.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    except OSError as e:
        raise OSError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    try:
        try:
            _lock_fd(fd, wait)
        except (BlockingIOError, PermissionError, OSError) as e:
            if wait:
                raise
            raise LockHeld(f"{path} is locked by another process") from e
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def lock_is_held(path: str | os.PathLike[str]) -> bool:
    """Whether another process holds ``path``'s lock now (False when the file is gone)."""
    if not Path(path).exists():
        return False
    try:
        with file_lock(path, wait=False):
            return False
    except LockHeld:
        return True
