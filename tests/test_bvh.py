import numpy as np
import pytest

from motion_core.rigs.bvh import BVHError, format_bvh, parse_bvh, read_bvh, write_bvh


def test_reads_real_bandai_clip(bandai_dance):
    clip = read_bvh(bandai_dance)
    assert clip.skeleton.num_joints == 22
    assert clip.skeleton.names[:2] == ["joint_Root", "Hips"]
    assert all(len(c) == 6 for c in clip.skeleton.channels)
    assert clip.values.shape == (1901, 132)
    assert clip.fps == pytest.approx(30.0, abs=1e-3)


def test_reads_real_sfu_clip_with_mixed_channel_counts(sfu_chinese_dance):
    clip = read_bvh(sfu_chinese_dance)
    assert clip.skeleton.num_joints == 25
    assert [len(c) for c in clip.skeleton.channels][:2] == [6, 3]
    assert clip.fps == pytest.approx(120.0, rel=1e-3)


def test_write_then_read_round_trips_real_data(bandai_dance, tmp_path):
    clip = read_bvh(bandai_dance)
    out = tmp_path / "rt.bvh"
    write_bvh(out, clip)
    back = read_bvh(out)
    assert back.skeleton.names == clip.skeleton.names
    assert back.skeleton.channels == clip.skeleton.channels
    np.testing.assert_allclose(back.skeleton.offsets, clip.skeleton.offsets, atol=1e-6)
    assert np.abs(back.values - clip.values).max() < 1e-4  # angles within 1e-4 degrees
    assert back.frame_time == clip.frame_time


def test_accepts_crlf_tabs_spaces_and_braces_on_name_line(small_bvh):
    variant = small_bvh.replace("\n", "\r\n").replace("\t", "    ").replace("ROOT Hips\r\n{", "ROOT Hips {")
    a, b = parse_bvh(small_bvh), parse_bvh(variant.encode())
    np.testing.assert_array_equal(a.values, b.values)
    assert b.skeleton.names == ["Hips", "Chest"]
    assert b.frame_time == 0.04
    assert len(b.skeleton.end_sites) == 1


def test_local_transforms_follow_channel_order_and_positions(small_bvh):
    from scipy.spatial.transform import Rotation
    clip = parse_bvh(small_bvh)
    rots, trans = clip.local_transforms()
    np.testing.assert_allclose(rots[0, 1], Rotation.from_euler("ZXY", [1, 2, 3], degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(trans[1, 0], [1, 91, 0])
    np.testing.assert_allclose(trans[1, 1], [0, 10, 0])  # no position channels: the offset


def test_written_file_is_atomic_and_never_half_written(tmp_path, small_bvh):
    clip = parse_bvh(small_bvh)
    out = tmp_path / "a.bvh"
    write_bvh(out, clip)
    before = out.read_text()
    clip.values[0, 0] = np.nan
    with pytest.raises(ValueError):
        write_bvh(out, clip)
    assert out.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.bvh"]
    with pytest.raises(FileExistsError):
        write_bvh(out, parse_bvh(small_bvh), overwrite=False)


BAD = [
    # (mutation, expected line, fragment of the message)
    (lambda s: s[: s.index("1 91")], 20, "truncated"),
    (lambda s: s.replace("1 2 3\n", "1 2\n"), 19, "frame 1 has 8 values; expected 9"),
    (lambda s: s.replace("4 5 6\n", "4 nan 6\n"), 20, "Chest Xrotation"),
    (lambda s: s.replace("4 5 6\n", "4 inf 6\n"), 20, "not finite"),
    (lambda s: s.replace("1 2 3\n", "1 abc 3\n"), 19, "not a number"),
    (lambda s: s.replace("Yrotation\n\t\tEnd", "Wrotation\n\t\tEnd"), 9, "unknown channel 'Wrotation'"),
    (lambda s: s.replace("Frames: 2", "Frames: 0"), 17, "at least one frame"),
    (lambda s: s.replace("\t}\n}\nMOTION", "\t}\nMOTION"), 15, "never closed"),
    (lambda s: s.replace("\t}\n}\nMOTION", "\t}\n}\n}\nMOTION"), 16, "after the hierarchy"),
    (lambda s: s.replace("Frame Time: 0.04", "Frame Time: -1"), 18, "positive"),
    (lambda s: s.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), 8, "expected a number"),
    (lambda s: s.replace("MOTION\n", ""), 16, "expected 'MOTION'"),
    (lambda s: s + "1 2 3 4 5 6 7 8 9\n", 21, "extra data"),
]


@pytest.mark.parametrize("mutate, line, fragment", BAD)
def test_bad_input_names_file_line_and_expectation(small_bvh, tmp_path, mutate, line, fragment):
    path = tmp_path / "bad.bvh"
    path.write_text(mutate(small_bvh))
    with pytest.raises(BVHError) as exc:
        read_bvh(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{line}:"), msg
    assert fragment in msg, msg


def test_binary_empty_and_missing_files(tmp_path):
    b = tmp_path / "x.bvh"
    b.write_bytes(b"\x00\x01\x02HIERARCHY")
    with pytest.raises(BVHError, match="binary"):
        read_bvh(b)
    e = tmp_path / "e.bvh"
    e.write_text("   \n")
    with pytest.raises(BVHError, match="empty"):
        read_bvh(e)
    with pytest.raises(BVHError, match="cannot read"):
        read_bvh(tmp_path / "missing.bvh")


def test_format_is_stable(small_bvh):
    once = format_bvh(parse_bvh(small_bvh))
    assert format_bvh(parse_bvh(once)) == once
