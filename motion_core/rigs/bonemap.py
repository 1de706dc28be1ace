"""Map a rig's joints onto the canonical skeleton by name and structure.

Works on the common families without a per-family table: Bandai-Namco (``UpperArm_L``), CMU and
SFU conversions (``LeftUpLeg``, ``LHipJoint``), Mixamo (``mixamorig:LeftArm``), Rigify
(``upper_arm.L``, ``spine.003``) and the armatures Blender's BVH importer builds (the BVH's own
names). Side tags recognised: ``.L _L -L  L`` suffixes, ``L_ l_ L.`` prefixes, ``Left``/``Right``
and a camel-case ``L``/``R``/``l``/``r`` prefix (``LHipJoint``,
the CMU "Daz-friendly" ``lShldr``). An explicit override (JSON) wins over all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..skeleton import canonical
from .hierarchy import Skeleton

#: Names for each limb joint, best first, after the side tag is removed (lower case, no
#: punctuation). Order matters: "shoulder" is a clavicle when an arm joint hangs below it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "clavicle": ("clavicle", "collar", "collarbone", "shoulder"),
    "upper_arm": ("upperarm", "uparm", "arm", "humerus", "shldr", "shoulder"),
    "forearm": ("forearm", "lowerarm", "lowarm", "elbow"),
    "hand": ("hand", "wrist"),
    "thigh": ("upleg", "thigh", "upperleg", "femur", "hip"),
    "shin": ("leg", "shin", "lowerleg", "lowleg", "calf", "knee"),
    "foot": ("foot", "ankle"),
    "toe": ("toebase", "toe", "toes", "ball"),
}
PELVIS_NAMES = ("hips", "pelvis", "hip")
HEAD_NAMES = ("head",)
NECK_NAMES = ("neck", "neck1")

_PREFIX = re.compile(r"^.*[:|]")  # "mixamorig:Hips", "Armature|Hips"
_ROLE_PREFIX = re.compile(r"^(def|org|mch|bip\d*|b)[-_. ]", re.I)


class NotHumanoidError(ValueError):
    """The rig lacks joints the canonical skeleton needs; ``missing`` lists them."""

    def __init__(self, missing: list[str], rig: str = "rig"):
        self.missing = missing
        super().__init__(f"{rig} is not a humanoid this tool can drive: no joint found for "
                         f"{', '.join(missing)}. Map them in an override file (--map FILE.json).")


@dataclass
class BoneMap:
    """canonical joint name -> rig joint name, plus the rig joints left out."""

    mapping: dict[str, str]
    unmapped: list[str] = field(default_factory=list)

    def indices(self, skeleton: Skeleton) -> dict[str, int]:
        return {c: skeleton.index(n) for c, n in self.mapping.items()}

    def missing_required(self) -> list[str]:
        return [c for c in canonical.REQUIRED if c not in self.mapping]


def split_side(name: str) -> tuple[str | None, str]:
    """('L' | 'R' | None, core) with the core lower case and without punctuation.

    >>> split_side("mixamorig:LeftForeArm")
    ('L', 'forearm')
    >>> split_side("upper_arm.R")
    ('R', 'upperarm')
    >>> split_side("LHipJoint")
    ('L', 'hipjoint')
    """
    n = _ROLE_PREFIX.sub("", _PREFIX.sub("", name.strip()))
    side = None
    m = re.match(r"^(left|right)(?=[^a-z]|[A-Z]|$)", n, re.I)
    if m:
        side, n = m.group(1)[0].upper(), n[m.end():]
    else:
        m = re.search(r"(?:[._\- ])(left|right|[LlRr])$", n)
        if m:
            side, n = m.group(1)[0].upper(), n[: m.start()]
        else:
            m = re.match(r"^([LlRr])[._\- ]", n) or re.match(r"^([LRlr])(?=[A-Z])", n)
            if m:
                side, n = m.group(1).upper(), n[m.end():]
            else:
                m = re.search(r"(left|right)$", n, re.I)
                if m and m.start() > 0:
                    side, n = m.group(1)[0].upper(), n[: m.start()]
    core = re.sub(r"[^a-z0-9]", "", n.lower())
    return side, core


def _depths(sk: Skeleton) -> np.ndarray:
    d = np.zeros(sk.num_joints, dtype=int)
    for j in range(1, sk.num_joints):
        d[j] = d[sk.parents[j]] + 1
    return d


def _subtree(sk: Skeleton, j: int) -> set[int]:
    out = {j}
    for k in range(j + 1, sk.num_joints):
        if sk.parents[k] in out:
            out.add(k)
    return out


def _rest_positions(sk: Skeleton) -> np.ndarray:
    pos = np.zeros((sk.num_joints, 3))
    for j in range(1, sk.num_joints):
        pos[j] = pos[sk.parents[j]] + sk.offsets[j]
    return pos


def _auto(sk: Skeleton) -> dict[str, int]:
    sides, cores = zip(*(split_side(n) for n in sk.names), strict=True)
    depth = _depths(sk)
    found: dict[str, int] = {}

    def pick(candidates: list[int]) -> int | None:
        return min(candidates, key=lambda k: (depth[k], k)) if candidates else None

    # Pelvis: an unsided hips/pelvis joint, else the shallowest joint with both legs below it.
    for name in PELVIS_NAMES:
        j = pick([k for k in range(sk.num_joints) if sides[k] is None and cores[k] == name])
        if j is not None:
            found["pelvis"] = j
            break

    # Limbs, per side, by synonyms in priority order; each joint is used once.
    used: set[int] = set(found.values())
    for side, prefix in (("L", "l_"), ("R", "r_")):
        sided = [k for k in range(sk.num_joints) if sides[k] == side]
        for part in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot", "toe", "clavicle"):
            for syn in SYNONYMS[part]:
                cands = [k for k in sided if cores[k] == syn and k not in used]
                if part == "upper_arm" and syn == "shoulder":
                    # a "shoulder" is an upper arm only when no other arm joint hangs below it
                    cands = [k for k in cands if not any(cores[c] in ("arm", "upperarm", "uparm")
                                                         for c in _subtree(sk, k) - {k})]
                if part == "shin" and prefix + "thigh" in found:
                    cands = [k for k in cands if k in _subtree(sk, found[prefix + "thigh"])]
                if part == "thigh" and syn == "hip":
                    cands = [k for k in cands if k not in used]
                j = pick(cands)
                if j is not None:
                    found[prefix + part] = j
                    used.add(j)
                    break
        # A clavicle must be above the upper arm; anything else is a misread.
        clav, arm = found.get(prefix + "clavicle"), found.get(prefix + "upper_arm")
        if clav is not None and (arm is None or clav not in sk.ancestors(arm)):
            used.discard(found.pop(prefix + "clavicle"))

    if "pelvis" not in found and "l_thigh" in found and "r_thigh" in found:
        common = set(sk.ancestors(found["l_thigh"])) & set(sk.ancestors(found["r_thigh"]))
        if common:
            found["pelvis"] = max(common, key=lambda k: depth[k])

    # Spine chain: structural. The chest is where the arms branch off.
    l_root, r_root = (found.get(p + "clavicle", found.get(p + "upper_arm")) for p in ("l_", "r_"))
    if "pelvis" in found and l_root is not None and r_root is not None:
        common = set(sk.ancestors(l_root)) & set(sk.ancestors(r_root))
        chest = max(common, key=lambda k: depth[k]) if common else None
        if chest is not None and chest != found["pelvis"] and found["pelvis"] in sk.ancestors(chest):
            found["chest"] = chest
            chain = [k for k in reversed(sk.ancestors(chest)) if depth[k] > depth[found["pelvis"]]]
            rest = _rest_positions(sk)
            moved = [k for k in chain
                     if np.linalg.norm(rest[k] - rest[found["pelvis"]]) > 1e-6 * max(1.0, np.abs(rest).max())]
            if moved:
                found["spine"] = moved[0]
            # Head and neck: along the unsided chain above the chest.
            above = [k for k in _subtree(sk, chest) - {chest} if sides[k] is None]
            head = pick([k for k in above if cores[k] in HEAD_NAMES])
            if head is None:
                # Rigify-style numbered spine: the highest-numbered spine.NNN below the chest.
                numbered = [k for k in above if re.fullmatch(r"spine\d+", cores[k])]
                head = max(numbered, key=lambda k: depth[k]) if numbered else None
            if head is not None:
                found["head"] = head
                path = [k for k in reversed(sk.ancestors(head)) if depth[k] > depth[chest]]
                named_neck = [k for k in path if cores[k] in NECK_NAMES]
                if named_neck:
                    found["neck"] = named_neck[0]
                elif path:
                    found["neck"] = path[0]
    elif "pelvis" in found:
        head = pick([k for k in range(sk.num_joints) if sides[k] is None and cores[k] in HEAD_NAMES])
        if head is not None:
            found["head"] = head
    return found


def load_override(path: str | Path, skeleton: Skeleton) -> dict[str, str]:
    """Read a JSON object ``{"canonical joint": "rig joint", ...}``; a null value unmaps a joint.

    Raises ValueError naming the file, key and value on an unknown canonical joint or rig joint.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # JSON errors, a huge integer, deep nesting
        raise ValueError(f"{path}: cannot read bone-map override: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a bone-map override must be a JSON object of canonical -> rig joint")
    for key, value in data.items():
        if key not in canonical.INDEX:
            raise ValueError(f"{path}: key {key!r} is not a canonical joint; allowed: {', '.join(canonical.JOINTS)}")
        if value is not None and value not in skeleton.names:
            raise ValueError(f"{path}: {key!r} maps to {value!r}, which is not a joint of this rig")
    return data


def build_bone_map(skeleton: Skeleton, override: dict[str, str | None] | None = None,
                   rig_name: str = "rig", require_humanoid: bool = True) -> BoneMap:
    """Automatic map, then the override on top. Raises :class:`NotHumanoidError` when required
    joints are missing (and ``require_humanoid``)."""
    found = {c: skeleton.names[j] for c, j in _auto(skeleton).items()}
    for key, value in (override or {}).items():
        if value is None:
            found.pop(key, None)
        else:
            found[key] = value
    mapping = {c: found[c] for c in canonical.JOINTS if c in found}
    used = set(mapping.values())
    bm = BoneMap(mapping, [n for n in skeleton.names if n not in used])
    missing = bm.missing_required()
    if require_humanoid and missing:
        raise NotHumanoidError(missing, rig_name)
    return bm


#: Families recognised by their tell-tale joint names (for reports only; mapping is generic).
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Bandai-Namco (22 joints)", ("joint_Root", "UpperArm_L", "LowerLeg_R")),
    ("CMU (BVH conversion)", ("LHipJoint", "LowerBack", "LeftUpLeg")),
    ("Mixamo", ("mixamorig:Hips",)),
    ("Rigify human metarig", ("upper_arm.L", "spine.003")),
    ("SFU / MotionBuilder-style", ("LeftUpLeg", "Spine1", "LeftHandThumb")),
    ("canonical", ("pelvis", "l_upper_arm", "r_toe")),
)


def guess_family(names: list[str]) -> str | None:
    s = set(names)
    for family, tells in FAMILIES:
        if all(t in s for t in tells):
            return family
    if any(n.startswith("mixamorig") for n in names):
        return "Mixamo"
    return None
