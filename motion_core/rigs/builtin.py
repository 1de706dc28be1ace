"""Rigs shipped with the package, usable by name wherever a target rig is asked for.

| name      | what                                                        | file axes, unit   |
|-----------|-------------------------------------------------------------|-------------------|
| canonical | the 21-joint canonical skeleton in its T-pose, 1.75 m tall  | Z-up, metres      |
| cmu       | CMU 31-joint skeleton as in the common BVH conversions      | Y-up, inch/0.45   |
| mixamo    | Mixamo (``mixamorig:``) humanoid, T-pose                    | Y-up, cm          |
| rigify    | Blender's Rigify human metarig, joints at the bone heads    | Z-up, metres      |

The geometry is typical of each family, written for this project (no captured data).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from .. import config
from ..skeleton import canonical
from .axes import AxisConvention
from .bvh import BvhClip, parse_bvh
from .hierarchy import Skeleton
from .retarget import Rig, make_rig

_FILES = {
    "cmu": ("cmu.bvh", AxisConvention("Y", 0.0254 / 0.45)),
    "mixamo": ("mixamo.bvh", AxisConvention("Y", 0.01)),
    "rigify": ("rigify.bvh", AxisConvention("Z", 1.0)),
}
NAMES: tuple[str, ...] = ("canonical", *_FILES)

#: Canonical T-pose joint positions (metres, pelvis at the origin) for a 1.75 m figure.
CANONICAL_TPOSE = canonical.TPOSE


def canonical_skeleton() -> Skeleton:
    """The canonical joints as a BVH-style skeleton (Z-up metres, pelvis 0.97 m above ground)."""
    off = CANONICAL_TPOSE - np.where(canonical.PARENTS[:, None] >= 0,
                                     CANONICAL_TPOSE[np.maximum(canonical.PARENTS, 0)], 0)
    off[0] = [0, 0, 0.97]
    six = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    chans: list[tuple[str, ...]] = [six if p < 0 else six[3:] for p in canonical.PARENTS]
    ends = [(canonical.INDEX["head"], np.array([0, 0, 0.18]))]
    ends += [(canonical.INDEX[s + "hand"], np.array([0.08 * sgn, 0, 0])) for s, sgn in (("l_", 1), ("r_", -1))]
    ends += [(canonical.INDEX[s + "toe"], np.array([0, -0.06, 0])) for s in ("l_", "r_")]
    return Skeleton(list(canonical.JOINTS), canonical.PARENTS, off, chans, ends)


def builtin_rig(name: str) -> tuple[Rig, BvhClip]:
    """A built-in rig and a one-frame rest clip of it. Raises KeyError for unknown names."""
    if name == "canonical":
        sk = canonical_skeleton()
        clip = BvhClip(sk, 1 / config.FPS, np.zeros((1, sk.num_channels)))
        clip.values[0, 2] = 0.97
        return make_rig(sk, name, AxisConvention("Z", 1.0)), clip
    if name not in _FILES:
        raise KeyError(f"unknown built-in rig {name!r}; choose one of {', '.join(NAMES)} or give a BVH file")
    fname, axes = _FILES[name]
    text = resources.files(__package__).joinpath(fname).read_text(encoding="utf-8")
    clip = parse_bvh(text, source=f"built-in rig {name}")
    return make_rig(clip.skeleton, name, axes), clip
