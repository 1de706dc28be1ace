"""Add the CMU dance sets and the SFU dance clips to the training cache.

    python -m training.build_dance [--data ../shared/data] [--cache DIR]       # build / update
    python -m training.build_dance --check-rate                                # salsa frame-rate evidence

Sources (read-only, never copied into the repository):

* ``cmu-dance/{indian,salsa,martial}``: CMU mocap in the 43-joint "Daz" naming, mapped onto the
  canonical skeleton with the explicit map ``training/cmu_daz_bonemap.json`` (the automatic map does
  not know this naming; the Daz skeleton has no toe joints, so ``l_toe``/``r_toe`` follow the feet).
  Indian and martial arts are 120 fps; salsa is read at the rate settled by ``--check-rate``
  (see ``training/dance_data.json``: 60 fps, although its headers say 120).
* ``sfu-dance``: two clips (Chinese and Xinjiang dance), 120 fps, automatic map. Their terms are
  unverified, so they go to the ``eval`` split: used to measure, never to train.

Every clip is resampled to 25 fps and stored like the Bandai clips (``training.build_dataset``) in
``CACHE/clips/``, listed in ``CACHE/clips/dance_index.json``. The split is by take, fixed in
``training/dance_data.json`` (salsa files N and N+15 are the two partners of one take and share a
split). Captions are the project's own, per clip, from ``dance_data.json``: genre words written by
hand, with tempo and arm / leg activity words chosen from the clip's measured motion
(:func:`describe`), so they say what the motion shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from motion_core.config import FPS
from motion_core.rigs.bonemap import load_override
from motion_core.rigs.bvh import read_bvh
from motion_core.rigs.retarget import calibrate_twist, make_rig, motion_from_clip
from motion_core.skeleton import canonical

from .build_dataset import Progress, _atomic_savez, _stamp, default_cache, skeleton_signature
from .features import motion_features

HERE = Path(__file__).resolve().parent
DANCE_DATA = HERE / "dance_data.json"
CMU_MAP = HERE / "cmu_daz_bonemap.json"
DEFAULT_SHARED = HERE.parents[1] / "shared" / "data"
DANCE_BUILDER_VERSION = 1


def dance_table() -> dict:
    return json.loads(DANCE_DATA.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Motion statistics (used for the salsa rate check and for the caption descriptors)


def speed_stats(motion) -> dict[str, float]:
    """Mean speeds (m/s) of the hands, feet and all joints relative to the pelvis, the pelvis'
    ground speed, and the step rate (foot-contact onsets per second, both feet)."""
    pos = motion.positions()
    pel = pos[:, :1]
    rel = pos - pel
    v = np.linalg.norm(np.diff(rel, axis=0), axis=-1) * motion.fps  # (T-1, 21)
    idx = canonical.INDEX
    hands = v[:, [idx["l_hand"], idx["r_hand"]]].mean()
    feet = v[:, [idx["l_foot"], idx["r_foot"]]].mean()
    root = np.linalg.norm(np.diff(pos[:, 0, :2], axis=0), axis=-1).mean() * motion.fps
    c = motion_features(motion)["contacts"]
    feet_c = np.stack([np.maximum(c[:, 0], c[:, 1]), np.maximum(c[:, 2], c[:, 3])], 1)
    onsets = ((feet_c[1:] > 0.5) & (feet_c[:-1] < 0.5)).sum()
    # Step cadence: the first autocorrelation peak (0.2 to 2 s) of the summed foot speed; one period
    # is one step of either foot, so 1 / period is steps per second.
    sig = v[:, idx["l_foot"]] + v[:, idx["r_foot"]]
    sig = sig - sig.mean()
    ac = np.correlate(sig, sig, "full")[len(sig) - 1:]
    ac = ac / max(ac[0], 1e-9)
    hi = min(len(ac) - 1, int(2.0 * motion.fps))
    lo = int(0.2 * motion.fps)
    while lo < hi and ac[lo + 1] < ac[lo]:  # walk down to the first trough, then take the highest peak
        lo += 1
    lag = lo + int(np.argmax(ac[lo:hi])) if hi > lo else 0
    acc = np.linalg.norm(np.diff(pos, 2, axis=0), axis=-1) * motion.fps ** 2  # (T-2, 21), m/s^2
    return {"joint_speed": float(v.mean()), "hand_speed": float(hands), "foot_speed": float(feet),
            "root_speed": float(root),
            "pelvis_acc_p95": float(np.percentile(acc[:, 0], 95)) if len(acc) else 0.0,
            "hand_acc_p95": float(np.percentile(acc[:, [idx["l_hand"], idx["r_hand"]]], 95)) if len(acc) else 0.0,
            "contact_onsets_per_s": float(onsets / motion.duration),
            "step_hz": float(motion.fps / lag) if lag else 0.0}


# --------------------------------------------------------------------------------------------
# Sources


def cmu_sources(shared: Path, table: dict) -> list[dict]:
    out = []
    for genre, g in table["cmu"].items():
        folder = shared / "cmu-dance" / g["folder"]
        for bvh in sorted(folder.glob("*.bvh")):
            n = int(bvh.stem)
            take = n - 15 if (genre == "salsa" and n > 15) else n  # salsa N and N+15: one take, two partners
            out.append({"source": "cmu", "genre": genre, "bvh": bvh, "name": f"cmu_{genre}_{bvh.stem}",
                        "take": f"{genre}-{take:02d}", "fps": float(g["fps"]),
                        "split": "val" if take in g["val_takes"] else "train"})
    return out


def sfu_sources(shared: Path, table: dict) -> list[dict]:
    out = []
    for stem, s in table["sfu"].items():
        bvh = shared / "sfu-dance" / f"{stem}.bvh"
        if bvh.exists():
            out.append({"source": "sfu", "genre": s["genre"], "bvh": bvh, "name": f"sfu_{stem}", "take": stem,
                        "fps": None, "split": "eval"})
    return out


def read_at(path: Path, fps: float | None):
    clip = read_bvh(path)
    if fps:
        clip.frame_time = 1.0 / fps  # the header's rate is wrong for salsa; the samples are right
    return clip


def rigs_for(sources: list[dict]) -> dict[str, object]:
    """One rig per distinct skeleton, its twist calibrated over all clips of that skeleton."""
    groups: dict[str, list] = {}
    for s in sources:
        clip = read_at(s["bvh"], s["fps"])
        groups.setdefault(skeleton_signature(clip.skeleton), []).append((s, clip))
    rigs = {}
    for sig, items in groups.items():
        s0, c0 = items[0]
        override = load_override(CMU_MAP, c0.skeleton) if s0["source"] == "cmu" else None
        rig = make_rig(c0.skeleton, f"{s0['source']} skeleton {sig}", override=override, sample_frames=c0)
        calibrate_twist(rig, [c for _, c in items][:20])
        rigs[sig] = rig
    return rigs


def describe(stats: dict, genre_stats: list[dict]) -> dict[str, str]:
    """Tempo, arm and leg words for a clip from where it sits among the clips of its genre."""
    def rank(key):
        vals = sorted(g[key] for g in genre_stats)
        return np.searchsorted(vals, stats[key], side="right") / len(vals)
    words = dance_table()["descriptors"]

    def pick(key, table):
        r = rank(key)
        return table[0] if r <= 1 / 3 else table[1] if r <= 2 / 3 else table[2]
    return {"tempo": pick("joint_speed", words["tempo"]), "arms": pick("hand_speed", words["arms"]),
            "legs": pick("foot_speed", words["legs"])}


def clip_captions(genre: dict, desc: dict[str, str]) -> list[str]:
    out = []
    for tpl in dance_table()["templates"]:
        for noun in genre["nouns"]:
            out.append(" ".join(tpl.format(noun=noun, tempo=desc["tempo"], arms=desc["arms"],
                                           legs=desc["legs"]).split()))
    return sorted(set(out))


def build(shared: Path, cache: Path, progress: bool = True) -> dict:
    table = dance_table()
    sources = cmu_sources(shared, table) + sfu_sources(shared, table)
    clip_dir = cache / "clips"
    clip_dir.mkdir(parents=True, exist_ok=True)
    rigs = rigs_for(sources)
    bar = Progress(len(sources), "dance clips", progress)
    records = []
    for s in sources:
        clip = read_at(s["bvh"], s["fps"])
        rig = rigs[skeleton_signature(clip.skeleton)]
        motion = motion_from_clip(clip, rig).resample(FPS)
        feats = motion_features(motion)
        npz = clip_dir / f"{s['name']}.npz"
        _atomic_savez(npz, rotations=motion.rotations.astype(np.float32), root=motion.root.astype(np.float32),
                      tpose=motion.tpose.astype(np.float32), present=motion.present, fps=np.float32(motion.fps),
                      **feats)
        records.append((s, motion, speed_stats(motion), clip.fps))
        bar.update()
    entries = []
    for s, motion, st, src_fps in records:
        genre_stats = [r[2] for r in records if r[0]["genre"] == s["genre"]]
        if len(genre_stats) < 3:  # too few to rank within the genre: rank among all the dance clips
            genre_stats = [r[2] for r in records if r[0]["genre"] != "martial-arts"]
        g = table["cmu"].get(s["genre"]) or table["sfu_genres"][s["genre"]]
        desc = describe(st, genre_stats)
        entries.append({
            "name": s["name"], "dataset": s["source"], "file": f"{s['name']}.npz",
            "stamp": f"{DANCE_BUILDER_VERSION}:{_stamp(s['bvh'])}", "content": s["genre"], "style": "normal",
            "genre": s["genre"], "take": s["take"], "frames": motion.num_frames, "split": s["split"],
            "source_file": str(s["bvh"].relative_to(shared)), "source_fps_used": round(src_fps, 3),
            "stats": {k: round(v, 3) for k, v in st.items()}, "descriptors": desc,
            "captions": clip_captions(g, desc), "captions_by": "Heritage Motion project (authored, not from the source)",
        })
    index = {
        "builder_version": DANCE_BUILDER_VERSION, "fps": FPS,
        "sources": {"cmu": table["cmu_terms"], "sfu": table["sfu_terms"]},
        "totals": {s: {"clips": sum(e["split"] == s for e in entries),
                       "minutes": round(sum(e["frames"] for e in entries if e["split"] == s) / FPS / 60, 2)}
                   for s in ("train", "val", "eval")},
        "clips": entries,
    }
    path = clip_dir / "dance_index.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, path)
    return index


# --------------------------------------------------------------------------------------------
# Salsa's frame rate


def check_rate(shared: Path, cache: Path) -> dict:
    """Speeds and step rates of each set, with salsa read at 120 and at 60 fps, against the other CMU
    sets, the SFU dances and Bandai's dance clips (all at their known rates)."""
    table = dance_table()
    srcs = cmu_sources(shared, table)
    rigs = rigs_for([dict(s, fps=None) for s in srcs])
    rows: dict[str, list[dict]] = {}
    for s in srcs:
        rates = (120.0, 60.0) if s["genre"] == "salsa" else (120.0,)
        for fps in rates:
            clip = read_at(s["bvh"], fps)
            m = motion_from_clip(clip, rigs[skeleton_signature(clip.skeleton)]).resample(FPS)
            rows.setdefault(f"{s['genre']} @ {fps:g} fps", []).append(speed_stats(m))
    for s in sfu_sources(shared, table):
        clip = read_bvh(s["bvh"])
        rig = make_rig(clip.skeleton, s["name"], sample_frames=clip)
        rows.setdefault("sfu (120 fps)", []).append(speed_stats(motion_from_clip(clip, rig).resample(FPS)))
    index = cache / "clips" / "index.json"
    if index.exists():
        from motion_core.skeleton.motion import Motion
        for e in json.loads(index.read_text())["clips"]:
            if e["content"] in ("dance-short", "walk", "run"):
                with np.load(cache / "clips" / e["file"]) as z:
                    m = Motion(z["rotations"], z["root"], z["tpose"], z["present"], float(z["fps"]))
                rows.setdefault(f"bandai {e['content']} (30 fps)", []).append(speed_stats(m))
    out = {k: {key: round(float(np.median([r[key] for r in v])), 3) for key in v[0]} | {"clips": len(v)}
           for k, v in rows.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.build_dance", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_SHARED, help=f"shared data folder (default {DEFAULT_SHARED})")
    p.add_argument("--cache", type=Path, default=None)
    p.add_argument("--check-rate", action="store_true", help="print the evidence for salsa's frame rate")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    if not (a.data / "cmu-dance").exists():
        print(f"error: {a.data / 'cmu-dance'} not found; point --data at the shared data folder", file=sys.stderr)
        return 1
    cache = a.cache or default_cache()
    if a.check_rate:
        res = check_rate(a.data, cache)
        keys = ["joint_speed", "hand_speed", "foot_speed", "root_speed", "pelvis_acc_p95", "hand_acc_p95",
                "contact_onsets_per_s", "step_hz"]
        print("| set (median over clips) | clips | " + " | ".join(keys) + " |")
        print("|---|---|" + "---|" * len(keys))
        for k, v in res.items():
            print(f"| {k} | {v['clips']} | " + " | ".join(f"{v[x]:.3f}" for x in keys) + " |")
        return 0
    index = build(a.data, cache, not a.quiet)
    t = index["totals"]
    print(", ".join(f"{k}: {v['clips']} clips, {v['minutes']} min" for k, v in t.items()))
    print(f"index: {cache / 'clips' / 'dance_index.json'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
