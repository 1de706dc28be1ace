"""A pattern library of the user's own: a bank built from a folder of images and a captions file.

    FOLDER/captions.jsonl   one JSON object a line: {"image": "a.png", "caption": "...", "culture": "...",
                            "licence": "..."}  (image relative to FOLDER)
    FOLDER/a.png ...

:func:`build_library` checks everything first (the captions file, every line's four fields, every
image readable) and raises one :class:`LibraryError` naming every problem before any work; then it
encodes the images with the shipped encoder, embeds the captions with MiniLM, finds the prototypes
(K-means++, at most 128, at most the number of images) and writes ``OUT.npz`` and ``OUT.json``
together (both made in a staging folder and moved into place only when both exist).

Each caption is its item's concept (label = the caption), so the semantic bank's centroids are the
users' captions and the prompt retrieves through them. Images are read by a ``reader(path) ->
(H, W, 3|4) float array in [0, 1]``: Pillow from the command line, ``bpy.data.images`` in Blender.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..text.encoder import TextEncoder
from .bank import PROTOTYPES, PatternBank
from .damage import _resize_bilinear
from .encoder import SIZE, PatternEncoder

CAPTIONS = "captions.jsonl"
FIELDS = ("image", "caption", "culture", "licence")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

Reader = Callable[[Path], np.ndarray]
Progress = Callable[[float, str], None]


class LibraryError(ValueError):
    """The folder cannot become a library; the message lists every problem found."""


def to_square(rgb: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(H, W, 3|4) float [0, 1] -> (size, size, 3) uint8: alpha composited on white, padded with the
    border colour to a square, resized (the same preparation as the training images)."""
    a = np.asarray(rgb, np.float32)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, -1)
    if a.shape[-1] == 4:
        a = a[..., :3] * a[..., 3:] + (1 - a[..., 3:])
    h, w, _ = a.shape
    s = max(h, w)
    border = np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]), axis=0)
    sq = np.empty((s, s, 3), np.float32)
    sq[:] = border
    y, x = (s - h) // 2, (s - w) // 2
    sq[y:y + h, x:x + w] = a
    out = np.stack([_resize_bilinear(sq[..., k], size, size) for k in range(3)], -1)
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def pil_reader(path: Path) -> np.ndarray:
    """Read an image with Pillow (command line; Blender uses bpy.data.images instead)."""
    try:
        from PIL import Image  # optional: the command line only, never inside Blender
    except ImportError:
        raise LibraryError("reading images from the command line needs Pillow (pip install pillow); "
                           "or build the library from Blender's Heritage Motion panel") from None
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"), np.float32) / 255.0


def read_captions(folder: Path) -> tuple[list[dict], list[str]]:
    """(entries, problems) from FOLDER/captions.jsonl."""
    problems: list[str] = []
    path = folder / CAPTIONS
    if not folder.is_dir():
        return [], [f"{folder} is not a folder"]
    if not path.exists():
        return [], [f"{path} is missing (one JSON object a line: {', '.join(FIELDS)})"]
    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        return [], [f"{path}: cannot read ({e})"]
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("expected a JSON object")
        except ValueError as err:
            problems.append(f"{path.name}:{n}: {err}")
            continue
        missing = [f for f in FIELDS if not isinstance(entry.get(f), str) or not entry[f].strip()]
        if missing:
            problems.append(f"{path.name}:{n}: missing {', '.join(missing)}")
            continue
        entry["line"] = n
        entries.append(entry)
    if not entries and not problems:
        problems.append(f"{path} has no entries")
    return entries, problems


def build_library(folder: str | os.PathLike[str], out: str | os.PathLike[str], encoder: PatternEncoder,
                  text_encoder: TextEncoder, reader: Reader = pil_reader, progress: Progress | None = None,
                  k: int = PROTOTYPES) -> PatternBank:
    """Check, encode and write the library bank ``out`` (.npz + .json). Raises LibraryError."""
    folder, out = Path(folder), Path(out).with_suffix(".npz")
    report = progress or (lambda f, msg: None)
    entries, problems = read_captions(folder)
    listed = {e["image"] for e in entries}
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() in IMAGE_SUFFIXES and p.name not in listed:
                problems.append(f"{p.name}: no caption in {CAPTIONS}")
    images = []
    for i, e in enumerate(entries):
        p = (folder / e["image"]).resolve()
        report(0.5 * i / max(len(entries), 1), f"reading {e['image']}")
        if not p.exists():
            problems.append(f"{CAPTIONS}:{e['line']}: {e['image']} not found")
            continue
        try:
            images.append(to_square(reader(p)))
        except Exception as err:  # any decoder failure is the file's problem, reported with the rest
            problems.append(f"{e['image']}: unreadable image ({err})")
    if problems:
        head = f"{folder}: cannot build a pattern library ({len(problems)} problem(s); nothing was written):\n  "
        raise LibraryError(head + "\n  ".join(problems[:20]) + ("\n  ..." if len(problems) > 20 else ""))
    report(0.6, "encoding images")
    vis, sem_img = encoder.encode(np.stack(images))
    report(0.75, "embedding captions")
    captions = text_encoder.encode([e["caption"] for e in entries])
    # The item's semantic vector: its own caption (the user's words), so text retrieves by caption.
    items = [{"path": str((folder / e["image"]).resolve()), "label": e["caption"], "caption": e["caption"],
              "culture": e["culture"], "licence": e["licence"], "source": str(folder)} for e in entries]
    concepts: list[dict[str, Any]] = []
    caps: list[np.ndarray] = []
    for e, c in zip(entries, captions, strict=True):
        if e["caption"] not in {x["label"] for x in concepts}:
            concepts.append({"label": e["caption"], "caption": e["caption"], "culture": e["culture"],
                             "sacredness": "decorative", "caption_author": "library owner"})
            caps.append(c)
    report(0.85, "finding prototypes")
    bank = PatternBank.build(vis, captions, items, concepts, np.stack(caps), k=min(k, len(items)),
                             info={"data": "user library", "folder": str(folder), "encoder": "shipped pattern encoder",
                                   "notice": "Your own library: licences as given per image in captions.jsonl",
                                   "image_semantic_embeddings": "caption embeddings (the user's words)"})
    bank.info["image_psi_mean_cos_to_caption"] = round(float(np.mean(np.sum(sem_img * captions, 1))), 4)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".hm-library-", dir=out.parent))
    try:
        bank.save(stage / out.name)
        for suffix in (".json", ".npz"):  # the .json last: a bank is complete once its .json exists
            os.replace(stage / out.with_suffix(suffix).name, out.with_suffix(suffix))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    report(1.0, f"wrote {out}")
    return bank
