"""Build the training set from the Bandai-Namco motion datasets.

    python -m training.build_dataset [--data ../shared/data/bandai-namco] [--cache DIR] [--limit N]

For each clip: read the BVH, map it onto the canonical skeleton, resample 30 -> 25 fps, and store
the canonical motion plus features (:mod:`training.features`) and captions as one npz in the
cache. A rebuild only processes clips whose source changed. Dataset-2 is unpacked once into the
cache. The split is by clip: a clip's name decides, reproducibly, whether it is validation.

Data: Bandai-Namco-Research-Motiondataset (Kobayashi et al. 2023), CC BY-NC 4.0. It stays outside
the repository: the cache defaults to ``$HM_CACHE`` or ``~/.cache/heritage-motion``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_core.config import FPS, VALIDATION_FRACTION
from motion_core.files import save_atomic, write_atomic
from motion_core.rigs.bvh import BVHError, read_bvh
from motion_core.rigs.retarget import Rig, calibrate_twist, make_rig, motion_from_clip

from .captions import captions
from .features import motion_features

BUILDER_VERSION = 2  # 2: twist calibrated once per skeleton over a pool of clips
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bandai-namco"


def default_cache() -> Path:
    return Path(os.environ.get("HM_CACHE", Path.home() / ".cache" / "heritage-motion"))


@dataclass
class ClipSource:
    dataset: str  # "dataset-1" or "dataset-2"
    name: str  # file stem, e.g. dataset-1_bow_active_001
    bvh: Path
    content: str
    style: str


def _labels(dataset_dir: Path) -> tuple[list[str], list[str]]:
    def read(f):
        prefix = dataset_dir.name + "_"
        return [ln.strip().removeprefix(prefix) for ln in (dataset_dir / "cfg" / f).read_text().splitlines() if ln.strip()]
    return read("content_label.txt"), read("style_label.txt")


def unpack_dataset2(data_root: Path, cache: Path, progress: bool = True) -> Path:
    """Unpack dataset-2/data.tar.xz into ``cache/bandai/`` once; returns the folder holding data/."""
    target = cache / "bandai"
    done = target / "dataset-2" / ".unpacked"
    if done.exists():
        return target / "dataset-2"
    tar_path = data_root / "dataset-2" / "data.tar.xz"
    if not tar_path.exists():
        raise FileNotFoundError(f"{tar_path} not found")
    target.mkdir(parents=True, exist_ok=True)
    if progress:
        print(f"unpacking {tar_path} into {target} (once) ...", file=sys.stderr)
    with tarfile.open(tar_path, "r:xz") as tf:
        tf.extractall(target, filter="data")
    done.touch()
    return target / "dataset-2"


def discover(data_root: Path, cache: Path, datasets: tuple[str, ...] = ("dataset-1", "dataset-2")) -> list[ClipSource]:
    """All labelled clips, sorted by name."""
    out: list[ClipSource] = []
    for ds in datasets:
        ds_dir = data_root / ds
        if not ds_dir.exists():
            raise FileNotFoundError(f"{ds_dir} not found")
        contents, styles = _labels(ds_dir)
        bvh_dir = (ds_dir / "data") if ds == "dataset-1" else (unpack_dataset2(data_root, cache) / "data")
        for bvh in sorted(bvh_dir.glob("*.bvh")):
            label = bvh.with_suffix(".json")
            if label.exists():
                meta = json.loads(label.read_text())
                content, style = contents[meta["content"]], styles[meta["style"]]
            else:  # the file name carries the same labels: {dataset}_{content}_{style}_{id}
                content, style, _ = bvh.stem.removeprefix(ds + "_").rsplit("_", 2)
                if content not in contents or style not in styles:
                    raise ValueError(f"{bvh}: no {label.name} and the name has no known labels")
            out.append(ClipSource(ds, bvh.stem, bvh, content, style))
    return out


def is_validation(name: str) -> bool:
    h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return h < VALIDATION_FRACTION


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{BUILDER_VERSION}:{st.st_size}:{int(st.st_mtime)}"


def skeleton_signature(sk) -> str:
    h = hashlib.sha1("|".join(sk.names).encode())
    h.update(np.round(sk.offsets, 3).tobytes())
    return h.hexdigest()[:12]


def calibrated_rigs(sources: list[ClipSource], pool: int = 40) -> dict[str, Rig]:
    """One rig per distinct skeleton, its T-pose twist calibrated over up to ``pool`` clips spread
    across the data (so every clip of a skeleton shares one convention)."""
    groups: dict[str, list] = {}
    step = max(1, len(sources) // pool)
    for src in sources[::step]:
        try:
            clip = read_bvh(src.bvh)
        except BVHError:
            continue
        groups.setdefault(skeleton_signature(clip.skeleton), []).append(clip)
    rigs = {}
    for sig, clips in groups.items():
        rig = make_rig(clips[0].skeleton, f"skeleton {sig}", sample_frames=clips[0])
        calibrate_twist(rig, clips)
        rigs[sig] = rig
    return rigs


def process_clip(src: ClipSource, rigs: dict[str, Rig] | None = None) -> dict[str, np.ndarray]:
    clip = read_bvh(src.bvh)
    rig = (rigs or {}).get(skeleton_signature(clip.skeleton))
    if rig is None:  # a skeleton not in the pool: calibrate on the clip itself
        rig = make_rig(clip.skeleton, src.name, sample_frames=clip)
    motion = motion_from_clip(clip, rig).resample(FPS)
    feats = motion_features(motion)
    return {
        "rotations": motion.rotations.astype(np.float32),
        "root": motion.root.astype(np.float32),
        "tpose": motion.tpose.astype(np.float32),
        "present": motion.present,
        "fps": np.float32(motion.fps),
        **feats,
    }


def _atomic_savez(path: Path, **arrays) -> None:
    save_atomic(path, lambda tmp: np.savez_compressed(tmp, **arrays))


class Progress:
    """A one-line progress bar with ETA on stderr (no dependency)."""

    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.start = time.monotonic()
        self.n = 0
        # On a terminal redraw in place; in logs print about every 10 %.
        self.tty = sys.stderr.isatty()
        self.every = 1 if self.tty else max(1, total // 10)

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.enabled or (self.n % self.every and self.n < self.total):
            return
        el = time.monotonic() - self.start
        eta = el / self.n * (self.total - self.n) if self.n else 0
        bar = "#" * int(30 * self.n / self.total)
        line = f"{self.label} [{bar:<30}] {self.n}/{self.total} {el:5.0f}s elapsed, ETA {eta:4.0f}s"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
        if self.tty and self.n >= self.total:
            print(file=sys.stderr)


def build(data_root: Path, cache: Path, limit: int | None = None,
          datasets: tuple[str, ...] = ("dataset-1", "dataset-2"), progress: bool = True) -> dict:
    """Build or update the cache; returns the index written to ``cache/clips/index.json``."""
    sources = discover(data_root, cache, datasets)
    if limit is not None:
        sources = sources[:limit]
    clip_dir = cache / "clips"
    clip_dir.mkdir(parents=True, exist_ok=True)
    index_path = clip_dir / "index.json"
    old = {c["name"]: c for c in json.loads(index_path.read_text())["clips"]} if index_path.exists() else {}
    entries, errors, rebuilt = [], [], 0
    rigs: dict[str, Rig] | None = None
    bar = Progress(len(sources), "clips", progress)
    for src in sources:
        npz = clip_dir / f"{src.name}.npz"
        stamp = _stamp(src.bvh)
        prev = old.get(src.name)
        if not (prev and prev.get("stamp") == stamp and npz.exists()):
            if rigs is None:
                rigs = calibrated_rigs(sources)
            try:
                _atomic_savez(npz, **process_clip(src, rigs))
            except (BVHError, ValueError) as e:
                errors.append(f"{src.bvh}: {e}")
                bar.update()
                continue
            rebuilt += 1
            with np.load(npz) as z:
                frames = int(z["root"].shape[0])
        else:
            frames = prev["frames"]
        entries.append({
            "name": src.name, "dataset": src.dataset, "file": npz.name, "stamp": stamp,
            "content": src.content, "style": src.style, "frames": frames,
            "split": "val" if is_validation(src.name) else "train",
            "captions": captions(src.content, src.style),
        })
        bar.update()
    frames = sum(e["frames"] for e in entries)
    index = {
        "builder_version": BUILDER_VERSION, "fps": FPS,
        "source": "Bandai-Namco-Research-Motiondataset (Kobayashi et al. 2023, arXiv:2306.08861), CC BY-NC 4.0",
        "totals": {
            "clips": len(entries), "frames": frames, "minutes": round(frames / FPS / 60, 2),
            "captions": len({c for e in entries for c in e["captions"]}),
            "pairs": len({(e["content"], e["style"]) for e in entries}),
            "train_clips": sum(e["split"] == "train" for e in entries),
            "val_clips": sum(e["split"] == "val" for e in entries),
            "rebuilt": rebuilt, "errors": len(errors),
        },
        "errors": errors,
        "clips": entries,
    }
    write_atomic(index_path, json.dumps(index, indent=1))
    return index


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.build_dataset", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"Bandai-Namco folder (default {DEFAULT_DATA})")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default $HM_CACHE or ~/.cache/heritage-motion)")
    p.add_argument("--limit", type=int, default=None, help="only the first N clips (for quick checks)")
    p.add_argument("--datasets", default="dataset-1,dataset-2", help="comma-separated subset")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if not args.data.exists():
        print(f"error: {args.data} not found; point --data at the Bandai-Namco folder", file=sys.stderr)
        return 1
    cache = args.cache or default_cache()
    try:
        index = build(args.data, cache, args.limit, tuple(args.datasets.split(",")), not args.quiet)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    t = index["totals"]
    print(f"{t['clips']} clips, {t['frames']} frames at {FPS:g} fps = {t['minutes']} minutes, "
          f"{t['captions']} distinct captions over {t['pairs']} (content, style) pairs; "
          f"train {t['train_clips']}, val {t['val_clips']}; rebuilt {t['rebuilt']}, errors {t['errors']}")
    print(f"cache: {cache / 'clips'}")
    for e in index["errors"]:
        print(f"  skipped: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
