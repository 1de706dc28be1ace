import numpy as np
import pytest

from motion_core.rigs.axes import AxisConvention
from motion_core.rigs.builtin import NAMES, builtin_rig
from motion_core.rigs.bvh import BvhClip
from motion_core.rigs.hierarchy import Skeleton
from motion_core.rigs.retarget import (
    clip_from_motion,
    load_rig,
    make_rig,
    motion_from_clip,
    rest_pose_check,
    retarget_clip,
    trunk_links,
)
from motion_core.skeleton import canonical
from motion_core.skeleton.kinematics import forward_kinematics


def positions(clip, rig):
    """(T, J, 3) metres in the canonical frame, by FK on the clip itself."""
    a = rig.axes.matrix
    r, t = clip.local_transforms()
    _, p = forward_kinematics(rig.skeleton.parents, a @ r @ a.T, t @ a.T * rig.axes.unit_m)
    return p


def canon_positions(clip, rig):
    p = positions(clip, rig)
    idx = rig.bone_map.indices(rig.skeleton)
    return np.stack([p[:, idx[c]] for c in canonical.JOINTS], axis=1)


@pytest.fixture(scope="module")
def bandai(bandai_dance):
    rig, clip = load_rig(bandai_dance)
    return rig, BvhClip(clip.skeleton, clip.frame_time, clip.values[::5])


@pytest.mark.parametrize("via", ["cmu", "mixamo", "rigify", "canonical"])
def test_round_trip_returns_original_joint_positions(bandai, via):
    src, clip = bandai
    mid, _ = builtin_rig(via)
    there = retarget_clip(clip, src, mid)
    back = retarget_clip(there, mid, src)
    err = np.linalg.norm(positions(back, src) - positions(clip, src), axis=-1)
    assert err.max() < 0.01, f"max joint error {err.max() * 100:.3f} cm"


@pytest.mark.parametrize("target", NAMES)
def test_target_keeps_its_bone_lengths_and_follows_source_directions(bandai, target):
    src, clip = bandai
    tgt, _ = builtin_rig(target)
    out = retarget_clip(clip, src, tgt)
    p = positions(out, tgt)
    rest = tgt.tpose.positions
    for j, par in enumerate(tgt.skeleton.parents):
        if par >= 0:
            lengths = np.linalg.norm(p[:, j] - p[:, par], axis=-1)
            np.testing.assert_allclose(lengths, np.linalg.norm(rest[j] - rest[par]), atol=1e-9)
    # Each limb segment points the same way on both rigs (the neck too where it is one bone: a neck
    # of several bones bends along its length, see test_trunk_chain_bends_as_one).
    ps, pt = canon_positions(clip, src), canon_positions(out, tgt)
    links = trunk_links(tgt)
    neck_links = [u for u, (_, _, m) in links.items() if canonical.JOINTS[m] == "head"]
    for a, b in [("l_upper_arm", "l_forearm"), ("r_forearm", "r_hand"), ("l_thigh", "l_shin"),
                 ("r_shin", "r_foot"), ("l_foot", "l_toe")] + ([] if neck_links else [("neck", "head")]):
        ia, ib = canonical.INDEX[a], canonical.INDEX[b]
        ds = ps[:, ib] - ps[:, ia]
        dt = pt[:, ib] - pt[:, ia]
        cos = np.sum(ds * dt, -1) / np.linalg.norm(ds, axis=-1) / np.linalg.norm(dt, axis=-1)
        assert cos.min() > 0.9999, (a, b, cos.min())


def test_root_motion_scales_with_leg_length(bandai):
    src, clip = bandai
    tgt, _ = builtin_rig("mixamo")
    m = motion_from_clip(clip, src)
    out = clip_from_motion(m, tgt)
    ratio = tgt.tpose.leg_length(tgt) / m.leg_length
    pelvis_t = canon_positions(out, tgt)[:, 0]
    np.testing.assert_allclose(pelvis_t, m.root * ratio, atol=1e-9)


def test_rest_pose_does_not_matter(bandai):
    """The same rig with a different rest pose (arms down, legs turned) gives the same motion."""
    src, clip = bandai
    tgt, rest_clip = builtin_rig("mixamo")
    sk = tgt.skeleton
    rng = np.random.default_rng(0)
    from scipy.spatial.transform import Rotation
    # Re-express the rig with each joint's offset rotated by a random rest: an arbitrary rest pose.
    g = Rotation.random(sk.num_joints, random_state=1).as_matrix()
    offsets = sk.offsets.copy()
    for j, p in enumerate(sk.parents):
        if p >= 0:
            offsets[j] = g[p].T @ sk.offsets[j]  # the same geometry when joint p is rotated by g[p]
    rest = np.array([g[j] if p < 0 else g[p].T @ g[j] for j, p in enumerate(sk.parents)])
    other = make_rig(Skeleton(sk.names, sk.parents, offsets, sk.channels, sk.end_sites, rest), "rotated", tgt.axes)
    del rng, rest_clip
    a = canon_positions(retarget_clip(clip, src, tgt), tgt)
    b = canon_positions(retarget_clip(clip, src, other), other)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_third_skeleton_at_120_fps_resamples_to_25(sfu_chinese_dance):
    src, clip = load_rig(sfu_chinese_dance)
    assert src.axes == AxisConvention("Y", 0.0254)
    out = retarget_clip(clip, src, builtin_rig("rigify")[0], fps=25)
    assert out.fps == pytest.approx(25)
    assert out.num_frames == int((clip.num_frames - 1) * 25 / clip.fps) + 1
    assert np.isfinite(out.values).all()


@pytest.mark.parametrize("rig", NAMES)
def test_tpose_hits_every_aim(rig):
    assert rest_pose_check(builtin_rig(rig)[0]) < 1e-6


def test_real_rigs_tpose_and_height(bandai, sfu_chinese_dance):
    src, clip = bandai
    assert rest_pose_check(src) < 1e-6
    m = motion_from_clip(clip, src)
    pos = m.positions()
    head = pos[:, canonical.INDEX["head"], 2]
    feet = pos[:, [canonical.INDEX["l_toe"], canonical.INDEX["r_toe"]], 2].min(axis=1)
    assert 1.2 < np.median(head - feet) < 1.8  # a standing adult, in metres
    np.testing.assert_allclose(pos, canon_positions(clip, src), atol=1e-6)


def test_round_trip_between_builtin_rigs_without_data():
    """Synthetic smooth motion on the canonical rig -> CMU -> Mixamo -> canonical (no shared data needed)."""
    rig, rest = builtin_rig("canonical")
    t = 40
    rng = np.random.default_rng(7)
    values = np.repeat(rest.values, t, axis=0)
    # smooth joint rotations of up to 40 degrees, and the root walking forward (-Y)
    phase = np.linspace(0, 2 * np.pi, t)[:, None]
    n_rot = values.shape[1] - 3
    values[:, 3:] = 40 * np.sin(phase + rng.uniform(0, 6, n_rot)) * rng.uniform(0, 1, n_rot)
    values[:, 1] = np.linspace(0, -1.5, t)
    clip = BvhClip(rest.skeleton, 1 / 25, values)
    out, current = clip, rig
    for name in ("cmu", "mixamo", "canonical"):
        nxt, _ = builtin_rig(name)
        out, current = retarget_clip(out, current, nxt), nxt
    err = np.linalg.norm(positions(out, rig) - positions(clip, rig), axis=-1)
    assert err.max() < 1e-6


def test_no_twist_is_carried_from_an_unnatural_rest_pose(bandai_walk):
    """Bandai's rest pose has every bone along +X; retargeting must not pass its roll on: walking on
    a T-pose rig (Mixamo) bends each joint only moderately from rest (a 180-degree roll was the bug)."""
    src, clip = load_rig(bandai_walk)
    tgt, _ = builtin_rig("mixamo")
    out = retarget_clip(clip, src, tgt)
    rots, _ = out.local_transforms()
    ang = np.degrees(np.arccos(np.clip((np.trace(rots, axis1=-2, axis2=-1) - 1) / 2, -1, 1)))
    med = dict(zip(tgt.skeleton.names, np.median(ang, axis=0), strict=True))
    for bone in ("Spine", "Spine2", "Neck", "Head", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg",
                 "LeftForeArm", "RightForeArm", "LeftHand", "RightHand", "LeftFoot", "RightFoot"):
        assert med["mixamorig:" + bone] < 45, (bone, med["mixamorig:" + bone])
    # arms hang down from the T-pose: a swing near 75 degrees, not a roll
    assert 50 < med["mixamorig:LeftArm"] < 100 and 50 < med["mixamorig:RightArm"] < 100


@pytest.mark.parametrize("target", ["cmu", "mixamo", "rigify"])
def test_trunk_chain_bends_as_one(bandai, target):
    """Issue #11: the unmapped links of a spine or neck (Rigify spine.002/spine.005, Mixamo Spine1, CMU
    LowerBack/Neck1) share the bend instead of staying in rest pose; the mapped trunk joints (chest,
    head) keep the source's orientation exactly."""
    src, clip = bandai
    tgt, _ = builtin_rig(target)
    links = trunk_links(tgt)
    expected = {"cmu": {"LowerBack", "Neck1"}, "mixamo": {"mixamorig:Spine1"}, "rigify": {"spine.002", "spine.005"}}
    assert {tgt.skeleton.names[u] for u in links} == expected[target]
    assert not set(expected[target]) & set(tgt.left_in_rest())
    out = retarget_clip(clip, src, tgt)
    rots, _ = out.local_transforms()
    for u in links:  # every link moves relative to its parent (in rest it would stay at its rest rotation)
        turn = np.degrees(np.arccos(np.clip((np.trace(rots[:, u], axis1=-2, axis2=-1) - 1) / 2, -1, 1)))
        assert turn.max() > 1.0, (tgt.skeleton.names[u], turn.max())
    # chest and head orientations match the source motion (quaternions equal up to sign)
    m_src, m_tgt = motion_from_clip(clip, src), motion_from_clip(out, tgt)
    for c in ("chest", "head"):
        k = canonical.INDEX[c]
        dots = np.abs(np.sum(m_src.rotations[:, k] * m_tgt.rotations[:, k], -1))
        assert dots.min() > 1 - 1e-9, (c, dots.min())

def test_bvh_of_an_armature_rig_plays_the_motion(bandai, tmp_path):
    """A rig read from a Blender armature (bone rolls, no channels) is written as a BVH that carries
    the motion: same joints, same rest positions, each limb pointing where the motion says."""
    from motion_core.rigs import armature_pose
    from motion_core.rigs.bvh import read_bvh, write_bvh
    from motion_core.rigs.retarget import bvh_rig
    from motion_core.skeleton.rotations import axis_angle_to_matrix
    src, clip = bandai
    tgt, _ = builtin_rig("rigify")
    sk = tgt.skeleton
    rest = np.zeros((sk.num_joints, 3))
    for j, p in enumerate(sk.parents):
        rest[j] = sk.offsets[j] + (rest[p] if p >= 0 else 0)
    rng = np.random.default_rng(0)
    mats = np.tile(np.eye(4), (sk.num_joints, 1, 1))
    for j in range(sk.num_joints):  # Blender-style bones: a roll about a random axis each
        axis = rng.normal(size=3)
        mats[j, :3, :3] = axis_angle_to_matrix(axis / np.linalg.norm(axis), rng.uniform(-3, 3))
        mats[j, :3, 3] = rest[j]
    arm_sk = armature_pose.skeleton_from_bones(list(sk.names), list(sk.parents), mats)
    arm = make_rig(arm_sk, "armature", AxisConvention("Z", 1.0))
    assert not any(arm.skeleton.channels)
    motion = motion_from_clip(clip, src).slice(0, 40)
    out = tmp_path / "a.bvh"
    write_bvh(out, clip_from_motion(motion, bvh_rig(arm)))
    back = read_bvh(out)
    assert back.num_frames == 40 and back.skeleton.names == sk.names
    rig_back = make_rig(back.skeleton, "back", AxisConvention("Z", 1.0))
    parents = np.asarray(sk.parents)
    np.testing.assert_allclose(back.skeleton.offsets[1:], (rest - rest[np.maximum(parents, 0)])[1:], atol=1e-5)
    ps = canon_positions(BvhClip(clip.skeleton, clip.frame_time, clip.values[:40]), src)
    pt = canon_positions(back, rig_back)
    # (neck -> head is not exact on Rigify: its neck is two bones and the link shares the bend, #11)
    for a, b in [("l_upper_arm", "l_forearm"), ("r_thigh", "r_shin"), ("r_forearm", "r_hand")]:
        ia, ib = canonical.INDEX[a], canonical.INDEX[b]
        ds, dt = ps[:, ib] - ps[:, ia], pt[:, ib] - pt[:, ia]
        cos = np.sum(ds * dt, -1) / np.linalg.norm(ds, axis=-1) / np.linalg.norm(dt, axis=-1)
        assert cos.min() > 0.999, (a, b, cos.min())
