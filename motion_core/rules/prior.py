"""A rule pack's prior at run time: how far a motion sits from it, and the pull towards it (seed 002
eq. 8's lambda term). The prior itself is built from reference clips by
:mod:`motion_core.rules.prior_build`."""

from __future__ import annotations

import numpy as np

from ..skeleton import canonical
from ..skeleton.motion import Motion
from ..skeleton.rotations import matrix_to_quat, quat_mul, quat_to_matrix
from .angles import local_matrices, rot_from_reference, rot_to_quat, with_local
from .pack import RulePack


def prior_distance_deg(local_q: np.ndarray, pack_prior: dict) -> dict[str, float]:
    """How close (N, 21, 4) local rotations sit to a pack's prior: mean geodesic angle to its mean
    over the prior's joints, and mean Gaussian log-density per joint-axis (nats)."""
    joints = [canonical.INDEX[j] for j in pack_prior["joints"]]
    rel = rot_from_reference(local_q, pack_prior["mean"])[:, joints]
    std = pack_prior["std"][joints]
    z = rel / std
    logp = -0.5 * z * z - np.log(std * np.sqrt(2 * np.pi))
    return {"mean_angle_to_prior_deg": round(float(np.linalg.norm(rel, axis=-1).mean()), 2),
            "mean_log_density": round(float(logp.mean()), 3)}


def prior_pull(motion: Motion, pack: RulePack, generator_std_deg: np.ndarray | None = None) -> tuple[Motion, dict]:
    """The lambda ||theta - theta_ref||^2 term of seed eq. 8 at generation time.

    Per joint and axis, the posterior mean of the generated angle (a Gaussian of std
    ``generator_std_deg``, the model's own spread) under the pack's prior N(mean, std^2) weighted by
    lambda: ``r' = r * s^2 / (s^2 + lambda sigma^2)`` with ``r`` the rotation from the prior mean.
    """
    pr = pack.prior
    if pr is None:
        return motion, {}
    sigma = np.full((len(canonical.JOINTS), 3), 15.0) if generator_std_deg is None else generator_std_deg
    local = local_matrices(motion.global_matrices())
    q = matrix_to_quat(local)
    joints = [canonical.INDEX[j] for j in pr["joints"]]
    r = rot_from_reference(q, pr["mean"])  # from the prior mean to the generated local rotation
    s2, g2 = pr["std"][joints] ** 2, sigma[joints] ** 2
    shrink = s2 / (s2 + pr["weight"] * g2)
    r_new = r.copy()
    r_new[:, joints] = r[:, joints] * shrink
    q_new = quat_mul(np.broadcast_to(rot_to_quat(pr["mean"]), q.shape), rot_to_quat(r_new))
    local_new = local.copy()
    local_new[:, joints] = quat_to_matrix(q_new[:, joints])
    info = {"weight_lambda": pr["weight"], "joints": pr["joints"], "source": pr["source"],
            "mean_shrink": round(float(shrink.mean()), 3)}
    return with_local(motion, local_new, joints), info
