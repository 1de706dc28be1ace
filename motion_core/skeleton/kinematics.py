"""Forward kinematics in numpy, vectorised over frames: the one implementation every module uses
(BVH rigs, the canonical Motion, joint angles, IK)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def global_rotations(parents: np.ndarray, local_rotations: np.ndarray,
                     joints: Iterable[int] | None = None) -> np.ndarray:
    """(..., J, 3, 3) rotations in the parent's frame -> global rotations ``G_p @ L_j``.

    ``parents``: (J,) parent index, -1 for a root, parents stored first. ``joints``: compute only
    these (parents first, each with its ancestors listed before it); the others are left 0.
    """
    local = np.asarray(local_rotations, dtype=np.float64)
    g = np.zeros_like(local) if joints is not None else np.empty_like(local)
    for j in (range(len(parents)) if joints is None else joints):
        p = parents[j]
        g[..., j, :, :] = local[..., j, :, :] if p < 0 else g[..., p, :, :] @ local[..., j, :, :]
    return g


def chain_positions(parents: np.ndarray, global_rots: np.ndarray, offsets: np.ndarray, root: np.ndarray,
                    joints: Iterable[int] | None = None) -> np.ndarray:
    """(T, J, 3) joint positions: ``pos_j = pos_p + G_p @ offset_j``, roots at ``root``.

    ``global_rots`` (T, J, 3, 3); ``offsets`` (J, 3) or (T, J, 3), each joint's origin in its
    parent's frame; ``root`` (T, 3) the position of every root joint, or (T, J, 3) one per joint.
    Units are the caller's (metres in the canonical frame). ``joints`` as in :func:`global_rotations`.
    """
    t, n = global_rots.shape[:2]
    off = np.broadcast_to(np.asarray(offsets, dtype=np.float64), (t, n, 3))
    root = np.asarray(root, dtype=np.float64)
    pos = np.zeros((t, n, 3))
    for j in (range(n) if joints is None else joints):
        p = parents[j]
        if p < 0:
            pos[:, j] = root[:, j] if root.ndim == 3 else root
        else:
            pos[:, j] = pos[:, p] + np.einsum("tij,tj->ti", global_rots[:, p], off[:, j])
    return pos


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
    rots = np.array(local_rotations, dtype=np.float64)
    t, j = rots.shape[:2]
    trans = np.array(np.broadcast_to(np.asarray(local_translations, dtype=np.float64), (t, j, 3)))
    parents = np.asarray(parents)
    if root_transform is not None:
        r = np.asarray(root_transform, dtype=np.float64)
        roots = parents < 0
        rots[:, roots] = r @ rots[:, roots]
        trans[:, roots] = trans[:, roots] @ r.T
    g = global_rotations(parents, rots)
    return g, chain_positions(parents, g, trans, trans)


def local_from_global(parents: np.ndarray, global_rotations: np.ndarray) -> np.ndarray:
    """Inverse of :func:`global_rotations`: (..., J, 3, 3) -> local (roots stay global)."""
    g = np.asarray(global_rotations, dtype=np.float64)
    parents = np.asarray(parents)
    out = np.swapaxes(g[..., np.maximum(parents, 0), :, :], -1, -2) @ g
    out[..., parents < 0, :, :] = g[..., parents < 0, :, :]
    return out
