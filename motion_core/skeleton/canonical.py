"""The canonical humanoid skeleton every motion crosses module boundaries on.

21 joints. A joint is the point where a bone starts (the bone "head" in Blender terms):
``l_forearm`` is the left elbow, ``l_hand`` the left wrist, ``l_foot`` the left ankle.

The canonical T-pose (in the canonical frame: metres, Z up, facing -Y, left = +X) defines how
rotations are carried between rigs: each rig is posed into this T-pose once, and motions are
stored as global rotations relative to it (see :mod:`motion_core.motion`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

JOINTS: tuple[str, ...] = (
    "pelvis", "spine", "chest", "neck", "head",
    "l_clavicle", "l_upper_arm", "l_forearm", "l_hand",
    "r_clavicle", "r_upper_arm", "r_forearm", "r_hand",
    "l_thigh", "l_shin", "l_foot", "l_toe",
    "r_thigh", "r_shin", "r_foot", "r_toe",
)
INDEX = {name: i for i, name in enumerate(JOINTS)}
PARENTS = np.array([-1, 0, 1, 2, 3, 2, 5, 6, 7, 2, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19])

#: Joints a rig must have to be treated as humanoid.
REQUIRED: tuple[str, ...] = (
    "pelvis", "head",
    "l_upper_arm", "l_forearm", "l_hand", "r_upper_arm", "r_forearm", "r_hand",
    "l_thigh", "l_shin", "l_foot", "r_thigh", "r_shin", "r_foot",
)

X, Y, Z = np.eye(3)

#: T-pose aims. For each joint: a list of (targets, direction). The first entry is the primary
#: aim (matched exactly); a second entry fixes the twist about it. A target is a joint name, or
#: "a-b" for the vector from joint b to joint a; each is tried in order until one exists in the rig
#: at a non-zero distance. Joints without an entry follow their parent rigidly.
AIMS: dict[str, list[tuple[tuple[str, ...], np.ndarray]]] = {
    "pelvis": [(("l_thigh-r_thigh",), X), (("chest", "neck", "head"), Z)],
    "spine": [(("chest", "neck", "head"), Z)],
    "chest": [(("l_clavicle-r_clavicle", "l_upper_arm-r_upper_arm"), X), (("neck", "head"), Z)],
    "neck": [(("head",), Z)],
    "l_clavicle": [(("l_upper_arm",), X)],
    "l_upper_arm": [(("l_forearm",), X)],
    "l_forearm": [(("l_hand",), X)],
    "r_clavicle": [(("r_upper_arm",), -X)],
    "r_upper_arm": [(("r_forearm",), -X)],
    "r_forearm": [(("r_hand",), -X)],
    "l_thigh": [(("l_shin",), -Z)],
    "l_shin": [(("l_foot",), -Z)],
    "l_foot": [(("l_toe",), -Y)],
    "r_thigh": [(("r_shin",), -Z)],
    "r_shin": [(("r_foot",), -Z)],
    "r_foot": [(("r_toe",), -Y)],
}

#: Joints whose position variance is tightly held vs loose (seed 002 section 4 sigma floors).
TIGHT_JOINTS: tuple[str, ...] = ("pelvis", "spine", "chest", "neck")
LOOSE_JOINTS: tuple[str, ...] = ("l_hand", "r_hand", "l_forearm", "r_forearm")


def subtree_mask(joints: Iterable[int]) -> np.ndarray:
    """(21,) bool: the given joint indices and every joint below them (joints are stored parents first)."""
    mask = np.zeros(len(JOINTS), dtype=bool)
    mask[list(joints)] = True
    for j, p in enumerate(PARENTS):
        if p >= 0 and mask[p]:
            mask[j] = True
    return mask


def nearest_present_parent(present: np.ndarray) -> np.ndarray:
    """(21,) parent index per joint, skipping joints absent from a rig; -1 for the pelvis."""
    out = PARENTS.copy()
    for j in range(len(JOINTS)):
        p = PARENTS[j]
        while p >= 0 and not present[p]:
            p = PARENTS[p]
        out[j] = p
    return out

#: Default physiological limit of each joint's total rotation from the canonical T-pose, relative to
#: its parent, in degrees (theta_j^max of seed 002 eq. 8; the pelvis is global and unlimited).
#: Source: product defaults from normal adult ranges of motion (AAOS: elbow flexion ~150, knee
#: flexion ~140-150, hip flexion ~120, wrist ~80, neck ~70), widened to total rotation from the
#: T-pose and checked against the Bandai-Namco training data (every joint's maximum lies below).
#: Per-axis limits and cultural taboos belong in rule packs (issue 4), not here.
MAX_ROTATION_DEG = np.array([
    180.0, 45.0, 45.0, 70.0, 80.0,  # pelvis, spine, chest, neck, head
    45.0, 180.0, 160.0, 100.0,  # l clavicle, upper arm, forearm, hand
    45.0, 180.0, 160.0, 100.0,  # r
    140.0, 160.0, 120.0, 90.0,  # l thigh, shin, foot, toe
    140.0, 160.0, 120.0, 90.0,  # r
])


#: Canonical T-pose joint positions (metres, pelvis at the origin) for a 1.75 m figure.
TPOSE = np.array([
    [0, 0, 0], [0, 0.01, 0.10], [0, 0.01, 0.32], [0, 0.0, 0.52], [0, -0.01, 0.62],
    [0.03, 0, 0.47], [0.17, 0, 0.47], [0.45, 0, 0.47], [0.70, 0, 0.47],
    [-0.03, 0, 0.47], [-0.17, 0, 0.47], [-0.45, 0, 0.47], [-0.70, 0, 0.47],
    [0.09, 0, -0.05], [0.09, 0, -0.49], [0.09, 0.02, -0.92], [0.09, -0.11, -0.97],
    [-0.09, 0, -0.05], [-0.09, 0, -0.49], [-0.09, 0.02, -0.92], [-0.09, -0.11, -0.97],
])
