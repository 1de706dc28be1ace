"""The evaluation metrics on cases with known answers."""

import numpy as np
import pytest

from motion_core.rigs.builtin import builtin_rig
from motion_core.skeleton import canonical
from motion_core.skeleton.motion import Motion

pytest.importorskip("torch", reason="training.evaluate needs torch")
from training.evaluate import bone_length_error, dtw, fid, foot_skating, jerk, joint_angles  # noqa: E402


def _standing(frames=50):
    rig, _ = builtin_rig("canonical")
    tpose = rig.tpose.positions[[rig.skeleton.index(n) for n in canonical.JOINTS]]
    rot = np.tile([1.0, 0, 0, 0], (frames, 21, 1))
    root = np.tile([0, 0, 0.97], (frames, 1)).astype(float)
    return Motion(rot, root, tpose, np.ones(21, bool), 25)


def test_foot_skating_counts_sliding_planted_feet():
    m = _standing()
    assert foot_skating(m.positions()) == 0.0
    sliding = Motion(m.rotations, m.root + np.c_[np.arange(50) * 0.05, np.zeros((50, 2))], m.tpose, m.present, 25)
    assert foot_skating(sliding.positions()) == 1.0  # 5 cm per frame with toes on the floor


def test_jerk_zero_for_constant_velocity_and_positive_for_shake():
    m = _standing()
    moving = Motion(m.rotations, m.root + np.c_[np.arange(50) * 0.02, np.zeros((50, 2))], m.tpose, m.present, 25)
    assert jerk(moving.positions()) < 1e-6
    shake = Motion(m.rotations, m.root + np.c_[np.zeros((50, 2)), 0.01 * (-1) ** np.arange(50)], m.tpose, m.present, 25)
    assert jerk(shake.positions()) > 100


def test_dtw_is_zero_on_itself_and_tolerates_time_warps():
    t = np.linspace(0, 2 * np.pi, 40)
    a = np.stack([np.sin(t), np.cos(t), t * 0], -1)[:, None]
    slow = np.stack([np.sin(t[::2].repeat(2)), np.cos(t[::2].repeat(2)), t * 0], -1)[:, None]
    assert dtw(a, a) == 0
    assert dtw(a, slow) < 0.2 * np.abs(a - slow).mean() + 0.05
    assert dtw(a, a + 1.0) == pytest.approx(np.sqrt(3), rel=1e-6)  # every point moved by (1, 1, 1)


def test_fid_zero_for_same_set_and_grows_with_shift():
    x = np.random.default_rng(0).normal(size=(200, 5))
    assert abs(fid(x, x)) < 1e-6
    assert fid(x, x + 2) == pytest.approx(20, rel=0.05)


def test_tpose_has_zero_angles_and_exact_bones():
    m = _standing()
    assert np.abs(joint_angles(m)).max() < 1e-6
    assert bone_length_error(m) < 1e-12
