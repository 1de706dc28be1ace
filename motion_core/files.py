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
