"""Build a rule pack's prior from reference BVH clips (``python -m motion_core prior build``).

From every frame of the clips (retargeted to the canonical skeleton and resampled to 25 fps):

* ``theta_ref``: per joint, the mean local rotation (normalised chordal mean of sign-aligned
  quaternions), as a rotation vector in degrees (:mod:`motion_core.joint_angles`, ``rot``);
* ``p_prior``: per joint and axis, a Gaussian around ``theta_ref``: the standard deviation of the
  rotation from ``theta_ref``, floored at ``STD_FLOOR_DEG``;
* the observed range per joint and axis (0.5th to 99.5th percentile), for the reviewer.

The pack says where it came from (file names, frame counts, content hashes) and that it
describes those clips only; it is a ``user-reference`` pack, not an ethnographic fact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import config
from ..inputs import expand_inputs
from ..rigs.retarget import load_rig, motion_from_clip
from ..skeleton import canonical
from ..skeleton.rotations import matrix_to_quat
from .angles import local_matrices, quat_to_rot, rot_from_reference
from .pack import DEFAULT_PACK, FORMAT, FORMAT_VERSION, load_pack

STD_FLOOR_DEG = 2.0


def clip_files(inputs: Sequence[str | Path]) -> list[Path]:
    """The .bvh files named by ``inputs`` (files, or folders of them), sorted; an error if none."""
    return expand_inputs(inputs, [".bvh"], ".bvh clips")


def local_quaternions(files: list[Path]) -> tuple[np.ndarray, list[dict]]:
    """(N, 21, 4) local rotations over all frames of ``files`` at 25 fps, and one record per clip."""
    quats, records = [], []
    for f in files:
        rig, clip = load_rig(f)
        m = motion_from_clip(clip, rig).resample(config.FPS)
        quats.append(matrix_to_quat(local_matrices(m.global_matrices())))
        records.append({"file": f.name, "frames_25fps": m.num_frames, "source_fps": round(clip.fps, 3),
                        "sha256": hashlib.sha256(f.read_bytes()).hexdigest()[:16]})
    return np.concatenate(quats), records


def build_prior_pack(inputs: Sequence[str | Path], name: str, terms: str = "") -> dict:
    """A ``user-reference`` rule pack (as a dict, ready for JSON) from reference clips."""
    files = clip_files(inputs)
    q, records = local_quaternions(files)
    q = np.where((q * q[:1]).sum(-1, keepdims=True) < 0, -q, q)  # one hemisphere per joint
    mean_q = q.mean(0)
    mean_q /= np.linalg.norm(mean_q, axis=-1, keepdims=True)
    theta_ref = quat_to_rot(mean_q)
    limits = load_pack(DEFAULT_PACK).limits
    theta_ref[1:] = np.clip(theta_ref[1:], limits[1:, :, 0], limits[1:, :, 1])  # a safe pose is a feasible one
    rel = rot_from_reference(q, quat_to_rot(mean_q))
    std = np.maximum(rel.std(0), STD_FLOOR_DEG)
    rot = quat_to_rot(q)
    lo, hi = np.percentile(rot, [0.5, 99.5], axis=0)
    joints = canonical.JOINTS[1:]

    def r(v: np.ndarray) -> list[float]:
        return [round(float(x), 2) for x in v]

    total = sum(rec["frames_25fps"] for rec in records)
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": name, "version": "1",
        "title": f"Prior from {len(files)} reference clip(s)",
        "status": "user-reference",
        "status_note": f"Built by 'prior build' from {len(files)} reference clip(s), {total} frames at {config.FPS:g} fps. It "
                       "describes how those clips move, nothing more; it carries no taboos and no expert review.",
        "extends": DEFAULT_PACK,
        "sources": {"reference-clips": {
            "citation": "Reference clips given to 'python -m motion_core prior build': "
                        + "; ".join(f"{rec['file']} ({rec['frames_25fps']} frames, sha256 {rec['sha256']})"
                                    for rec in records),
            "terms": terms or "not stated by the user"}},
        "reference": {"source": "reference-clips", "theta_ref": {j: r(theta_ref[canonical.INDEX[j]]) for j in joints}},
        "prior": {"source": "reference-clips", "weight": config.LAMBDA_REF, "frames": total,
                  "joints": {j: {"mean": r(theta_ref[canonical.INDEX[j]]), "std": r(std[canonical.INDEX[j]])}
                             for j in joints},
                  "observed": {j: {ax: [round(float(lo[canonical.INDEX[j], a]), 1),
                                        round(float(hi[canonical.INDEX[j], a]), 1)]
                                   for a, ax in enumerate("xyz")} for j in joints}},
    }
