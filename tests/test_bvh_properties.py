"""Property-based round trips: random hierarchies, channel layouts and motions."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from motion_core.rigs.bvh import BvhClip, format_bvh, parse_bvh
from motion_core.rigs.hierarchy import POSITION_CHANNELS, ROTATION_CHANNELS, Skeleton
from motion_core.skeleton.kinematics import forward_kinematics

finite = st.floats(-500, 500, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def clips(draw):
    n = draw(st.integers(1, 12))
    parents = [-1] + [draw(st.integers(0, j - 1)) for j in range(1, n)]
    offsets = np.array(draw(st.lists(st.tuples(finite, finite, finite), min_size=n, max_size=n)))
    channels = []
    for j in range(n):
        rot = draw(st.permutations(ROTATION_CHANNELS))
        pos = draw(st.permutations(POSITION_CHANNELS)) if (j == 0 or draw(st.booleans())) else ()
        k = draw(st.sampled_from([3, 3, 2, 1, 0]))
        chans = tuple(rot[:k])
        if pos:
            chans = tuple(pos) + chans if draw(st.booleans()) else chans + tuple(pos)
        channels.append(chans)
    names = [f"j{j}_{draw(st.sampled_from(['Hip', 'arm.L', 'mixamorig:Leg', 'x']))}" for j in range(n)]
    ends = [(j, np.array([1.0, 2.0, 3.0])) for j in range(n) if j not in parents[1:]]
    sk = Skeleton(names, np.array(parents), offsets, channels, ends)
    frames = draw(st.integers(1, 6))
    values = np.array(draw(st.lists(st.lists(finite, min_size=sk.num_channels, max_size=sk.num_channels),
                                    min_size=frames, max_size=frames)), dtype=np.float64).reshape(frames, -1)
    ft = draw(st.sampled_from([1 / 24, 1 / 25, 1 / 30, 1 / 120, 0.0333333, 0.008333]))
    return BvhClip(sk, ft, values)


@settings(max_examples=150, deadline=None)
@given(clips(), st.booleans())
def test_round_trip(clip, crlf):
    text = format_bvh(clip)
    if crlf:
        text = text.replace("\n", "\r\n")
    back = parse_bvh(text)
    a, b = clip.skeleton, back.skeleton
    # The file is depth-first; the skeleton may have been stored in another parents-first order.
    perm = [a.names.index(n) for n in b.names]
    assert sorted(b.names) == sorted(a.names)
    assert [b.names[p] if p >= 0 else None for p in b.parents] == \
        [a.names[a.parents[k]] if a.parents[k] >= 0 else None for k in perm]
    assert b.channels == [a.channels[k] for k in perm]
    np.testing.assert_allclose(b.offsets, a.offsets[perm], atol=1e-5)
    assert back.frame_time == clip.frame_time
    sa, sb = a.channel_offsets(), b.channel_offsets()
    for kb, ka in enumerate(perm):
        diff = back.values[:, sb[kb]:sb[kb + 1]] - clip.values[:, sa[ka]:sa[ka + 1]]
        assert np.abs(diff).max(initial=0) < 1e-4
    # and the posed skeleton is the same
    ra, ta = clip.local_transforms()
    rb, tb = back.local_transforms()
    _, pa = forward_kinematics(a.parents, ra, ta)
    _, pb = forward_kinematics(b.parents, rb, tb)
    np.testing.assert_allclose(pb, pa[:, perm], atol=1e-3)
