"""Forward kinematics and rotation helpers in torch, differentiable (for training).

Mirrors :mod:`motion_core.kinematics` and parts of :mod:`motion_core.rotations`; the tests check
that both agree. Importing this module needs torch; nothing at run time in Blender imports it.
"""

from __future__ import annotations

import torch


def sixd_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt (Zhou et al. 2019)."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternions (w, x, y, z) -> (..., 3, 3)."""
    q = torch.nn.functional.normalize(q, dim=-1)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
         2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
         2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], dim=-1,
    ).reshape(q.shape[:-1] + (3, 3))


def forward_kinematics(
    parents: list[int], local_rotations: torch.Tensor, local_translations: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, J, 3, 3) local rotations, (T, J, 3) or (J, 3) translations -> global rotations and
    positions, (T, J, 3, 3) and (T, J, 3). Gradients flow to both inputs."""
    t, j = local_rotations.shape[:2]
    trans = local_translations.expand(t, j, 3)
    g_rot: list[torch.Tensor] = []
    g_pos: list[torch.Tensor] = []
    for k, p in enumerate(parents):
        if p < 0:
            g_rot.append(local_rotations[:, k])
            g_pos.append(trans[:, k])
        else:
            g_rot.append(g_rot[p] @ local_rotations[:, k])
            g_pos.append(g_pos[p] + (g_rot[p] @ trans[:, k, :, None])[..., 0])
    return torch.stack(g_rot, 1), torch.stack(g_pos, 1)
