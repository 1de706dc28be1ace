"""Joint angles of a canonical :class:`~motion_core.motion.Motion`, in degrees.

Two measures, both used by rule packs (see ``docs/rule_packs.md``):

* ``rot`` (T, 21, 3): each joint's **local** rotation (relative to its parent, from the canonical
  T-pose) as a rotation vector in degrees, with components on the canonical axes (x = left,
  y = back, z = up). Right-side joints are mirrored through the body's mid-plane
  (``(x, y, z) -> (x, -y, -z)``), so one limit table reads the same for both sides. Physiological
  limits are boxes on these components, which makes their projection a clip.
* ``bend`` (T, 21): the angle between the segment entering a joint and the segment leaving it;
  0 = the two segments in line, as in the T-pose. Elbow flexion is ``bend`` of ``l_forearm``,
  wrist flexion ``bend`` of ``l_hand``, knee flexion ``bend`` of ``l_shin``. It depends only on
  joint positions (plus the hand, toe and head end points), so it can be checked from any
  animation's positions independently of this code.

Anatomical aliases (``l_elbow`` = ``l_forearm`` ...) are accepted wherever a joint is named.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..skeleton import canonical
from ..skeleton.kinematics import global_rotations, local_from_global
from ..skeleton.motion import Motion
from ..skeleton.rotations import matrix_to_quat, quat_mul, quat_to_matrix

#: which canonical joints an array's J axis holds: all (a slice) or a list of indices
JointIndex = slice | list[int] | np.ndarray

AXES = ("x", "y", "z")
MEASURES = ("rot", "bend")

#: Anatomical names for the joint where a canonical bone starts.
ALIASES: dict[str, str] = {
    "l_shoulder": "l_upper_arm", "r_shoulder": "r_upper_arm",
    "l_elbow": "l_forearm", "r_elbow": "r_forearm",
    "l_wrist": "l_hand", "r_wrist": "r_hand",
    "l_hip": "l_thigh", "r_hip": "r_thigh",
    "l_knee": "l_shin", "r_knee": "r_shin",
    "l_ankle": "l_foot", "r_ankle": "r_foot",
}

#: Unit direction, in the T-pose, of the end segment that leaves each leaf joint (hand to
#: fingertips, toe to toe tip, head to crown); used by ``bend`` of the leaves.
LEAF_DIRECTIONS: dict[str, np.ndarray] = {
    "l_hand": np.array([1.0, 0, 0]), "r_hand": np.array([-1.0, 0, 0]),
    "l_toe": np.array([0, -1.0, 0]), "r_toe": np.array([0, -1.0, 0]),
    "head": np.array([0, 0, 1.0]),
}

#: The child whose direction defines a joint's outgoing segment (the first child, as in AIMS).
PRIMARY_CHILD: dict[int, int] = {}
for _j, _p in enumerate(canonical.PARENTS):
    if _p >= 0 and int(_p) not in PRIMARY_CHILD:
        PRIMARY_CHILD[int(_p)] = _j
PRIMARY_CHILD[canonical.INDEX["chest"]] = canonical.INDEX["neck"]
PRIMARY_CHILD[canonical.INDEX["pelvis"]] = canonical.INDEX["spine"]

#: Mirror sign per joint and component (right side: (x, -y, -z)).
MIRROR = np.ones((len(canonical.JOINTS), 3))
for _name, _i in canonical.INDEX.items():
    if _name.startswith("r_"):
        MIRROR[_i, 1:] = -1.0


def joint_index(name: str) -> int:
    """Canonical joint index for a canonical name or an anatomical alias; KeyError otherwise."""
    name = ALIASES.get(name, name)
    return canonical.INDEX[name]


def local_matrices(global_mats: np.ndarray) -> np.ndarray:
    """(..., 21, 3, 3) global deltas -> local deltas ``G_parent^T G_joint`` (the pelvis stays global)."""
    return local_from_global(canonical.PARENTS, global_mats)


def global_from_local(local_mats: np.ndarray) -> np.ndarray:
    """Inverse of :func:`local_matrices`."""
    return global_rotations(canonical.PARENTS, local_mats)


def with_local(motion: Motion, local_new: np.ndarray, joints: Iterable[int]) -> Motion:
    """``motion`` with the local rotations of ``joints`` taken from ``local_new`` (T, 21, 3, 3).

    Joints outside ``joints`` and their subtrees keep their stored rotations bit for bit.
    """
    changed = canonical.subtree_mask(joints)
    out = motion.rotations.copy()
    out[:, changed] = matrix_to_quat(global_from_local(local_new)[:, changed])
    return Motion(out, motion.root, motion.tpose, motion.present, motion.fps)


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions (w, x, y, z) -> (..., 3) rotation vectors in radians."""
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., :1] < 0, -q, q)
    s = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2 * np.arctan2(s, q[..., 0])
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-12), 2.0)
    return q[..., 1:] * scale[..., None]


def rotvec_to_quat(v: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors in radians -> (..., 4) unit quaternions."""
    v = np.asarray(v, dtype=np.float64)
    angle = np.linalg.norm(v, axis=-1)
    half = angle / 2
    scale = np.where(angle > 1e-12, np.sin(half) / np.maximum(angle, 1e-12), 0.5)
    return np.concatenate([np.cos(half)[..., None], v * scale[..., None]], axis=-1)


def quat_to_rot(q: np.ndarray, joints: JointIndex = slice(None)) -> np.ndarray:
    """(..., J, 4) local quaternions -> (..., J, 3) the ``rot`` measure (mirrored, degrees).
    ``joints`` names the J canonical joints (all 21 by default)."""
    return np.degrees(quat_to_rotvec(q)) * MIRROR[joints]


def rot_to_quat(rot_deg: np.ndarray, joints: JointIndex = slice(None)) -> np.ndarray:
    """Inverse of :func:`quat_to_rot`."""
    return rotvec_to_quat(np.radians(np.asarray(rot_deg) * MIRROR[joints]))


def rot_from_reference(q: np.ndarray, ref_rot_deg: np.ndarray) -> np.ndarray:
    """(..., 21, 4) local quaternions -> (..., 21, 3) the rotation from the reference pose
    ``ref_rot_deg`` (21, 3) to each of them, as the ``rot`` measure."""
    inv = rot_to_quat(ref_rot_deg) * np.array([1, -1, -1, -1])
    return quat_to_rot(quat_mul(np.broadcast_to(inv, np.shape(q)), q))


def rot_from_globals(global_mats: np.ndarray) -> np.ndarray:
    """(..., 21, 3, 3) global deltas -> (..., 21, 3) mirrored local rotation vectors, degrees."""
    return quat_to_rot(matrix_to_quat(local_matrices(global_mats)))


def globals_from_rot(rot_deg: np.ndarray, pelvis: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rot_from_globals`; ``pelvis`` (..., 3, 3) is the global pelvis rotation."""
    local = quat_to_matrix(rot_to_quat(rot_deg))
    local[..., 0, :, :] = pelvis
    return global_from_local(local)


def segment_directions(global_mats: np.ndarray, tpose: np.ndarray) -> np.ndarray:
    """(..., 21, 3) unit direction of the segment leaving each joint (to its primary child, or
    the leaf direction), from (..., 21, 3, 3) global deltas and the (21, 3) T-pose."""
    tpose = np.asarray(tpose, dtype=np.float64)
    rest = np.zeros((len(canonical.JOINTS), 3))
    for j, name in enumerate(canonical.JOINTS):
        if name in LEAF_DIRECTIONS:
            rest[j] = LEAF_DIRECTIONS[name]
        else:
            d = tpose[PRIMARY_CHILD[j]] - tpose[j]
            rest[j] = d / np.linalg.norm(d)
    return np.einsum("...jab,jb->...ja", np.asarray(global_mats, dtype=np.float64), rest)


def bend_from_directions(directions: np.ndarray) -> np.ndarray:
    """(..., 21, 3) segment directions -> (..., 21) bend angles in degrees (0 for the pelvis)."""
    d = np.asarray(directions)
    parent = d[..., np.maximum(canonical.PARENTS, 0), :]
    cos = np.clip(np.sum(parent * d, axis=-1), -1.0, 1.0)
    out = np.degrees(np.arccos(cos))
    out[..., 0] = 0.0
    return out


def measure(motion: Motion) -> dict[str, np.ndarray]:
    """{'rot': (T, 21, 3), 'bend': (T, 21)} in degrees for a motion."""
    g = motion.global_matrices()
    return {"rot": rot_from_globals(g), "bend": bend_from_directions(segment_directions(g, motion.tpose))}
