"""Projected-gradient inverse kinematics (seed 002 eq. 9), vectorised over the frames of a clip.

    q <- Proj_Omega(q + alpha J^T (x_d - f(q)))

``q`` are the local joint rotations of a chain. ``J^T e`` is computed without forming J: for a
joint at ``p_j`` and an effector at ``x_i`` below it with error ``e_i``, the column block of J for
a small world-frame rotation ``w`` is ``w x (x_i - p_j)``, so ``J^T e = sum_i (x_i - p_j) x e_i``.
Each frame has its own step ``alpha`` (starting at 0.1, seed eq. 9): a step that fails the Armijo
sufficient-decrease test, or that would enter a taboo domain, is rejected and ``alpha`` halves;
an accepted step doubles it. ``Proj_Omega`` clips each joint's local rotation components into the
pack's physiological box (:mod:`motion_core.joint_angles`, ``rot``); a step into a taboo domain is
rejected, so the result stays in the physiological domain minus the taboo domain.

A frame stops once its largest effector error stays under ``delta`` (0.03 m, seed 002 section 5.1)
for ``patience`` (3) consecutive iterations. Units: metres, radians inside, degrees in reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config
from ..skeleton import canonical
from ..skeleton.kinematics import chain_positions, global_rotations
from ..skeleton.motion import Motion
from ..skeleton.rotations import axis_angle_to_matrix, matrix_to_quat, quat_to_matrix
from .angles import local_matrices, measure, quat_to_rot, rot_to_quat, with_local
from .intercept import runs, taboo_frames
from .pack import RulePack

ARMIJO_C = 1e-4
ALPHA_MAX = 1e3
LEGS = ("l_thigh", "l_shin", "l_foot", "r_thigh", "r_shin", "r_foot")


@dataclass
class IKResult:
    motion: Motion
    iterations: np.ndarray  # (T,) iterations each frame ran
    error_m: np.ndarray  # (T,) final largest effector error, metres (0 where a frame had no target)
    converged: np.ndarray  # (T,) bool
    projected: int  # joint-frame-axis components clipped by Proj_Omega in accepted steps
    rejected_taboo: int  # steps rejected because they entered a taboo domain


def _forward(local: np.ndarray, root: np.ndarray, tpose: np.ndarray, parents: np.ndarray,
             needed: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations and positions of the ``needed`` joints only (parents first); others stay 0."""
    g = global_rotations(parents, local, needed)
    return g, chain_positions(parents, g, tpose - tpose[np.maximum(parents, 0)], root, needed)


def solve(motion: Motion, targets: dict[str, np.ndarray], chain: tuple[str, ...] | list[str],
          pack: RulePack | None = None, delta: float = config.IK_DELTA_M, patience: int = config.IK_STOP_PATIENCE,
          max_iter: int = 200, alpha: float = config.IK_ALPHA) -> IKResult:
    """Move the local rotations of ``chain`` so that joints reach ``targets``.

    Args:
        targets: joint name -> (T, 3) goal positions in metres (canonical frame); rows of NaN mean
            "no goal on this frame". The joint must lie below a chain joint.
        chain: joints whose local rotations may change (others, the root included, stay).
        pack: limits and taboos for Proj_Omega; None leaves rotations unconstrained.
    """
    n = motion.num_frames
    parents = canonical.nearest_present_parent(motion.present)
    eff = [canonical.INDEX[k] for k in targets]
    x_d = np.stack([np.asarray(targets[k], dtype=np.float64) for k in targets], 1)  # (T, E, 3)
    has = np.isfinite(x_d).all(-1)
    x_d = np.where(has[..., None], x_d, 0.0)
    cj = [canonical.INDEX[c] for c in chain]
    reach = np.array([canonical.subtree_mask([j])[eff] for j in cj], dtype=np.float64)  # (C, E)
    if not reach.any(0).all():
        unreached = [canonical.JOINTS[k] for k, r in zip(eff, reach.any(0), strict=True) if not r]
        raise ValueError(f"no chain joint moves {', '.join(unreached)}; add its ancestors to the chain")
    local = local_matrices(motion.global_matrices())
    lo = hi = None
    if pack is not None:
        lo, hi = pack.limits[cj, :, 0], pack.limits[cj, :, 1]

    needed = set()
    for effector in eff:  # FK only along the paths to the effectors
        j = effector
        while j >= 0:
            needed.add(int(j))
            j = parents[j]
    order = sorted(needed)  # canonical joints are stored parents first

    def evaluate(loc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g, pos = _forward(loc, motion.root[idx], motion.tpose, parents, order)
        e = (x_d[idx] - pos[:, eff]) * has[idx][..., None]
        return g, pos, e

    # Limbs that share no effector are independent problems: each gets its own step and Armijo
    # test, so a stiff limb does not hold back the others (the seed's "hierarchical" strategy).
    group_of_eff = np.arange(len(eff))
    for row in reach:  # union effectors moved by the same joint
        hit = np.flatnonzero(row)
        group_of_eff[np.isin(group_of_eff, group_of_eff[hit])] = group_of_eff[hit].min()
    groups = np.unique(group_of_eff)
    eff_group = (group_of_eff[None, :] == groups[:, None]).astype(np.float64)  # (G, E)
    joint_group = np.array([int(np.argmax(eff_group @ r)) for r in reach])  # (C,)
    # Which group each joint's pose belongs to (-1: moved by no chain joint), to merge accepted steps.
    pose_group = np.full(len(canonical.JOINTS), -1)
    for c, j in enumerate(cj):
        pose_group[canonical.subtree_mask([j])] = joint_group[c]
    posed = np.flatnonzero(pose_group >= 0)
    pc, pe = np.nonzero(reach)  # (chain joint, effector) pairs where J is non-zero
    select = (pc[None, :] == np.arange(len(cj))[:, None]).astype(np.float64)  # (C, P)
    step = np.full((n, len(groups)), float(alpha))
    streak = np.zeros(n, dtype=int)
    iters = np.zeros(n, dtype=int)
    active = has.any(1)
    err = np.zeros(n)
    projected = rejected = 0
    idx = np.flatnonzero(active)
    state_g, state_pos = np.zeros_like(local), np.zeros(local.shape[:2] + (3,))
    state_e = np.zeros((n, len(eff), 3))
    state_g[idx], state_pos[idx], state_e[idx] = evaluate(local[idx])
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        loc = local[idx]
        g, pos, e = state_g[idx], state_pos[idx], state_e[idx]
        energy = (e * e).sum(-1) @ eff_group.T  # (F, G)
        arm = pos[:, [eff[k] for k in pe]] - pos[:, [cj[c] for c in pc]]  # (F, P, 3)
        grad = select @ np.cross(arm, e[:, pe])  # (F, C, 3): J^T e
        # Diagonal preconditioner: divide each joint's J^T e by its lever arm squared, sum |x_i - p_j|^2
        # (the diagonal of J^T J), so shoulder and elbow converge at the same rate.
        scale = 1.0 / np.maximum((arm * arm).sum(-1) @ select.T, 1e-4)  # (F, C)
        grad = grad * scale[..., None]
        w = step[idx][:, joint_group, None] * grad
        angle = np.linalg.norm(w, axis=-1)
        rot = axis_angle_to_matrix(w / np.maximum(angle, 1e-12)[..., None], angle)
        gp = g[:, parents[cj]]
        trial = loc.copy()
        trial[:, cj] = np.swapaxes(gp, -1, -2) @ rot @ g[:, cj]
        clipped = np.zeros((len(idx), len(cj), 3), dtype=bool)
        if pack is not None:
            r = quat_to_rot(matrix_to_quat(trial[:, cj]), cj)
            rc = np.clip(r, lo, hi)
            clipped = np.abs(rc - r) > 1e-9
            if clipped.any():
                trial[:, cj] = quat_to_matrix(rot_to_quat(rc, cj))
        g_new, pos_new, e_new = evaluate(trial)
        energy_new = (e_new * e_new).sum(-1) @ eff_group.T
        g2 = ((grad * grad / scale[..., None]).sum(-1)[:, :, None] * (joint_group[:, None] == np.arange(len(groups)))).sum(1)
        ok = energy_new <= energy - ARMIJO_C * step[idx] * g2  # (F, G)
        if pack is not None and pack.taboos and ok.any():
            fr = np.flatnonzero(ok.any(1))
            cand = loc[fr].copy()
            take = ok[fr][:, joint_group]  # (F', C)
            cand[:, cj] = np.where(take[..., None, None], trial[fr][:, cj], cand[:, cj])
            sub = idx[fr]
            sub_motion = Motion(motion.rotations[sub], motion.root[sub], motion.tpose, motion.present, motion.fps)
            vals = measure(with_local(sub_motion, cand, cj))
            bad = np.zeros(len(sub), dtype=bool)
            for t in pack.taboos:
                bad |= taboo_frames(t, vals)[0]
            rejected += int(bad.sum())
            ok[fr[bad]] = False  # conservative: the whole frame's step is refused
        take = ok[:, joint_group]  # (F, C)
        projected += int((clipped & take[..., None]).sum())
        loc[:, cj] = np.where(take[..., None, None], trial[:, cj], loc[:, cj])
        local[idx] = loc
        moved = ok[:, pose_group[posed]]  # (F, K): joints whose pose follows an accepted step
        g[:, posed] = np.where(moved[..., None, None], g_new[:, posed], g[:, posed])
        pos[:, posed] = np.where(moved[..., None], pos_new[:, posed], pos[:, posed])
        state_g[idx], state_pos[idx] = g, pos
        state_e[idx] = np.where((ok @ eff_group)[..., None] > 0, e_new, e)
        step[idx] = np.where(ok, np.minimum(step[idx] * 2, ALPHA_MAX), step[idx] / 2)
        iters[idx] += 1
        cur = np.linalg.norm(state_e[idx], axis=-1).max(1)
        err[idx] = cur
        streak[idx] = np.where(cur < delta, streak[idx] + 1, 0)
        active[idx] = (streak[idx] < patience) & (step[idx].max(1) > 1e-8)
    out = with_local(motion, local, cj)
    return IKResult(out, iters, err, streak >= patience, projected, rejected)


def planted(contacts: np.ndarray, threshold: float = config.CONTACT_PROBABILITY) -> dict[str, np.ndarray]:
    """A model's (T, 2) contact probabilities (left, right foot) -> {'l', 'r'}: (T,) bool, the form
    :func:`lock_feet` takes."""
    c = np.asarray(contacts) > threshold
    return {"l": c[:, 0], "r": c[:, 1]}


def contacts(motion: Motion) -> dict[str, np.ndarray]:
    """(T,) bool per foot ('l', 'r'): the toe is within CONTACT_HEIGHT_M of the clip's floor and
    slower than CONTACT_SPEED_M_S (config)."""
    pos = motion.positions()
    out = {}
    for s in ("l", "r"):
        toe = pos[:, canonical.INDEX[f"{s}_toe"]]
        floor = np.percentile(pos[:, [canonical.INDEX["l_toe"], canonical.INDEX["r_toe"]], 2], 2)
        speed = np.zeros(len(toe))
        if len(toe) > 1:
            v = np.linalg.norm(np.diff(toe[:, :2], axis=0), axis=-1) * motion.fps
            speed[1:], speed[0] = v, v[0]
        out[s] = (toe[:, 2] - floor < config.CONTACT_HEIGHT_M) & (speed < config.CONTACT_SPEED_M_S)
    return out


def contact_slide_m(motion: Motion, planted: dict[str, np.ndarray]) -> float:
    """Mean horizontal toe travel per planted frame, metres (0 = no skating)."""
    pos = motion.positions()
    total, count = 0.0, 0
    for s, flags in planted.items():
        toe = pos[:, canonical.INDEX[f"{s}_toe"], :2]
        both = flags[1:] & flags[:-1]
        total += float(np.linalg.norm(np.diff(toe, axis=0), axis=-1)[both].sum())
        count += int(both.sum())
    return total / max(count, 1)


def lock_feet(motion: Motion, pack: RulePack | None = None, blend_frames: int = 4,
              delta: float = 0.01, min_frames: int = 3, max_iter: int = 60,
              planted: dict[str, np.ndarray] | None = None) -> tuple[Motion, dict]:
    """Hold each planted foot still (ankle and toe at their mean over the contact), by IK on the legs.

    Around each contact, the goal eases from the generated position to the lock over
    ``blend_frames`` so the leg does not jump. ``planted`` ({'l', 'r'}: (T,) bool, e.g. a model's
    contact output) replaces the contacts detected from the motion. Returns the motion and a report.
    """
    planted = contacts(motion) if planted is None else planted
    pos = motion.positions()
    n = motion.num_frames
    targets: dict[str, np.ndarray] = {}
    locks = 0
    for s, flags in planted.items():
        for joint in (f"{s}_foot", f"{s}_toe"):
            targets[joint] = np.full((n, 3), np.nan)
        for a, b in runs(flags):
            if b - a < min_frames:
                continue
            locks += 1
            for joint in (f"{s}_foot", f"{s}_toe"):
                j = canonical.INDEX[joint]
                lock = pos[a:b, j].mean(0)
                targets[joint][a:b] = lock
                for k in range(1, blend_frames + 1):
                    w = 1 - k / (blend_frames + 1)
                    for f, edge in ((a - k, a), (b - 1 + k, b - 1)):
                        if 0 <= f < n and not np.isfinite(targets[joint][f]).all():
                            targets[joint][f] = pos[f, j] + w * (lock - pos[edge, j])
    before = contact_slide_m(motion, planted)
    if not locks:
        return motion, {"locks": 0, "slide_before_m": round(before, 4), "slide_after_m": round(before, 4)}
    res = solve(motion, targets, LEGS, pack, delta=delta, max_iter=max_iter)
    after = contact_slide_m(res.motion, planted)
    frames = np.isfinite(np.stack(list(targets.values()), 1)).all(-1).any(1)
    return res.motion, {"locks": locks, "frames": int(frames.sum()),
                        "slide_before_m": round(before, 4), "slide_after_m": round(after, 4),
                        "iterations_mean": round(float(res.iterations[frames].mean()), 2),
                        "final_error_max_m": round(float(res.error_m[frames].max()), 4),
                        "projected_components": res.projected, "rejected_for_taboo": res.rejected_taboo}
