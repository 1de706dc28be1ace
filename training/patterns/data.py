"""The pattern image sets of ../shared/data/patterns, as arrays with labels, groups and splits.

Every image is decoded once with Pillow, composited on white, centre-padded to a square and
resized to SIZE x SIZE, and cached in ``out/patterns/images_SIZE.npz``.

Splits are by *source*, before any damage is drawn, so no damaged view of a test image is ever
trained on:
- kamon: by description (all images of one blazon, Edo print and Wikimedia alike, go to the same
  side), 20 % test, deterministic by a hash of the blazon. ``edo-undescribed`` is train-only
  (unlabelled: its own views are its only positives).
- batik-ragam: exact duplicates are found by pixel hash over TRAIN and TEST and near duplicates by
  an 8x8 mean hash; each duplicate group is kept once, on the TEST side when any copy was there,
  and only on the TRAIN side otherwise. The upstream TEST folder is the test split.
- traditional-decor: 20 % test by a hash of the file name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.patterns.concepts import BATIK, DECOR, kamon_charge, kamon_classes

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "patterns"
CACHE = REPO / "out" / "patterns"
SIZE = 64
TEST_SHARE = 0.2


@dataclass
class ImageSet:
    images: np.ndarray  # (N, SIZE, SIZE, 3) uint8
    label: list[str | None]  # class label (None: unlabelled)
    group: list[str]  # source id: views of one group are one "source image"
    split: list[str]  # "train" | "test"
    dataset: list[str]  # "kamon" | "batik" | "decor"
    path: list[str]  # relative to DATA
    meta: list[dict]  # source, licence, description

    def select(self, mask) -> ImageSet:
        idx = np.flatnonzero(mask)
        return ImageSet(self.images[idx], *([getattr(self, k)[i] for i in idx]
                                            for k in ("label", "group", "split", "dataset", "path", "meta")))


def _hash01(text: str) -> float:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def load_image(path: Path, size: int = SIZE) -> np.ndarray:
    """RGB uint8 (size, size, 3): composited on white, padded to a square with the border colour."""
    from PIL import Image

    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("RGB")
    w, h = im.size
    s = max(w, h)
    a = np.asarray(im)
    border = np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]), axis=0).astype(np.uint8)
    sq = Image.new("RGB", (s, s), tuple(int(v) for v in border))
    sq.paste(im, ((s - w) // 2, (s - h) // 2))
    return np.asarray(sq.resize((size, size), Image.BILINEAR), dtype=np.uint8)


def _wiki_licences() -> dict[str, str]:
    import csv

    out = {}
    with open(DATA / "kamon" / "wiki_licenses.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out[row["Description"]] = row["License"]
    return out


def _entries() -> list[dict]:
    out = []
    lic = _wiki_licences()
    kc = kamon_classes()
    for line in open(DATA / "kamon" / "descriptions.jsonl", encoding="utf-8"):
        r = json.loads(line)
        label = kamon_charge(r["description"])
        label = label if label in kc else None
        split = "test" if _hash01("kamon:" + r["description"]) < TEST_SHARE else "train"
        for im in r["images"]:
            licence = ("CC BY-SA 4.0 (Kamon data set, Sakana AI; Ansei Bukan, CODH)" if im["source"] == "edo"
                       else f"Wikimedia: {lic.get(r['description'], 'see kamon/wiki_licenses.csv')}")
            out.append(dict(path=f"kamon/{im['path']}", label=label, group="kamon:" + r["description"], split=split,
                            dataset="kamon", meta={"description": r["description"], "source": im["source"],
                                                   "upstream": im.get("upstream"), "licence": licence}))
    for p in sorted((DATA / "kamon" / "edo-undescribed").glob("*.jpg")):
        out.append(dict(path=f"kamon/edo-undescribed/{p.name}", label=None, group="kamon-u:" + p.name, split="train",
                        dataset="kamon", meta={"description": None, "source": "edo-undescribed",
                                               "licence": "CC BY-SA 4.0 (Kamon data set, Sakana AI; Ansei Bukan, CODH)"}))
    for side in ("TRAIN", "TEST"):
        for cls in sorted(BATIK):
            for p in sorted((DATA / "batik-ragam" / side / cls).glob("*")):
                out.append(dict(path=f"batik-ragam/{side}/{cls}/{p.name}", label="batik:" + cls, group="",
                                split="test" if side == "TEST" else "train", dataset="batik",
                                meta={"source": "batik-ragam", "licence": "none stated; evaluation only"}))
    for p in sorted((DATA / "traditional-decor").glob("*.jpg")):
        code = p.name.split("_")[1]
        if code not in DECOR:
            continue
        out.append(dict(path=f"traditional-decor/{p.name}", label="decor:" + DECOR[code][0], group="decor:" + p.name,
                        split="test" if _hash01("decor:" + p.name) < TEST_SHARE else "train", dataset="decor",
                        meta={"source": "traditional-decor", "licence": "none stated; evaluation only"}))
    return out


def _dedupe_batik(entries: list[dict], images: np.ndarray) -> tuple[list[dict], np.ndarray, dict]:
    """Group exact and near (8x8 mean-hash) duplicates; keep one per group, TEST side first."""
    keep, report = [], {"exact": 0, "near": 0, "train_test": 0}
    order = sorted(range(len(entries)), key=lambda i: (entries[i]["dataset"] != "batik", entries[i]["split"] != "test"))
    seen_exact: dict[str, int] = {}
    seen_near: dict[bytes, int] = {}
    for i in order:
        e = entries[i]
        if e["dataset"] != "batik":
            keep.append(i)
            continue
        exact = hashlib.sha1(images[i].tobytes()).hexdigest()
        g = images[i].mean(axis=2).reshape(8, 8, 8, 8).mean(axis=(1, 3))
        near = (g > g.mean()).tobytes() + bytes(e["label"], "utf-8")
        first = seen_exact.get(exact, seen_near.get(near))
        if first is not None:
            report["exact" if exact in seen_exact else "near"] += 1
            if entries[first]["split"] != e["split"]:
                report["train_test"] += 1
            continue
        seen_exact[exact] = i
        seen_near[near] = i
        e["group"] = f"batik:{e['path']}"
        keep.append(i)
    keep.sort()
    return [entries[i] for i in keep], images[keep], report


def load(size: int = SIZE) -> ImageSet:
    if not DATA.exists():
        raise FileNotFoundError(f"{DATA} not found (the shared data set beside the checkout)")
    CACHE.mkdir(parents=True, exist_ok=True)
    entries = _entries()
    cache = CACHE / f"images_{size}.npz"
    paths = [e["path"] for e in entries]
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        if list(z["paths"]) == paths:
            images = z["images"]
        else:
            cache.unlink()
    if not cache.exists():
        images = np.stack([load_image(DATA / p, size) for p in paths])
        np.savez(cache, images=images, paths=np.array(paths))
    entries, images, report = _dedupe_batik(entries, images)
    s = ImageSet(images, [e["label"] for e in entries], [e["group"] for e in entries], [e["split"] for e in entries],
                 [e["dataset"] for e in entries], [e["path"] for e in entries], [e["meta"] for e in entries])
    s.dedupe_report = report  # type: ignore[attr-defined]
    return s
