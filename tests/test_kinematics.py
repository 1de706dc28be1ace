import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_core.rigs.bvh import read_bvh
from motion_core.skeleton.kinematics import forward_kinematics, local_from_global

torch = pytest.importorskip("torch", reason="the torch FK path needs torch (pip install torch==2.13.0)")
from training import kinematics_torch as KT  # noqa: E402


def _naive_fk(parents, rots, trans):
    """One frame, one joint at a time, composing scipy rotations: an independent reference."""
    t, j = rots.shape[:2]
    pos = np.zeros((t, j, 3))
    for f in range(t):
        glob = [None] * j
        for k in range(j):
            r = Rotation.from_matrix(rots[f, k])
            if parents[k] < 0:
                glob[k], pos[f, k] = r, trans[f, k]
            else:
                glob[k] = glob[parents[k]] * r
                pos[f, k] = pos[f, parents[k]] + glob[parents[k]].apply(trans[f, k])
    return pos


def test_fk_matches_a_naive_reference_on_real_data(bandai_dance):
    clip = read_bvh(bandai_dance)
    rots, trans = clip.local_transforms()
    rots, trans = rots[::200], trans[::200]
    g, p = forward_kinematics(clip.skeleton.parents, rots, trans)
    np.testing.assert_allclose(p, _naive_fk(clip.skeleton.parents, rots, trans), atol=1e-9)
    np.testing.assert_allclose(local_from_global(clip.skeleton.parents, g), rots, atol=1e-12)


def test_torch_fk_agrees_with_numpy_and_has_gradients():
    rng = np.random.default_rng(0)
    parents = [-1, 0, 1, 1, 3]
    rots = Rotation.random(3 * 5, random_state=1).as_matrix().reshape(3, 5, 3, 3)
    trans = rng.normal(size=(5, 3))
    _, p_np = forward_kinematics(np.array(parents), rots, trans)
    d6 = torch.tensor(np.concatenate([rots[..., :, 0], rots[..., :, 1]], -1), requires_grad=True)
    offs = torch.tensor(trans, requires_grad=True)
    _, p_t = KT.forward_kinematics(parents, KT.sixd_to_matrix(d6), offs)
    np.testing.assert_allclose(p_t.detach().numpy(), p_np, atol=1e-10)
    p_t[:, -1].sum().backward()
    assert d6.grad is not None and torch.isfinite(d6.grad).all() and d6.grad.abs().sum() > 0
    assert offs.grad is not None and offs.grad.abs().sum() > 0


def test_torch_quaternions_match_numpy():
    from motion_core.skeleton.rotations import quat_to_matrix
    q = np.random.default_rng(2).normal(size=(10, 4))
    np.testing.assert_allclose(KT.quat_to_matrix(torch.tensor(q)).numpy(), quat_to_matrix(q), atol=1e-12)
