import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_core.skeleton import rotations as R

ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


@pytest.mark.parametrize("order", ORDERS)
def test_euler_matches_scipy_and_round_trips(order):
    rng = np.random.default_rng(0)
    ang = rng.uniform(-180, 180, (500, 3))
    ang[:, 1] = rng.uniform(-89, 89, 500)
    m = R.euler_to_matrix(ang, order)
    np.testing.assert_allclose(m, Rotation.from_euler(order, ang, degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(R.matrix_to_euler(m, order), ang, atol=1e-9)


@pytest.mark.parametrize("order", ORDERS)
def test_matrix_to_euler_at_gimbal_lock_reconstructs_the_matrix(order):
    ang = np.array([[30.0, 90.0, 10.0], [-50.0, -90.0, 25.0]])
    m = R.euler_to_matrix(ang, order)
    back = R.matrix_to_euler(m, order)
    np.testing.assert_allclose(R.euler_to_matrix(back, order), m, atol=1e-9)


def test_partial_orders_match_scipy():
    ang = np.array([[10.0, -40.0]])
    np.testing.assert_allclose(R.euler_to_matrix(ang, "ZX"),
                               Rotation.from_euler("ZX", ang, degrees=True).as_matrix(), atol=1e-12)


def test_quaternions_match_scipy():
    rot = Rotation.random(300, random_state=3)
    q_scipy = rot.as_quat()[:, [3, 0, 1, 2]]  # scipy is x, y, z, w
    q = R.matrix_to_quat(rot.as_matrix())
    np.testing.assert_allclose(np.abs(np.sum(q * q_scipy, -1)), 1.0, atol=1e-12)
    np.testing.assert_allclose(R.quat_to_matrix(q), rot.as_matrix(), atol=1e-12)
    a, b = Rotation.random(2, random_state=4)
    qa, qb = (R.matrix_to_quat(x.as_matrix()) for x in (a, b))
    np.testing.assert_allclose(R.quat_to_matrix(R.quat_mul(qa, qb)), (a * b).as_matrix(), atol=1e-12)


def test_slerp_matches_scipy():
    from scipy.spatial.transform import Slerp
    key = Rotation.random(2, random_state=5)
    q = R.matrix_to_quat(key.as_matrix())
    ts = np.linspace(0, 1, 7)
    ours = R.quat_to_matrix(R.quat_slerp(q[0], q[1], ts))
    np.testing.assert_allclose(ours, Slerp([0, 1], key)(ts).as_matrix(), atol=1e-9)


def test_sixd_round_trip_and_gram_schmidt():
    m = Rotation.random(50, random_state=6).as_matrix()
    np.testing.assert_allclose(R.sixd_to_matrix(R.matrix_to_sixd(m)), m, atol=1e-12)
    noisy = R.matrix_to_sixd(m) + 0.01
    out = R.sixd_to_matrix(noisy)
    np.testing.assert_allclose(out @ np.swapaxes(out, -1, -2), np.broadcast_to(np.eye(3), out.shape), atol=1e-12)


def test_rotation_between_handles_parallel_and_antiparallel():
    u = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.3, -0.2, 0.9]])
    v = np.array([[0, 1.0, 0], [0, 1.0, 0], [0, 0, -1.0], [-0.5, 0.1, 0.2]])
    r = R.rotation_between(u, v)
    got = np.einsum("nij,nj->ni", r, u / np.linalg.norm(u, axis=1, keepdims=True))
    np.testing.assert_allclose(got, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-12)
