"""The per-frame vector the motion model reads and writes, and its exact inverse.

``(T, 130)`` float, at the motion's frame rate (25 fps):

* ``[0:126]``: each canonical joint's global rotation (relative to the T-pose) with the character's
  heading removed, in the 6D representation (two matrix columns), joint after joint;
* ``[126]``: pelvis height, metres;
* ``[127:129]``: ground velocity of the pelvis in the heading frame, m/s (x: character's left,
  y: the T-pose's -Y is forward, so walking forward is negative y);
* ``[129]``: yaw rate, rad/s.

Removing the heading makes the model invariant to where the dancer faces; the root is integrated
back on decoding, so a motion round-trips exactly (up to float precision) from its first frame.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import canonical
from ..skeleton.motion import Motion
from ..skeleton.rotations import matrix_to_quat, matrix_to_sixd, sixd_to_matrix

ROT_DIMS = len(canonical.JOINTS) * 6
DIM = ROT_DIMS + 4
HEIGHT, VEL, YAW_RATE = ROT_DIMS, slice(ROT_DIMS + 1, ROT_DIMS + 3), ROT_DIMS + 3


def heading(positions: np.ndarray) -> np.ndarray:
    """(T, 21, 3) -> (T,) yaw in radians of the character's forward direction (0 = facing -Y)."""
    left = positions[:, canonical.INDEX["l_thigh"]] - positions[:, canonical.INDEX["r_thigh"]]
    left = left + positions[:, canonical.INDEX["l_upper_arm"]] - positions[:, canonical.INDEX["r_upper_arm"]]
    # forward = left x up = (ly, -lx); yaw rotates the T-pose's -Y onto it: (sin, -cos).
    return np.arctan2(left[:, 1], left[:, 0])


def rot_z(yaw: np.ndarray) -> np.ndarray:
    """(...) yaw in radians -> (..., 3, 3) rotation about +Z."""
    c, s = np.cos(yaw), np.sin(yaw)
    out = np.zeros(np.shape(yaw) + (3, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1], out[..., 2, 2] = c, -s, s, c, 1
    return out


def motion_to_vector(motion: Motion) -> np.ndarray:
    """Motion -> (T, 130); see the module docstring."""
    pos = motion.positions()
    yaw = heading(pos)
    inv = np.swapaxes(rot_z(yaw), -1, -2)
    g = motion.global_matrices()
    local = inv[:, None] @ g
    t = motion.num_frames
    out = np.zeros((t, DIM))
    out[:, :ROT_DIMS] = matrix_to_sixd(local).reshape(t, ROT_DIMS)
    out[:, HEIGHT] = motion.root[:, 2]
    if t > 1:
        d = np.diff(motion.root[:, :2], axis=0) * motion.fps
        out[1:, VEL] = np.einsum("tij,tj->ti", inv[1:, :2, :2], d)
        out[1:, YAW_RATE] = np.angle(np.exp(1j * np.diff(yaw))) * motion.fps
    return out


def vector_to_motion(vec: np.ndarray, tpose: np.ndarray, fps: float,
                     start_xy: tuple[float, float] = (0.0, 0.0), start_yaw: float = 0.0) -> Motion:
    """(T, 130) -> Motion on a skeleton with T-pose joint positions ``tpose`` (21, 3), metres.

    The first frame's yaw rate and velocity are ignored (they describe motion before it).
    """
    vec = np.asarray(vec, dtype=np.float64)
    t = vec.shape[0]
    rates = vec[:, YAW_RATE].copy()
    rates[0] = 0.0
    yaw = start_yaw + np.cumsum(rates) / fps
    rz = rot_z(yaw)
    local = sixd_to_matrix(vec[:, :ROT_DIMS].reshape(t, len(canonical.JOINTS), 6))
    g = rz[:, None] @ local
    step = np.einsum("tij,tj->ti", rz[:, :2, :2], vec[:, VEL]) / fps
    step[0] = 0.0
    root = np.zeros((t, 3))
    root[:, :2] = np.asarray(start_xy) + np.cumsum(step, axis=0)
    root[:, 2] = vec[:, HEIGHT]
    return Motion(matrix_to_quat(g), root, tpose, np.ones(len(canonical.JOINTS), bool), fps)
