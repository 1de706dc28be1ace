"""Retargeting between any humanoid rigs through the canonical :class:`~motion_core.motion.Motion`.

Each rig is posed once into the canonical T-pose (:func:`solve_tpose`): every mapped joint is
swung so that the bone to its next mapped joint points along the canonical direction, with the
twist of the pelvis and chest fixed by the left-right axis. A motion is then stored as global
rotations relative to that T-pose, and applied to a target as ``G_target = D @ G_target_tpose``.
This keeps the target's bone lengths and rest pose, carries every bone direction exactly, and
makes A -> B -> A the identity on A's joint positions. Root translation scales by leg length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..skeleton import canonical
from ..skeleton.kinematics import forward_kinematics
from ..skeleton.motion import Motion
from ..skeleton.rotations import (
    axis_angle_to_matrix,
    matrix_to_euler,
    matrix_to_quat,
    quat_slerp,
    quat_to_matrix,
    rotation_between,
)
from .axes import AxisConvention, infer_convention
from .bonemap import BoneMap, build_bone_map, load_override
from .bvh import BvhClip, read_bvh
from .hierarchy import POSITION_CHANNELS, ROTATION_CHANNELS, Skeleton


@dataclass
class Rig:
    """A skeleton with its file conventions and its map onto the canonical joints."""

    name: str
    skeleton: Skeleton
    axes: AxisConvention
    bone_map: BoneMap

    def __post_init__(self) -> None:
        self._tpose: TPose | None = None

    @property
    def tpose(self) -> TPose:
        if self._tpose is None:
            self._tpose = solve_tpose(self)
        return self._tpose

    def canonical_offsets(self) -> np.ndarray:
        """(J, 3) rest offsets in metres, canonical axes."""
        return self.skeleton.offsets @ self.axes.matrix.T * self.axes.unit_m

    def canonical_tpose(self) -> np.ndarray:
        """(21, 3) this rig's canonical joints in the T-pose, metres, pelvis at the origin (an absent
        joint sits on its parent). The skeleton feature the motion model adapts to."""
        idx = self.bone_map.indices(self.skeleton)
        pos = self.tpose.positions
        out = np.zeros((len(canonical.JOINTS), 3))
        for k, c in enumerate(canonical.JOINTS):
            j = idx.get(c)
            out[k] = pos[j] - pos[idx["pelvis"]] if j is not None else out[canonical.PARENTS[k]]
        return out

    def canonical_rest(self) -> np.ndarray:
        a = self.axes.matrix
        return a @ self.skeleton.rest_rotations @ a.T


@dataclass
class TPose:
    """A rig in the canonical T-pose (canonical frame, metres)."""

    global_rotations: np.ndarray  # (J, 3, 3)
    local_rotations: np.ndarray  # (J, 3, 3)
    positions: np.ndarray  # (J, 3), root at the origin

    def leg_length(self, rig: Rig) -> float:
        idx = rig.bone_map.indices(rig.skeleton)
        out = []
        for s in ("l_", "r_"):
            a, b, c = (self.positions[idx[s + n]] for n in ("thigh", "shin", "foot"))
            out.append(np.linalg.norm(b - a) + np.linalg.norm(c - b))
        return float(np.mean(out))


def make_rig(skeleton: Skeleton, name: str, axes: AxisConvention | None = None,
             override: dict | None = None, sample_frames: BvhClip | None = None) -> Rig:
    """Build a :class:`Rig`: map bones, then infer axes from ``sample_frames`` if not given."""
    bm = build_bone_map(skeleton, override, rig_name=name)
    if axes is None:
        axes = _infer_axes(skeleton, bm, sample_frames)
    rig = Rig(name, skeleton, axes, bm)
    if sample_frames is not None and _has_motion(sample_frames):
        calibrate_twist(rig, [sample_frames])
    return rig


def _has_motion(clip: BvhClip) -> bool:
    return clip.num_frames > 1 and float(np.ptp(clip.values, axis=0).max(initial=0.0)) > 0


def _infer_axes(sk: Skeleton, bm: BoneMap, clip: BvhClip | None) -> AxisConvention:
    idx = bm.indices(sk)
    if clip is not None and _has_motion(clip):
        rots, trans = clip.local_transforms()
        step = max(1, clip.num_frames // 50)
        _, pos = forward_kinematics(sk.parents, rots[::step], trans[::step])
    else:
        rest = np.zeros((sk.num_joints, 3))
        for j in range(1, sk.num_joints):
            rest[j] = rest[sk.parents[j]] + sk.offsets[j]
        pos = rest[None]
    feet = 0.5 * (pos[:, idx["l_foot"]] + pos[:, idx["r_foot"]])
    return infer_convention(pos[:, idx["head"]] - feet)


def load_rig(path: str | Path, map_file: str | Path | None = None, axes: AxisConvention | None = None) -> tuple[Rig, BvhClip]:
    """Read a BVH as a rig (and return its clip). Raises BVHError, NotHumanoidError, ValueError."""
    clip = read_bvh(path)
    override = load_override(map_file, clip.skeleton) if map_file else None
    return make_rig(clip.skeleton, Path(path).stem, axes, override, clip), clip


# --------------------------------------------------------------------------------------------
# T-pose


def _aim_vector(rig: Rig, targets: tuple[str, ...], positions: np.ndarray, j: int) -> np.ndarray | None:
    idx = rig.bone_map.indices(rig.skeleton)
    scale = max(1e-9, float(np.abs(positions).max()))
    for t in targets:
        if "-" in t:
            a, b = t.split("-")
            if a in idx and b in idx:
                v = positions[idx[a]] - positions[idx[b]]
            else:
                continue
        elif t in idx:
            v = positions[idx[t]] - positions[j]
        else:
            continue
        if np.linalg.norm(v) > 1e-6 * scale:
            return v
    return None


def solve_tpose(rig: Rig) -> TPose:
    """Pose ``rig`` into the canonical T-pose; see the module docstring."""
    sk = rig.skeleton
    n = sk.num_joints
    offsets = rig.canonical_offsets()
    local = rig.canonical_rest().copy()
    joint_to_canon = {j: c for c, j in rig.bone_map.indices(sk).items()}

    def fk() -> tuple[np.ndarray, np.ndarray]:
        g, p = forward_kinematics(sk.parents, local[None], offsets[None])
        return g[0], p[0]

    for j in range(n):
        c = joint_to_canon.get(j)
        if c is None or c not in canonical.AIMS:
            continue
        g, p = fk()
        aims = canonical.AIMS[c]
        primary = _aim_vector(rig, aims[0][0], p, j)
        if primary is None:
            continue
        d = aims[0][1]
        swing = rotation_between(primary, d)
        g_new = swing @ g[j]
        if len(aims) > 1:
            second = _aim_vector(rig, aims[1][0], p, j)
            if second is not None:
                s = swing @ second
                e = aims[1][1]
                s_p = s - d * (s @ d)
                e_p = e - d * (e @ d)
                if np.linalg.norm(s_p) > 1e-9 and np.linalg.norm(e_p) > 1e-9:
                    ang = np.arctan2(np.cross(s_p, e_p) @ d, s_p @ e_p)
                    g_new = axis_angle_to_matrix(d, ang) @ g_new
        parent_g = g[sk.parents[j]] if sk.parents[j] >= 0 else np.eye(3)
        local[j] = parent_g.T @ g_new
    g, p = fk()
    return TPose(g, local, p - p[0])


#: Twist axis of each joint in the canonical T-pose: its own aim, or its parent's for leaves.
#: The pelvis and chest are left out: two aims fix them completely.
TWIST_AXES: dict[str, np.ndarray] = {
    **{c: aims[0][1] for c, aims in canonical.AIMS.items() if len(aims) == 1},
    "head": canonical.Z, "l_hand": canonical.X, "r_hand": -canonical.X, "l_toe": -canonical.Y, "r_toe": -canonical.Y,
}


def calibrate_twist(rig: Rig, clips: list[BvhClip]) -> dict[str, float]:
    """Fix the twist of ``rig``'s T-pose about each bone from its own motion, in place.

    The T-pose solve fixes each bone's direction; its twist about the bone follows from the rig's rest
    pose, which for some rigs (Bandai-Namco: every bone along +X at rest) is far from natural and would
    carry a 90-180 degree roll into every target. Natural motion has, on average, no twist of a joint
    relative to its parent, so each joint's T-pose is turned about its bone by the circular mean twist
    seen in ``clips``. Returns the corrections in degrees by canonical joint.
    """
    motions = [motion_from_clip(c, rig) for c in clips]
    d = np.concatenate([quat_to_matrix(m.rotations) for m in motions])
    present = motions[0].present
    parents = canonical.nearest_present_parent(present)
    idx = rig.bone_map.indices(rig.skeleton)
    g_t = rig.tpose.global_rotations.copy()
    out: dict[str, float] = {}
    for k, c in enumerate(canonical.JOINTS):
        if c not in TWIST_AXES or not present[k] or parents[k] < 0:
            continue
        axis = TWIST_AXES[c]
        delta = np.swapaxes(d[:, parents[k]], -1, -2) @ d[:, k]
        q = matrix_to_quat(delta)
        psi = 2 * np.arctan2(q[:, 1:] @ axis, q[:, 0])
        phi = float(np.arctan2(np.sin(psi).mean(), np.cos(psi).mean()))
        fix = axis_angle_to_matrix(axis, phi)
        d[:, k] = d[:, k] @ fix.T  # D' = D R(axis, -phi): later children see the corrected parent
        g_t[idx[c]] = fix @ g_t[idx[c]]
        out[c] = float(np.degrees(phi))
    rig._tpose = _tpose_from_globals(rig, g_t, set(idx.values()))
    return out


def _tpose_from_globals(rig: Rig, g_mapped: np.ndarray, mapped: set[int]) -> TPose:
    """Rebuild a TPose with new global rotations for mapped joints; unmapped ones keep their local."""
    sk = rig.skeleton
    old = rig.tpose
    g = np.empty_like(g_mapped)
    for j, p in enumerate(sk.parents):
        if j in mapped:
            g[j] = g_mapped[j]
        else:
            g[j] = (g[p] if p >= 0 else np.eye(3)) @ old.local_rotations[j]
    local = g.copy()
    for j, p in enumerate(sk.parents):
        if p >= 0:
            local[j] = g[p].T @ g[j]
    _, pos = forward_kinematics(sk.parents, local[None], rig.canonical_offsets()[None])
    return TPose(g, local, pos[0] - pos[0, 0])


# --------------------------------------------------------------------------------------------
# Rig clip <-> canonical motion


def motion_from_clip(clip: BvhClip, rig: Rig) -> Motion:
    """The canonical motion of a clip (at the clip's own frame rate)."""
    sk = rig.skeleton
    a = rig.axes.matrix
    rots, trans = clip.local_transforms()
    rots = a @ rots @ a.T
    trans = trans @ a.T * rig.axes.unit_m
    g, p = forward_kinematics(sk.parents, rots, trans)
    tp = rig.tpose
    idx = rig.bone_map.indices(sk)
    j_count = len(canonical.JOINTS)
    quats = np.tile(np.array([1.0, 0, 0, 0]), (clip.num_frames, j_count, 1))
    present = np.zeros(j_count, dtype=bool)
    tpose = np.zeros((j_count, 3))
    pelvis = idx["pelvis"]
    for c, j in idx.items():
        k = canonical.INDEX[c]
        present[k] = True
        quats[:, k] = matrix_to_quat(g[:, j] @ tp.global_rotations[j].T)
        tpose[k] = tp.positions[j] - tp.positions[pelvis]
    # Absent joints sit where their parent is; they follow it.
    for k, par in enumerate(canonical.PARENTS):
        if not present[k] and par >= 0:
            tpose[k] = tpose[par]
            quats[:, k] = quats[:, par]
    return Motion(quats, p[:, pelvis], tpose, present, clip.fps)


def pose_from_motion(motion: Motion, rig: Rig, root_scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pose ``rig`` with ``motion``, in the rig's own axes and units.

    Returns:
        rotations (T, J, 3, 3): each joint's rotation relative to its rest (BVH channels, or a
            Blender pose bone's basis);
        translations (T, J, 3): each joint's origin in its parent's rest frame (file units).

    Joints the rig has but the motion lacks (or that are not mapped) keep their T-pose rotation
    relative to their parent, except the unmapped links of the back (Rigify's spine.002, MPFB2's
    spine.002 and spine.003): they take their share of the turn between the mapped joints on either
    side (:func:`torso_links`), so the back bends smoothly; the chord from spine to chest then
    follows the turn to within a few degrees, the rest stays exact. Root motion is
    scaled by the leg-length ratio unless given.
    """
    sk = rig.skeleton
    tp = rig.tpose
    a = rig.axes.matrix
    idx = rig.bone_map.indices(sk)
    canon_of = {j: canonical.INDEX[c] for c, j in idx.items()}
    t = motion.num_frames
    n = sk.num_joints
    d = motion.global_matrices()
    if root_scale is None:
        root_scale = tp.leg_length(rig) / motion.leg_length

    links = torso_links(rig)
    g = np.empty((t, n, 3, 3))
    for j in range(n):
        k = canon_of.get(j)
        par = sk.parents[j]
        if k is not None and motion.present[k]:
            g[:, j] = d[:, k] @ tp.global_rotations[j]
        elif j in links and motion.present[links[j][0]] and motion.present[links[j][1]]:
            ka, kb, share = links[j]
            q = quat_slerp(motion.rotations[:, ka], motion.rotations[:, kb], np.full(t, share))
            g[:, j] = quat_to_matrix(q) @ tp.global_rotations[j]
        elif par >= 0:
            g[:, j] = g[:, par] @ tp.local_rotations[j]
        else:
            g[:, j] = tp.local_rotations[j]
    local = g.copy()
    for j in range(1, n):
        local[:, j] = np.swapaxes(g[:, sk.parents[j]], -1, -2) @ g[:, j]

    # Translations: rest offsets, except the joint that carries the pelvis to its place.
    offsets = rig.canonical_offsets()
    trans = np.broadcast_to(offsets, (t, n, 3)).copy()
    pelvis = idx["pelvis"]
    carrier = root_carrier(rig)
    _, pos = forward_kinematics(sk.parents, local, trans)
    delta = motion.root * root_scale - pos[:, pelvis]
    par = sk.parents[carrier]
    parent_g = g[:, par] if par >= 0 else np.broadcast_to(np.eye(3), (t, 3, 3))
    trans[:, carrier] += np.einsum("tji,tj->ti", parent_g, delta)

    rest_inv = np.swapaxes(sk.rest_rotations, -1, -2)
    return rest_inv @ (a.T @ local @ a), trans @ a / rig.axes.unit_m


TORSO = ("pelvis", "spine", "chest")


def torso_links(rig: Rig) -> dict[int, tuple[int, int, float]]:
    """Unmapped joints strictly between two mapped joints of the back (pelvis, spine, chest) on one
    chain: joint -> (canonical index below, canonical index above, share of the turn), the share
    growing with depth. The neck is left out: its direction to the head stays exact."""
    sk = rig.skeleton
    idx = rig.bone_map.indices(sk)
    torso = {idx[c]: c for c in TORSO if c in idx}
    out: dict[int, tuple[int, int, float]] = {}
    for c in TORSO[1:]:
        if c not in idx:
            continue
        chain = []
        for k in sk.ancestors(idx[c]):  # nearest first
            if k in torso:
                if chain:
                    for i, j in enumerate(reversed(chain), 1):
                        out[j] = (canonical.INDEX[torso[k]], canonical.INDEX[c], i / (len(chain) + 1))
                break
            if k in idx.values():
                break
            chain.append(k)
    return out


def root_carrier(rig: Rig) -> int:
    """The joint whose translation places the pelvis: the pelvis, or the nearest ancestor with
    position channels when the pelvis has none (a rig without channels uses the pelvis)."""
    sk = rig.skeleton
    pelvis = rig.bone_map.indices(sk)["pelvis"]
    for k in [pelvis, *sk.ancestors(pelvis)]:
        if any(c in POSITION_CHANNELS for c in sk.channels[k]):
            return k
    return pelvis


def clip_from_motion(motion: Motion, rig: Rig, root_scale: float | None = None) -> BvhClip:
    """Pose ``rig`` with ``motion`` (see :func:`pose_from_motion`) as a clip in its channels."""
    sk = rig.skeleton
    local_file, trans_file = pose_from_motion(motion, rig, root_scale)
    t = motion.num_frames
    starts = sk.channel_offsets()
    values = np.zeros((t, sk.num_channels))
    for j, chans in enumerate(sk.channels):
        order = "".join(c[0] for c in chans if c in ROTATION_CHANNELS)
        if len(order) == 3:
            eul = matrix_to_euler(local_file[:, j], order)
        elif order:
            eul = _partial_euler(local_file[:, j], order)
        for m, c in enumerate(chans):
            col = starts[j] + m
            if c in ROTATION_CHANNELS:
                values[:, col] = eul[:, order.index(c[0])]
            else:
                values[:, col] = trans_file[:, j, POSITION_CHANNELS.index(c)]
    return BvhClip(sk, 1.0 / motion.fps, values)


def _partial_euler(mats: np.ndarray, order: str) -> np.ndarray:
    """Best angles for a joint with fewer than three rotation channels: complete the order with
    the missing axes, solve, and keep the named ones (the rest cannot be represented)."""
    full = order + "".join(ax for ax in "XYZ" if ax not in order)
    ang = matrix_to_euler(mats, full)
    return ang[..., : len(order)]


def retarget_clip(clip: BvhClip, source: Rig, target: Rig, fps: float | None = None) -> BvhClip:
    """Source clip -> target clip, optionally resampled to ``fps``."""
    motion = motion_from_clip(clip, source)
    if fps is not None:
        motion = motion.resample(fps)
    return clip_from_motion(motion, target)


def rest_pose_check(rig: Rig) -> float:
    """Max angle (degrees) by which the T-pose misses its primary aims; 0 for a clean solve."""
    tp = rig.tpose
    worst = 0.0
    for c, j in rig.bone_map.indices(rig.skeleton).items():
        if c not in canonical.AIMS:
            continue
        targets, d = canonical.AIMS[c][0]
        v = _aim_vector(rig, targets, tp.positions, j)
        if v is not None:
            cosang = np.clip(v @ d / np.linalg.norm(v), -1, 1)
            worst = max(worst, float(np.degrees(np.arccos(cosang))))
    return worst


__all__ = ["Rig", "TPose", "make_rig", "load_rig", "solve_tpose", "motion_from_clip", "clip_from_motion",
           "retarget_clip", "rest_pose_check", "pose_from_motion", "root_carrier", "calibrate_twist"]
