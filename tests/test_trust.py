"""Issue #11, the Blender-free half: output sets placed as one (locks, manifest, resume from any
kill), bounded input (BVH and rule-pack JSON) with file and line named, quiet surprises of the CLI,
and the BVH of a rig built from an armature holding its motion. The Blender half is in
blender_tests/test_trust_bpy.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from motion_core import config
from motion_core.files import LockHeld, file_lock, lock_is_held
from motion_core.pipeline import OutputConflict, OutputSet, remove_abandoned_stages
from motion_core.rigs import armature_pose
from motion_core.rigs.builtin import builtin_rig
from motion_core.rigs.bvh import BVHError, parse_bvh, read_bvh, write_bvh
from motion_core.rigs.retarget import bvh_rig, clip_from_motion, load_rig, make_rig, motion_from_clip
from motion_core.rules.pack import RulePackError, load_pack
from motion_core.skeleton import canonical
from motion_core.skeleton.kinematics import forward_kinematics

REPO = Path(__file__).resolve().parents[1]
KINDS = {"a": ".a.txt", "b": ".b.txt", "c": ".c.txt", "d": ".d.json"}


def make_set(folder: Path, name="item", request=None, content="x") -> OutputSet:
    outputs = OutputSet(folder, name, KINDS, request or {"prompt": "p"})
    with outputs.claim():
        assert outputs.prepare()
        with outputs.staging() as staged:
            for k, p in staged.items():
                p.write_text(f"{content}-{k}")
    return outputs


# --- output sets --------------------------------------------------------------------------------

def test_a_set_is_placed_with_its_manifest_written_last(tmp_path):
    outputs = make_set(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".item.hm-lock", ".item.hm-set.json", "item.a.txt", "item.b.txt", "item.c.txt", "item.d.json"])
    m = outputs.read_manifest()
    assert m["state"] == "complete" and m["request"] == {"prompt": "p"} and set(m["files"]) == set(KINDS)
    assert outputs.is_complete()
    with outputs.claim():
        assert not outputs.prepare()  # a rerun skips it
        assert outputs.prepare(force=True)  # --force redoes the same request


@pytest.mark.parametrize("fail_after", [0, 1, 2, 3, 4])
def test_a_kill_between_renames_resumes_on_rerun(tmp_path, monkeypatch, fail_after):
    """Interrupt the placement after N renames (N=4: before the final manifest) and rerun."""
    real = os.replace
    calls = {"n": 0}

    def dying_replace(src, dst):
        if Path(dst).parent == tmp_path and not Path(dst).name.startswith("."):
            if calls["n"] == fail_after:
                raise KeyboardInterrupt("killed")
            calls["n"] += 1
        return real(src, dst)

    outputs = OutputSet(tmp_path, "item", KINDS, {"prompt": "p"})
    monkeypatch.setattr(os, "replace", dying_replace)
    if fail_after == 4:  # all four renames done, the process dies before the manifest says complete

        def die(*a, **k):
            raise KeyboardInterrupt("killed")
        monkeypatch.setattr("motion_core.pipeline.write_json_atomic",
                            lambda path, data, *a: die() if data.get("state") == "complete" else real_write(path, data))
    from motion_core.files import write_json_atomic as real_write
    with pytest.raises(KeyboardInterrupt), outputs.claim(), outputs.staging() as staged:
        for k, p in staged.items():
            p.write_text(f"new-{k}")
        # a kill does not run the cleanup of a with-block: keep the staging folder as a killed process would
        monkeypatch.setattr("motion_core.pipeline.shutil.rmtree", lambda *a, **k: None)
    monkeypatch.undo()
    assert not outputs.is_complete()
    rerun = OutputSet(tmp_path, "item", KINDS, {"prompt": "p"})
    with rerun.claim():
        must_make = rerun.prepare()  # finishes the interrupted placement from its staging folder
    assert not must_make and rerun.is_complete()
    assert {k: p.read_text() for k, p in rerun.paths.items()} == {k: f"new-{k}" for k in KINDS}
    assert not list(tmp_path.glob(".hm-stage-*"))


def test_an_interrupted_set_whose_staging_is_gone_is_redone(tmp_path, monkeypatch):
    real = os.replace
    calls = {"n": 0}

    def dying_replace(src, dst):
        if not Path(dst).name.startswith("."):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("disk full")
        return real(src, dst)

    outputs = OutputSet(tmp_path, "item", KINDS, {"prompt": "p"})
    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(OSError), outputs.claim(), outputs.staging() as staged:
        for p in staged.values():
            p.write_text("x")
    monkeypatch.undo()
    assert len(outputs.existing()) == 2 and not list(tmp_path.glob(".hm-stage-*"))
    with outputs.claim():
        assert outputs.prepare()  # ours, unfinished, not finishable: redo without --force
    make_set(tmp_path)
    assert outputs.is_complete()


def test_another_request_or_foreign_files_are_never_replaced(tmp_path):
    make_set(tmp_path, request={"prompt": "first", "seed": 0})
    other = OutputSet(tmp_path, "item", KINDS, {"prompt": "second", "seed": 0})
    with other.claim():
        with pytest.raises(OutputConflict, match="different request.*prompt"):
            other.prepare()
        with pytest.raises(OutputConflict, match="different request"):
            other.prepare(force=True)  # --force redoes the same request only
        assert other.prepare(force=True, replace_other=True)
    foreign = tmp_path / "f"
    foreign.mkdir()
    (foreign / "item.a.txt").write_text("user data")
    s = OutputSet(foreign, "item", KINDS, {"prompt": "p"})
    with s.claim():
        with pytest.raises(OutputConflict, match="not placed as a set.*--force"):
            s.prepare()
        assert s.prepare(force=True)
    assert (foreign / "item.a.txt").read_text() == "user data"


def test_abandoned_staging_folders_are_removed_live_ones_kept(tmp_path):
    dead = tmp_path / ".hm-stage-dead-abc"
    dead.mkdir()
    (dead / ".hm-lock").write_text("")
    (dead / "dead.mp4").write_bytes(b"x" * 10)
    live = tmp_path / ".hm-stage-live-abc"
    live.mkdir()
    unknown = tmp_path / ".hm-stage-nolock"  # no lock file: not provably abandoned, kept
    unknown.mkdir()
    # a real second process holds the live folder's lock
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from motion_core.files import file_lock
        with file_lock({str(live / '.hm-lock')!r}):
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert lock_is_held(live / ".hm-lock") and not lock_is_held(dead / ".hm-lock")
        removed = remove_abandoned_stages(tmp_path)
        assert removed == [dead] and live.exists() and unknown.exists() and not dead.exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_abandoned_stages(tmp_path) == [live]  # its process is gone: the kernel dropped the lock


def test_lock_is_exclusive_between_processes(tmp_path):
    lock = tmp_path / ".x.hm-lock"
    with file_lock(lock):
        r = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(REPO)!r})
            from motion_core.files import LockHeld, file_lock
            try:
                with file_lock({str(lock)!r}, wait=False):
                    print("got it")
            except LockHeld:
                print("held")
            """)], capture_output=True, text=True, timeout=60)
        assert r.stdout.strip() == "held", r.stderr
    with file_lock(lock, wait=False):
        pass
    with pytest.raises(LockHeld), file_lock(lock), file_lock(lock, wait=False):
        pass


def test_two_processes_making_one_set_never_clobber(tmp_path):
    """Two real processes make the same set at once: one makes it, the other waits, then skips it."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from motion_core.pipeline import OutputSet
        kinds = {KINDS!r}
        s = OutputSet(sys.argv[1], "item", kinds, {{"prompt": "p"}})
        with s.claim():
            if not s.prepare():
                print("skipped"); sys.exit(0)
            with s.staging() as staged:
                for k, p in staged.items():
                    p.write_text(sys.argv[2] + "-" + k)
                    time.sleep(0.3)
        print("made")
        """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag], stdout=subprocess.PIPE, text=True)
             for tag in ("first", "second")]
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outs == ["made", "skipped"], outs
    texts = {p.read_text().split("-")[0] for p in tmp_path.glob("item.*")}
    assert len(texts) == 1  # every file from the same process


def test_failed_audit_write_leaves_no_bvh(tmp_path, monkeypatch):
    """The CLI's generate: a failing audit write places nothing (outputs are a set)."""
    from motion_core import cli

    def broken(path, data, *a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("motion_core.pipeline.write_json_atomic", broken)
    out = tmp_path / "bow.bvh"
    assert cli.main(["generate", "a proud bow", "--seconds", "1", "--out", str(out)]) == 1
    assert not out.exists() and not (tmp_path / "bow.audit.json").exists()
    assert not list(tmp_path.glob(".hm-stage-*"))


# --- the BVH of an armature-built rig -------------------------------------------------------------

def _armature_like(name: str):
    """A rig built the way rig_io builds one from a Blender armature: bone matrices (with rolls) in
    armature space, no channels."""
    rig, _ = builtin_rig(name)
    sk = rig.skeleton
    n = sk.num_joints
    rest = np.zeros((n, 3))
    for j in range(1, n):
        rest[j] = rest[sk.parents[j]] + sk.offsets[j]
    pos = rest @ rig.axes.matrix.T * rig.axes.unit_m
    rng = np.random.default_rng(0)
    mats = np.tile(np.eye(4), (n, 1, 1))
    for j in range(n):  # an arbitrary orientation (roll) per bone
        q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        mats[j, :3, :3] = q * np.sign(np.linalg.det(q))
        mats[j, :3, 3] = pos[j]
    arm = armature_pose.skeleton_from_bones(list(sk.names), list(sk.parents), mats, np.full(n, 0.1))
    assert arm.num_channels == 0
    from motion_core.rigs.axes import AxisConvention
    return make_rig(arm, name, AxisConvention("Z", 1.0))


@pytest.mark.parametrize("name", ["rigify", "mixamo", "cmu"])
def test_bvh_of_an_armature_rig_holds_the_motion(tmp_path, bandai_dance, name):
    arm_rig = _armature_like(name)
    src, clip = load_rig(bandai_dance)
    motion = motion_from_clip(clip, src).resample(25).slice(100, 140)
    with pytest.raises(ValueError, match="no channels"):
        write_bvh(tmp_path / "empty.bvh", clip_from_motion(motion, arm_rig))  # the old way: refused, not blank
    out = tmp_path / "a.bvh"
    write_bvh(out, clip_from_motion(motion, bvh_rig(arm_rig)))
    back = read_bvh(out)
    assert back.num_frames == 40 and back.skeleton.num_channels == 6 + 3 * (back.skeleton.num_joints - 1)
    # joint positions of the re-read file == the armature posed by the same motion (armature space, metres)
    rots, trans = back.local_transforms()
    _, p_file = forward_kinematics(back.skeleton.parents, rots, trans)
    from motion_core.rigs.retarget import pose_from_motion
    r_arm, t_arm = pose_from_motion(motion, arm_rig)
    sk = arm_rig.skeleton
    _, p_arm = forward_kinematics(sk.parents, sk.rest_rotations @ r_arm, t_arm)
    assert np.abs(p_file - p_arm).max() < 1e-5
    # and the project's reader reads it as the same canonical motion
    rig2, clip2 = load_rig(out)
    again = motion_from_clip(clip2, rig2)
    ratio = bvh_rig(arm_rig).tpose.leg_length(arm_rig) / motion.leg_length
    for a, b in [("l_forearm", "l_hand"), ("r_thigh", "r_shin"), ("l_upper_arm", "l_forearm")]:
        ia, ib = canonical.INDEX[a], canonical.INDEX[b]
        d1 = again.positions()[:, ib] - again.positions()[:, ia]
        d2 = motion.positions()[:, ib] - motion.positions()[:, ia]
        cos = np.sum(d1 * d2, -1) / np.linalg.norm(d1, axis=-1) / np.linalg.norm(d2, axis=-1)
        assert cos.min() > 0.9999, (a, b, cos.min())
    np.testing.assert_allclose(again.root, motion.root * ratio, atol=1e-4)


# --- bounded input --------------------------------------------------------------------------------

def _bvh(small_bvh: str, frame_time="0.04", frames=None) -> str:
    text = small_bvh.replace("Frame Time: 0.04", f"Frame Time: {frame_time}")
    return text if frames is None else text.replace("Frames: 2", f"Frames: {frames}")


@pytest.mark.parametrize("ft, fragment", [("2000", "expected 0.001 to 10 s per frame (0.1 to 1000 fps)"),
                                          ("1e300", "expected 0.001 to 10 s"), ("1e-300", "expected 0.001 to 10 s"),
                                          ("0.0001", "10000 fps")])
def test_frame_time_is_bounded_with_file_and_line(small_bvh, tmp_path, ft, fragment):
    f = tmp_path / "clip.bvh"
    f.write_text(_bvh(small_bvh, ft))
    with pytest.raises(BVHError) as e:
        read_bvh(f)
    assert str(e.value).startswith(f"{f}:18: frame time is {ft} s") and fragment in str(e.value)
    parse_bvh(_bvh(small_bvh, "10"))  # the bounds themselves are accepted
    parse_bvh(_bvh(small_bvh, "0.001"))


def test_frame_count_and_duration_are_bounded(small_bvh):
    with pytest.raises(BVHError, match=r"<string>:17: frame count is 1000001; at most 1,000,000"):
        parse_bvh(_bvh(small_bvh, frames=config.BVH_MAX_FRAMES + 1))
    with pytest.raises(BVHError, match=r"<string>:18: 400 frames of 10 s last 4,000 s; at most 3,600 s"):
        parse_bvh(_bvh(small_bvh, "10", frames=400))


def _chain_bvh(depth: int) -> str:
    """A humanoid whose head sits on a chain of ``depth`` neck joints."""
    rig, clip = builtin_rig("canonical")
    sk = clip.skeleton
    from motion_core.rigs.bvh import format_bvh
    text = format_bvh(clip)
    head = "JOINT head"
    i = text.index(head)
    line_start = text.rindex("\n", 0, i) + 1
    ind = text[line_start:i]
    chain = "".join(f"{ind}JOINT link{k}\n{ind}{{\n{ind}\tOFFSET 0 0 0.0001\n{ind}\tCHANNELS 3 Zrotation Xrotation Yrotation\n"
                    for k in range(depth))
    closing = "".join(f"{ind}}}\n" for _ in range(depth))
    block_end = text.index("\n" + ind + "}", i) + len(ind) + 3
    text = text[:line_start] + chain + text[line_start:block_end] + closing + text[block_end:]
    extra = " 0" * (3 * depth)
    lines = text.split("\n")
    m = lines.index("MOTION")
    lines[m + 3] = lines[m + 3] + extra
    assert sk.num_joints
    return "\n".join(lines)


def test_deep_hierarchy_is_bounded_and_writing_never_recurses(tmp_path):
    with pytest.raises(BVHError, match=r"joints deep; a hierarchy may be at most 512 deep"):
        parse_bvh(_chain_bvh(10_000), source="deep.bvh")
    deep = parse_bvh(_chain_bvh(490), source="deep.bvh")  # deep but within the bound: reads, writes, retargets
    assert deep.skeleton.num_joints == 21 + 490
    rig = make_rig(deep.skeleton, "deep")
    src, clip = builtin_rig("mixamo")
    out = tmp_path / "deep.bvh"
    mot = motion_from_clip(clip, src)
    write_bvh(out, clip_from_motion(mot, rig))
    assert read_bvh(out).skeleton.num_joints == 511


def test_utf8_byte_order_mark_is_accepted(small_bvh, tmp_path):
    f = tmp_path / "bom.bvh"
    f.write_bytes(b"\xef\xbb\xbf" + small_bvh.encode())
    assert read_bvh(f).num_frames == 2
    assert parse_bvh("\ufeff" + small_bvh).num_frames == 2
    pack = tmp_path / "bom.json"
    pack.write_bytes(b"\xef\xbb\xbf" + (REPO / "motion_core/rules/packs/dai-peacock-illustrative.json").read_bytes())
    assert load_pack(pack).name == "dai-peacock-illustrative"


def test_rule_pack_json_is_bounded_with_the_file_named(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"format": "heritage-motion-rules",\n "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(RulePackError, match=rf"^{deep}: line 2: JSON nested more than 32 levels deep"):
        load_pack(deep)
    big = tmp_path / "big.json"
    big.write_text('{"format": "heritage-motion-rules",\n\n "format_version": ' + "9" * 5001 + "}")
    with pytest.raises(RulePackError, match=rf"^{big}: line 3: an integer of 5001 digits; at most 20"):
        load_pack(big)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (config.PACK_MAX_BYTES + 1))
    with pytest.raises(RulePackError, match=rf"^{huge}: 16,777,217 bytes; a rule pack may be at most"):
        load_pack(huge)
    from motion_core.rigs.bonemap import load_override
    with pytest.raises(ValueError, match=rf"^{deep}: cannot read bone-map override"):
        load_override(deep, builtin_rig("cmu")[0].skeleton)
    brackets_in_strings = tmp_path / "s.json"
    brackets_in_strings.write_text('{"format": "heritage-motion-rules", "title": "' + "[{" * 100 + '"}')
    with pytest.raises(RulePackError) as e:
        load_pack(brackets_in_strings)
    assert "nested" not in str(e.value)  # brackets inside strings are not nesting


# --- quiet surprises (CLI) -------------------------------------------------------------------------

def cli(*args):
    return subprocess.run([sys.executable, "-m", "motion_core", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_zero_seconds_in_the_prompt_is_refused_not_ten(tmp_path):
    r = cli("generate", "a proud bow, 0 seconds", "--out", tmp_path / "a.bvh")
    assert r.returncode == 1 and "the prompt names 0 seconds; choose 1 to 60" in r.stderr, r.stderr
    assert not (tmp_path / "a.bvh").exists()


def test_negative_seed_names_the_option(tmp_path):
    r = cli("generate", "a proud bow", "--seed", "-1", "--out", tmp_path / "a.bvh")
    assert r.returncode == 2 and "--seed" in r.stderr and "-1" in r.stderr, r.stderr


@pytest.mark.parametrize("prompt", ["一个优雅的女性舞蹈，慢", "رقصة أنثوية بطيئة ورشيقة"])
def test_a_prompt_not_understood_is_reported_with_its_similarity(tmp_path, prompt):
    out = tmp_path / "a.bvh"
    r = cli("generate", prompt, "--seconds", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "warning: the prompt was not understood" in r.stderr and "similarity 0." in r.stderr, r.stderr
    u = json.loads(out.with_suffix(".audit.json").read_text())["generation"]["understanding"]
    assert u["understood"] is False and u["similarity"] < config.PROMPT_MIN_SIMILARITY == u["threshold"]
    assert u["warning"].startswith("the prompt was not understood")
    r = cli("generate", "a proud bow", "--seconds", "1", "--out", tmp_path / "b.bvh")
    assert r.returncode == 0 and "not understood" not in r.stderr
    assert json.loads((tmp_path / "b.audit.json").read_text())["generation"]["understanding"]["understood"] is True


@contextmanager
def read_only(folder: Path):
    """Make ``folder`` unwritable, for root too (root ignores mode bits: ``chattr +i`` then)."""
    immutable = os.geteuid() == 0 and shutil.which("chattr")
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        os.chmod(folder, 0o555)
    try:
        try:
            (folder / "probe").write_text("x")
            pytest.skip(f"cannot make {folder} read-only here")
        except OSError:
            pass
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        os.chmod(folder, 0o755)


def test_read_only_folder_error_names_the_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    with read_only(ro):
        r = cli("generate", "a proud bow", "--seconds", "1", "--out", ro / "a.bvh")
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write to {ro}: "), r.stderr
    assert ".tmp" not in r.stderr and "hm-" not in r.stderr
