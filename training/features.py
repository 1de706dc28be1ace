"""Training features derived from a canonical :class:`~motion_core.motion.Motion`.

All at the motion's frame rate (25 fps for the training set), metres and seconds:

* ``pose`` (T, 21, 3): joint positions relative to the pelvis' ground projection, in the
  heading frame (x = character's left, y = backward (-forward), z = up).
* ``root_velocity`` (T, 3): ground velocity in the heading frame (m/s, x left, y backward) and
  the yaw rate (rad/s). Integrating it and adding ``pose`` gives back the motion's positions.
* ``contacts`` (T, 4): 1 where l_foot, l_toe, r_foot, r_toe are planted.
"""

from __future__ import annotations

import numpy as np

from motion_core.config import CONTACT_HEIGHT_M, CONTACT_SPEED_M_S
from motion_core.models.pose_vector import heading
from motion_core.models.pose_vector import rot_z as _rot_z
from motion_core.skeleton import canonical
from motion_core.skeleton.motion import Motion

CONTACT_JOINTS = ("l_foot", "l_toe", "r_foot", "r_toe")


def foot_contacts(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T, 21, 3) -> (T, 4) float32 contact labels for :data:`CONTACT_JOINTS`."""
    idx = [canonical.INDEX[n] for n in CONTACT_JOINTS]
    p = positions[:, idx]
    vel = np.zeros(p.shape[:2])
    vel[1:] = np.linalg.norm(np.diff(p, axis=0), axis=-1) * fps
    vel[0] = vel[1] if len(vel) > 1 else 0.0
    floor = np.percentile(p[..., 2], 2, axis=0)  # per contact joint: its own lowest height
    return ((vel < CONTACT_SPEED_M_S) & (p[..., 2] - floor < CONTACT_HEIGHT_M)).astype(np.float32)


def motion_features(motion: Motion) -> dict[str, np.ndarray]:
    pos = motion.positions()
    yaw = heading(pos)
    inv = np.swapaxes(_rot_z(yaw), -1, -2)  # world -> heading frame
    ground = pos[:, canonical.INDEX["pelvis"]].copy()
    ground[:, 2] = 0.0
    pose = np.einsum("tij,tkj->tki", inv, pos - ground[:, None])
    vel = np.zeros((motion.num_frames, 3))
    if motion.num_frames > 1:
        d = np.diff(ground, axis=0) * motion.fps
        vel[1:, :2] = np.einsum("tij,tj->ti", inv[1:], d)[:, :2]
        vel[1:, 2] = np.angle(np.exp(1j * np.diff(yaw))) * motion.fps
    return {
        "pose": pose.astype(np.float32),
        "root_velocity": vel.astype(np.float32),
        "contacts": foot_contacts(pos, motion.fps),
    }
