"""Taboo interception: masked reconfiguration of seed 002 eq. 11.

    a' = a (x) m + a_safe (x) (1 - m)

The seed says the mask "marks the offending joint region" yet multiplies the original motion by
it, which would keep the offence. We read ``m`` as the **keep** weight: ``m = 1`` keeps the
generated joint, ``m = 0`` replaces it by the safe pose. Inside a taboo interval the offending
region has ``m = 0``; ``m`` ramps back to 1 over ``blend_frames`` frames on each side (smoothstep),
so nothing pops. For rotations the element-wise product is a slerp of each joint's **local**
rotation towards the safe pose by ``1 - m``. Masks are closed under descendants and never touch
the pelvis, so every joint outside the mask keeps exactly its global rotation and position.

Frames still inside a taboo after blending (a blend can cross the domain) are replaced fully
and the check repeats until no frame offends or the limit of passes is reached (reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..skeleton import canonical
from ..skeleton.motion import Motion
from ..skeleton.rotations import matrix_to_quat, quat_slerp, quat_to_matrix
from .angles import local_matrices, measure, rot_from_globals, rot_to_quat, with_local
from .pack import OFFENDING, RulePack, Taboo, evaluate_condition, offending_region

MAX_PASSES = 8


@dataclass
class Interception:
    """What one taboo did to one motion (for the audit)."""
    taboo: str
    source: str
    runs: list[tuple[int, int]]  # [start, stop) frame ranges that offended before interception
    frames: int
    joints: list[str]
    conditions: dict[str, int]  # condition text -> frames where it held
    passes: int
    unresolved_frames: int
    max_velocity_change_m_s: dict[str, float] = field(default_factory=dict)

    def record(self, fps: float) -> dict:
        return {"rule": self.taboo, "source": self.source, "frames": self.frames,
                "runs": [{"start": a, "stop": b, "start_s": round(a / fps, 3), "stop_s": round(b / fps, 3)}
                         for a, b in self.runs],
                "joints_replaced": self.joints, "conditions": self.conditions,
                "replaced_with": "the pack's safe reference pose (reference.theta_ref), blended in and out",
                "passes": self.passes, "unresolved_frames": self.unresolved_frames,
                "max_velocity_change_m_s": self.max_velocity_change_m_s}


def taboo_frames(t: Taboo, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(T,) frames inside the taboo domain, (T, 21) offending joints, and frame counts per condition."""
    n = values["bend"].shape[0]
    inside = np.zeros(n, dtype=bool)
    offenders = np.zeros((n, len(canonical.JOINTS)), dtype=bool)
    counts: dict[str, int] = {}
    for term in t.any_of:
        hits = [evaluate_condition(c, values) for c in term]
        both = np.logical_and.reduce(hits)
        inside |= both
        for c in term:
            offenders[both, c.joint] = True
        label = " and ".join(c.describe() for c in term)
        counts[label] = counts.get(label, 0) + int(both.sum())
    return inside, offenders, counts


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) frame ranges where ``flags`` (T,) is true."""
    d = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=False))


def _ramp(hard: np.ndarray, blend: int) -> np.ndarray:
    """(T,) replacement weight in [0, 1]: 1 on ``hard`` frames, smoothstep down over ``blend`` frames."""
    w = hard.astype(np.float64)
    if blend <= 0 or not hard.any():
        return w
    idx = np.flatnonzero(hard)
    t = np.arange(len(hard))
    # distance in frames to the nearest hard frame
    pos = np.searchsorted(idx, t)
    left = np.abs(t - idx[np.clip(pos - 1, 0, len(idx) - 1)])
    right = np.abs(idx[np.clip(pos, 0, len(idx) - 1)] - t)
    dist = np.minimum(left, right)
    x = np.clip(1 - dist / (blend + 1), 0, 1)
    return np.maximum(w, x * x * (3 - 2 * x))


def _region_mask(t: Taboo, offenders: np.ndarray) -> np.ndarray:
    """(T, 21) joints to replace on each frame."""
    n = offenders.shape[0]
    mask = np.zeros((n, len(canonical.JOINTS)), dtype=bool)
    fixed = [canonical.INDEX[j] for j in t.mask if j != OFFENDING]
    rows = offenders.any(1)
    mask[np.ix_(rows, fixed)] = True
    if OFFENDING in t.mask:
        for j in np.flatnonzero(offenders.any(0)):
            region = [canonical.INDEX[r] for r in offending_region(int(j))]
            hit = offenders[:, j]
            mask[np.ix_(hit, np.array(region))] = True
    keep = [canonical.INDEX[p] for p in t.preserve]
    mask[:, keep] = False
    mask[:, 0] = False
    return mask


def _max_velocity_change(pos: np.ndarray, joints: list[int], fps: float) -> float:
    if len(pos) < 3 or not joints:
        return 0.0
    v = np.diff(pos[:, joints], axis=0) * fps
    return float(np.linalg.norm(np.diff(v, axis=0), axis=-1).max())


def blend_to_pose(motion: Motion, weight: np.ndarray, safe_rot_deg: np.ndarray) -> Motion:
    """Slerp each joint's local rotation towards ``safe_rot_deg`` (21, 3) by ``weight`` (T, 21).

    Joints with weight 0 everywhere, and all their ancestors, keep their rotations exactly.
    """
    g = motion.global_matrices()
    local = local_matrices(g)
    q = matrix_to_quat(local)
    safe = rot_to_quat(safe_rot_deg)
    cols = np.flatnonzero((weight > 0).any(0))
    q_new = q.copy()
    q_new[:, cols] = quat_slerp(q[:, cols], np.broadcast_to(safe[cols], q[:, cols].shape), weight[:, cols])
    local_new = local.copy()
    local_new[:, cols] = quat_to_matrix(q_new[:, cols])
    return with_local(motion, local_new, cols)


def intercept(motion: Motion, pack: RulePack) -> tuple[Motion, list[Interception]]:
    """Replace every taboo frame's offending region by the pack's safe pose (see module doc)."""
    records = []
    for t in pack.taboos:
        values = measure(motion)
        inside, offenders, counts = taboo_frames(t, values)
        rec = Interception(t.id, t.source, runs(inside), int(inside.sum()), [], counts, 0, 0)
        if not inside.any():
            records.append(rec)
            continue
        before = motion.positions()
        hard = _region_mask(t, offenders)
        passes = 0
        out = motion
        while True:
            passes += 1
            weight = np.stack([_ramp(hard[:, j], t.blend_frames) for j in range(hard.shape[1])], 1)
            out = blend_to_pose(motion, weight, pack.theta_ref)
            still, off2, _ = taboo_frames(t, measure(out))
            if not still.any() or passes >= MAX_PASSES:
                break
            hard |= _region_mask(t, off2 | np.where(still[:, None], offenders | off2, False))
        joints = [canonical.JOINTS[j] for j in np.flatnonzero(hard.any(0))]
        after = out.positions()
        idx = [canonical.INDEX[j] for j in joints]
        rec.joints, rec.passes, rec.unresolved_frames = joints, passes, int(still.sum())
        rec.max_velocity_change_m_s = {"before": round(_max_velocity_change(before, idx, motion.fps), 3),
                                       "after": round(_max_velocity_change(after, idx, motion.fps), 3)}
        records.append(rec)
        motion = out
    return motion, records


def project_limits(motion: Motion, pack: RulePack) -> tuple[Motion, list[dict]]:
    """Proj_Omega of seed eq. 9 for a whole clip: clip each joint's local rotation components into the
    pack's physiological box. Returns the motion and one record per (joint, axis) that was clipped."""
    g = motion.global_matrices()
    rot = rot_from_globals(g)
    lo, hi = pack.limits[..., 0], pack.limits[..., 1]
    clipped = np.clip(rot, lo, hi)
    clipped[:, 0] = rot[:, 0]
    diff = np.abs(clipped - rot)
    records = []
    for j, a in zip(*np.nonzero(diff.max(0) > 1e-9), strict=False):
        records.append({"joint": canonical.JOINTS[j], "axis": "xyz"[a], "frames": int((diff[:, j, a] > 1e-9).sum()),
                        "max_correction_deg": round(float(diff[:, j, a].max()), 2),
                        "limits_deg": pack.limits[j, a].tolist(), "source": pack.limit_sources.get(canonical.JOINTS[j])})
    if not records:
        return motion, []
    joints = sorted({canonical.INDEX[r["joint"]] for r in records})
    local = local_matrices(g)
    local[:, joints] = quat_to_matrix(rot_to_quat(clipped))[:, joints]
    return with_local(motion, local, joints), records
