"""Forward kinematics in numpy, vectorised over frames."""

from __future__ import annotations

import numpy as np


def forward_kinematics(
    parents: np.ndarray,
    local_rotations: np.ndarray,
    local_translations: np.ndarray,
    root_transform: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Global joint rotations and positions.

    Args:
        parents: (J,) parent index per joint, -1 for the root; parents stored first.
        local_rotations: (T, J, 3, 3) rotation of each joint in its parent's frame.
        local_translations: (T, J, 3) or (J, 3) joint origin in its parent's frame
            (for the root: in the world). Units are the caller's (metres in the canonical frame).
        root_transform: optional (3, 3) basis change applied to the root (e.g. Y-up to Z-up).

    Returns:
        global_rotations (T, J, 3, 3) and global_positions (T, J, 3).
    """
    rots = np.asarray(local_rotations, dtype=np.float64)
    t, j = rots.shape[:2]
    trans = np.broadcast_to(np.asarray(local_translations, dtype=np.float64), (t, j, 3))
    g_rot = np.empty_like(rots)
    g_pos = np.empty((t, j, 3))
    for k, p in enumerate(np.asarray(parents)):
        if p < 0:
            if root_transform is None:
                g_rot[:, k] = rots[:, k]
                g_pos[:, k] = trans[:, k]
            else:
                g_rot[:, k] = root_transform @ rots[:, k]
                g_pos[:, k] = trans[:, k] @ np.asarray(root_transform).T
        else:
            g_rot[:, k] = g_rot[:, p] @ rots[:, k]
            g_pos[:, k] = g_pos[:, p] + np.einsum("tij,tj->ti", g_rot[:, p], trans[:, k])
    return g_rot, g_pos


def local_from_global(parents: np.ndarray, global_rotations: np.ndarray) -> np.ndarray:
    """Inverse of the rotation part of :func:`forward_kinematics`: (T, J, 3, 3) -> local."""
    g = np.asarray(global_rotations, dtype=np.float64)
    out = g.copy()
    for k, p in enumerate(np.asarray(parents)):
        if p >= 0:
            out[:, k] = np.swapaxes(g[:, p], -1, -2) @ g[:, k]
    return out
