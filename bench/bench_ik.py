"""Projected-gradient IK (seed 002 eq. 9): ms per frame, iterations, final joint-angle error.

Reachable targets: a real 250-frame Bandai-Namco clip (10 s at 25 fps) with 9 chain joints (both
shoulders and elbows, both hips and knees, the neck) each turned by a random 0-15 deg; the goals
are the perturbed positions of the elbows, wrists, knees, ankles and head. IK starts from the
unperturbed clip under the default-humanoid limits. The error is the angle between solved and
true bone directions (twist about a bone is not observable from positions). Seed 002 reports
3 ms per frame, 5.2 iterations, < 2.3 deg; #4's target is <= 0.5 ms/frame and <= 1 deg.

    python bench/bench_ik.py            (needs ../shared/data)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core import config
from motion_core.rigs.retarget import load_rig, motion_from_clip  # noqa: E402
from motion_core.rules.angles import local_matrices, segment_directions, with_local  # noqa: E402
from motion_core.rules.ik import lock_feet, solve  # noqa: E402
from motion_core.rules.pack import load_pack  # noqa: E402
from motion_core.skeleton import canonical  # noqa: E402
from motion_core.skeleton.rotations import axis_angle_to_matrix  # noqa: E402

CLIP = Path(__file__).resolve().parents[2] / "shared/data/bandai-namco/dataset-1/data/dataset-1_dance-short_normal_001.bvh"
CHAIN = ["l_upper_arm", "l_forearm", "r_upper_arm", "r_forearm", "l_thigh", "l_shin", "r_thigh", "r_shin", "neck"]
EFFECTORS = ["l_forearm", "l_hand", "r_forearm", "r_hand", "l_shin", "l_foot", "r_shin", "r_foot", "head"]


def main() -> int:
    if not CLIP.exists():
        print(f"needs {CLIP}")
        return 1
    rig, clip = load_rig(CLIP)
    m = motion_from_clip(clip, rig).resample(25).slice(0, 250)
    pack = load_pack("default-humanoid")
    rng = np.random.default_rng(0)
    cj = [canonical.INDEX[c] for c in CHAIN]
    local = local_matrices(m.global_matrices())
    axes = rng.normal(size=(m.num_frames, len(cj), 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    local[:, cj] = local[:, cj] @ axis_angle_to_matrix(axes, np.radians(rng.uniform(0, 15, (m.num_frames, len(cj)))))
    truth = with_local(m, local, cj)
    pos = truth.positions()
    targets = {e: pos[:, canonical.INDEX[e]] for e in EFFECTORS}
    d_true = segment_directions(truth.global_matrices(), m.tpose)[:, cj]
    print(f"{m.num_frames} frames, {len(CHAIN)} chain joints, {len(EFFECTORS)} effectors")
    print(f"{'delta m':>8} {'ms/frame':>9} {'iter mean':>9} {'angle err mean':>14} {'p95':>6} {'max':>6} {'max pos err m':>13}")
    for delta in (config.IK_DELTA_M, 0.01, 0.005):
        best = np.inf
        for _ in range(3):
            t = time.perf_counter()
            res = solve(m, targets, CHAIN, pack, delta=delta)
            best = min(best, time.perf_counter() - t)
        d = segment_directions(res.motion.global_matrices(), m.tpose)[:, cj]
        err = np.degrees(np.arccos(np.clip((d * d_true).sum(-1), -1, 1)))
        print(f"{delta:8.3f} {best * 1000 / m.num_frames:9.3f} {res.iterations.mean():9.2f} {err.mean():14.2f} "
              f"{np.percentile(err, 95):6.2f} {err.max():6.2f} {res.error_m.max():13.4f}")
    full = motion_from_clip(clip, rig).resample(25)
    t = time.perf_counter()
    _, report = lock_feet(full, pack)
    dt = time.perf_counter() - t
    print(f"foot locks on the whole clip ({full.num_frames} frames): {dt * 1000 / full.num_frames:.3f} ms/frame, {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
