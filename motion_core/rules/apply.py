"""Apply a rule pack to a generated motion, and say what happened (the audit's "during" and "after").

Order, each step recorded:

1. ``prior``: pull towards the pack's prior, if it has one (seed eq. 8's lambda term).
2. ``intercept``: taboo frames get their offending region replaced (seed eq. 11).
3. ``project``: Proj_Omega, every joint clipped into the physiological box (seed eq. 9-10).
4. ``feet``: foot-contact locks by projected-gradient IK (seed eq. 9), staying in Omega minus taboo.
5. A last interception pass in case 3 or 4 moved a joint into a taboo domain.

Compliance is measured before and after on the same predicates, and independently of the steps'
own flags (the measures are recomputed from the final motion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton.motion import Motion
from ..skeleton.rotations import matrix_to_quat
from .angles import local_matrices, measure
from .audit import Compliance, During
from .ik import lock_feet
from .intercept import intercept, project_limits, taboo_frames
from .pack import RulePack
from .prior import prior_distance_deg, prior_pull


@dataclass
class Constrained:
    motion: Motion
    during: During
    before: Compliance
    after: Compliance


def compliance(motion: Motion, pack: RulePack) -> Compliance:
    """Frame counts inside each taboo domain and outside the joint limits; share of compliant frames."""
    values = measure(motion)
    rot = values["rot"][:, 1:]
    lim = pack.limits[1:]
    outside = ((rot < lim[..., 0] - 1e-6) | (rot > lim[..., 1] + 1e-6)).any((1, 2))
    taboo_any = np.zeros(motion.num_frames, dtype=bool)
    per_rule = {}
    for t in pack.taboos:
        inside = taboo_frames(t, values)[0]
        per_rule[t.id] = int(inside.sum())
        taboo_any |= inside
    prior = None
    if pack.prior is not None:
        prior = prior_distance_deg(matrix_to_quat(local_matrices(motion.global_matrices())), pack.prior)
    return Compliance(motion.num_frames, per_rule, int(outside.sum()),
                      round(float((~outside & ~taboo_any).mean()), 4), prior)


def apply_pack(motion: Motion, pack: RulePack, joint_std_deg: np.ndarray | None = None,
               feet: bool = True, planted: dict[str, np.ndarray] | None = None) -> Constrained:
    """Run the steps in the module doc. ``joint_std_deg`` (21,): the generator's spread per joint;
    ``planted`` ({'l', 'r'}: (T,) bool): the model's foot contacts, else detected from the motion."""
    before = compliance(motion, pack)
    during = During()
    if pack.prior is not None:
        std = None if joint_std_deg is None else np.repeat(np.asarray(joint_std_deg)[:, None], 3, 1)
        motion, during.prior_pull = prior_pull(motion, pack, std)
    motion, records = intercept(motion, pack)
    motion, during.limit_projections = project_limits(motion, pack)
    if feet:
        motion, during.foot_locks = lock_feet(motion, pack, planted=planted)
    motion, late = intercept(motion, pack)
    fps = motion.fps
    during.interceptions = [r.record(fps) for r in records if r.frames]
    during.late_interceptions = [r.record(fps) for r in late if r.frames]
    return Constrained(motion, during, before, compliance(motion, pack))
