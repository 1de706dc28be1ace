"""Skeletons from Blender-style armatures, and pose-bone keys from a posed rig. No bpy here.

A Blender bone has a rest matrix in armature space (``bone.matrix_local``: orientation ``B`` and
head position). A pose bone's ``matrix_basis`` is relative to that rest. These helpers turn bone
rest data into a :class:`~motion_core.skeleton.Skeleton` whose ``rest_rotations`` carry the bone
rolls, so retargeting treats armatures and BVH files alike.
"""

from __future__ import annotations

import numpy as np

from ..skeleton.rotations import matrix_to_quat
from .hierarchy import Skeleton


def skeleton_from_bones(names: list[str], parents: list[int], rest_matrices: np.ndarray,
                        lengths: np.ndarray | None = None) -> Skeleton:
    """Build a Skeleton from bones (parents first).

    Args:
        names: bone names.
        parents: parent index per bone, -1 for roots. A second root is re-parented to the first
            (the skeleton must be a single tree); its offset keeps it in place.
        rest_matrices: (J, 4, 4) ``bone.matrix_local`` in armature space (units of the armature).
        lengths: (J,) bone lengths; a leaf bone then gets an End Site at its tail (a bone points
            along its own Y axis), as Blender's BVH exporter writes.
    """
    m = np.asarray(rest_matrices, dtype=np.float64)
    rot, head = m[:, :3, :3], m[:, :3, 3]
    par = np.array(parents, dtype=np.int64)
    roots = np.nonzero(par < 0)[0]
    for r in roots[1:]:
        par[r] = roots[0]
    offsets = np.empty((len(names), 3))
    local_rest = np.empty((len(names), 3, 3))
    for j, p in enumerate(par):
        if p < 0:
            offsets[j] = head[j]
            local_rest[j] = rot[j]
        else:
            offsets[j] = rot[p].T @ (head[j] - head[p])
            local_rest[j] = rot[p].T @ rot[j]
    leaves = set(range(len(names))) - set(int(p) for p in par if p >= 0)
    ends = [(j, np.array([0.0, float(lengths[j]), 0.0])) for j in sorted(leaves)] if lengths is not None else []
    return Skeleton(list(names), par, offsets, end_sites=ends, rest_rotations=local_rest)


def bone_keys(skeleton: Skeleton, rotations: np.ndarray, translations: np.ndarray,
              carriers: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Pose-bone basis keys from :func:`motion_core.retarget.pose_from_motion` output.

    Returns:
        quaternions (T, J, 4) (w, x, y, z) for ``rotation_quaternion``, continuous in time
        (no sign flips between frames, so F-curve interpolation takes the short way);
        locations (T, J, 3) for ``location``: zero except for the ``carriers`` (root motion).
    """
    q = matrix_to_quat(rotations)
    # Make each quaternion track continuous: flip where the dot with the previous frame is < 0.
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flips = np.cumsum(dots < 0, axis=0) % 2
    q[1:][flips.astype(bool)] *= -1
    loc = np.zeros(translations.shape)
    for j in carriers:
        loc[:, j] = (translations[:, j] - skeleton.offsets[j]) @ skeleton.rest_rotations[j]
    return q, loc
