"""The files a user names on a command line: files as given, folders as the files directly inside."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


def expand_inputs(inputs: Sequence[str | Path], suffixes: Iterable[str], what: str) -> list[Path]:
    """Each input that is a folder -> its files with one of ``suffixes`` (lower case, with the dot;
    hidden files skipped), sorted; a file -> itself. FileNotFoundError naming an input that does not
    exist; ValueError when nothing is found (``what`` names the kind, e.g. ".bvh clips")."""
    wanted = {s.lower() for s in suffixes}
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in wanted and not q.name.startswith(".")))
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    if not files:
        raise ValueError(f"no {what} in {', '.join(map(str, inputs))}")
    return files
