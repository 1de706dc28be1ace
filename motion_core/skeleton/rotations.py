"""Rotation conversions in numpy, vectorised over any leading shape.

Conventions (used across the project):

* Matrices act on column vectors: ``v_parent = R @ v_local``.
* Euler angles are in **degrees** and **intrinsic**, in the order written, as in BVH:
  ``order="ZXY"`` means ``R = Rz(a0) @ Rx(a1) @ Ry(a2)`` (scipy's uppercase ``"ZXY"``).
* Quaternions are ``(w, x, y, z)``, unit norm.
* The 6D representation (Zhou et al. 2019) is the first two matrix columns, ``(..., 6)``.
"""

from __future__ import annotations

import numpy as np

_AXIS = {"X": 0, "Y": 1, "Z": 2}


def axis_rotation(axis: str, angles_deg: np.ndarray) -> np.ndarray:
    """Rotation about one principal axis. ``angles_deg`` (...) -> (..., 3, 3)."""
    a = np.radians(np.asarray(angles_deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    out = np.zeros(a.shape + (3, 3))
    i = _AXIS[axis.upper()]
    j, k = (i + 1) % 3, (i + 2) % 3
    out[..., i, i] = 1.0
    out[..., j, j] = c
    out[..., k, k] = c
    out[..., j, k] = -s
    out[..., k, j] = s
    return out


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles (..., len(order)) in degrees -> (..., 3, 3).

    ``order`` may name 1 to 3 axes (a BVH joint may carry fewer than three rotation channels).
    """
    angles = np.asarray(angles_deg, dtype=np.float64)
    if angles.shape[-1] != len(order):
        raise ValueError(f"expected {len(order)} angles for order {order!r}, got {angles.shape[-1]}")
    out = None
    for n, axis in enumerate(order):
        r = axis_rotation(axis, angles[..., n])
        out = r if out is None else out @ r
    if out is None:
        return np.broadcast_to(np.eye(3), angles.shape[:-1] + (3, 3)).copy()
    return out


def matrix_to_euler(mats: np.ndarray, order: str) -> np.ndarray:
    """(..., 3, 3) -> intrinsic Euler angles (..., 3) in degrees, for a Tait-Bryan order.

    The middle angle is in [-90, 90]. At gimbal lock the last angle is set to zero.
    """
    order = order.upper()
    if len(order) != 3 or len(set(order)) != 3:
        raise ValueError(f"order must name three distinct axes, got {order!r}")
    i, j, k = (_AXIS[c] for c in order)
    # +1 for the cyclic orders XYZ, YZX, ZXY; -1 for the others.
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    m = np.asarray(mats, dtype=np.float64)
    sb = np.clip(sign * m[..., i, k], -1.0, 1.0)
    b = np.arcsin(sb)
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    lock = np.abs(sb) > 1.0 - 1e-10
    if np.any(lock):
        # cos(b) ~ 0: only a +/- c is defined; put it all in a.
        a_lock = np.arctan2(sign * m[..., k, j], m[..., j, j])
        a = np.where(lock, a_lock, a)
        c = np.where(lock, 0.0, c)
    return np.degrees(np.stack([a, b, c], axis=-1))


def quat_normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as (w, x, y, z) -> (..., 3, 3)."""
    q = quat_normalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(q.shape[:-1] + (3, 3))
    out[..., 0, 0] = 1 - 2 * (y * y + z * z)
    out[..., 0, 1] = 2 * (x * y - w * z)
    out[..., 0, 2] = 2 * (x * z + w * y)
    out[..., 1, 0] = 2 * (x * y + w * z)
    out[..., 1, 1] = 1 - 2 * (x * x + z * z)
    out[..., 1, 2] = 2 * (y * z - w * x)
    out[..., 2, 0] = 2 * (x * z - w * y)
    out[..., 2, 1] = 2 * (y * z + w * x)
    out[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> unit quaternions (..., 4), w >= 0 (Shepperd's method, branch-free)."""
    m = np.asarray(m, dtype=np.float64)
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # Four candidate solutions; pick per element the numerically largest denominator.
    cand = np.stack(
        [
            np.stack([1 + tr, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                      m[..., 1, 0] - m[..., 0, 1]], -1),
            np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                      m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
            np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                      1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], m[..., 1, 2] + m[..., 2, 1]], -1),
            np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0],
                      m[..., 1, 2] + m[..., 2, 1], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1),
        ],
        axis=-2,
    )
    diag = np.stack([1 + tr, 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                     1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                     1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    q = quat_normalize(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product (..., 4) x (..., 4); ``quat_to_matrix(a*b) == A @ B``."""
    aw, ax, ay, az = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bw, bx, by, bz = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        [aw * bw - ax * bx - ay * by - az * bz,
         aw * bx + ax * bw + ay * bz - az * by,
         aw * by - ax * bz + ay * bw + az * bx,
         aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def quat_slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (..., 4), taking the short arc. ``t`` broadcasts as (...)."""
    a, b = quat_normalize(a), quat_normalize(b)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    near = sin < 1e-6
    safe = np.where(near, 1.0, sin)
    wa = np.where(near, 1 - t, np.sin((1 - t) * theta) / safe)
    wb = np.where(near, t, np.sin(t * theta) / safe)
    return quat_normalize(wa * a + wb * b)


def matrix_to_sixd(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): the first two columns, column-major."""
    m = np.asarray(m, dtype=np.float64)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def sixd_to_matrix(d6: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt; the inverse of :func:`matrix_to_sixd`."""
    d6 = np.asarray(d6, dtype=np.float64)
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    a2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = a2 / np.linalg.norm(a2, axis=-1, keepdims=True)
    b3 = np.cross(b1, b2)
    return np.stack([b1, b2, b3], axis=-1)


def axis_angle_to_matrix(axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rodrigues: unit ``axis`` (..., 3), ``angle_rad`` (...) -> (..., 3, 3)."""
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle_rad, dtype=np.float64)[..., None, None]
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1),
                  np.stack([-y, x, zero], -1)], -2)
    eye = np.broadcast_to(np.eye(3), k.shape)
    return eye + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``u`` onto direction ``v``; (..., 3) -> (..., 3, 3).

    Antiparallel inputs rotate by 180 degrees about an axis orthogonal to ``u``.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    axis = np.cross(u, v)
    s = np.linalg.norm(axis, axis=-1)
    c = np.clip(np.sum(u * v, axis=-1), -1.0, 1.0)
    # Fallback axis for (anti)parallel vectors: any vector orthogonal to u.
    helper = np.where(np.abs(u[..., :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    ortho = np.cross(u, helper)
    ortho /= np.linalg.norm(ortho, axis=-1, keepdims=True)
    axis = np.where(s[..., None] > 1e-12, axis / np.maximum(s, 1e-12)[..., None], ortho)
    return axis_angle_to_matrix(axis, np.arctan2(s, c))
