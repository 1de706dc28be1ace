"""Issue #11 in the bpy 5.0.1 module: the batch's BVH holds the motion for every kind of rig (our
reader and Blender's own importer agree with the keyed armature), names identify requests, two
batches into one folder never clobber each other, a killed batch resumes, quiet surprises are
reported, and Rigify's whole spine bends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "blender_tests"))

bpy = pytest.importorskip("bpy", reason="needs the bpy module (pip install bpy==5.0.1; the README's setup does)")
import scenarios  # noqa: E402

FAST = ["--resolution", "96x54"]


def _heads(obj, frames) -> dict[str, np.ndarray]:
    """World positions of every bone head of ``obj`` at ``frames`` (Blender's evaluated pose)."""
    scene = bpy.context.scene
    out = {b.name: [] for b in obj.pose.bones}
    for f in frames:
        scene.frame_set(f)
        mw = obj.matrix_world
        for b in obj.pose.bones:
            out[b.name].append(np.array(mw @ b.head))
    return {k: np.array(v) for k, v in out.items()}


def _file_positions(path: Path) -> dict[str, np.ndarray]:
    from motion_core.rigs.bvh import read_bvh
    from motion_core.skeleton.kinematics import forward_kinematics
    clip = read_bvh(path)
    rots, trans = clip.local_transforms()
    _, pos = forward_kinematics(clip.skeleton.parents, rots, trans)
    return {n: pos[:, j] for j, n in enumerate(clip.skeleton.names)}


def _check_bvh_holds_the_keyed_motion(summary: dict) -> None:
    """The written BVH, read by our reader and by Blender's importer, poses every joint where Blender
    posed the armature the batch keyed."""
    from addon.rig_io import rig_from_armature
    path = Path(summary["outputs"]["bvh"])
    obj = bpy.data.objects[summary["armature"]]
    frames = list(range(1, summary["frames"] + 1))
    keyed = _heads(obj, frames)
    scale = float(np.mean(list(obj.matrix_world.to_scale())))
    ours = _file_positions(path)
    assert set(ours) == set(keyed)
    offset = np.array(obj.matrix_world.translation)
    for name, p in ours.items():
        err = np.abs(p * scale + offset - keyed[name]).max()
        assert err < 2e-4, (path.name, name, err)
    # Blender's own BVH importer (axes kept: the file is Z-up like the armature)
    mapped = rig_from_armature(obj).bone_map.mapping
    before = set(bpy.data.objects)
    bpy.ops.import_anim.bvh(filepath=str(path), axis_forward="Y", axis_up="Z", rotate_mode="NATIVE",
                            use_fps_scale=False, update_scene_fps=False, update_scene_duration=False, global_scale=1.0)
    imported = next(o for o in bpy.data.objects if o not in before and o.type == "ARMATURE")
    imported.location = obj.matrix_world.translation
    theirs = _heads(imported, frames)
    assert abs(scale - 1) < 1e-9  # the importer's global_scale would have to follow it
    for canon, bone in mapped.items():
        err = np.abs(theirs[bone] - keyed[bone]).max()
        assert err < 1e-3, (path.name, canon, bone, err)
    moved = np.abs(keyed[mapped["l_hand"]] - keyed[mapped["l_hand"]][0]).max()
    assert moved > 1e-3, "the motion is not trivial"


@pytest.mark.parametrize("rig", ["dancer", "rigify", "mixamo", "cmu", "bvh-file", "blend"])
def test_the_batch_bvh_holds_the_motion_on_every_rig(rig, tmp_path, dance_bvh):
    from addon import batch
    args = ["--prompt", "a happy wave", "--seconds", "0.4", "--out", str(tmp_path / "out"), *FAST]
    if rig == "blend":  # the armature of the user's .blend: Rigify's metarig
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.preferences.addon_enable(module="rigify")
        bpy.ops.object.armature_human_metarig_add()
        bpy.context.active_object.location = (0.5, -1.0, 0.0)
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    elif rig == "bvh-file":  # the Bandai-Namco skeleton as the target rig
        args += ["--rig", str(dance_bvh)]
    else:
        args += ["--rig", rig]
    summary = batch.run(batch.parse_args(args))
    _check_bvh_holds_the_keyed_motion(summary)


def test_bvh_mode_output_holds_the_motion(tmp_path, dance_bvh):
    from addon import batch
    summary = batch.run(batch.parse_args(["--bvh", str(dance_bvh), "--rig", "rigify", "--seconds", "0.4",
                                          "--out", str(tmp_path), *FAST]))
    _check_bvh_holds_the_keyed_motion(summary)


# --- names ----------------------------------------------------------------------------------------

def _write_prompts(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def test_requests_that_differ_get_different_names(tmp_path, capsys):
    from addon import batch
    long = "a slow graceful dance with both arms raised high above the head, "
    items = [
        {"prompt": "a proud bow", "seconds": 0.4},
        {"prompt": "a proud bow", "seconds": 0.48},  # seconds
        {"prompt": "a proud bow", "seconds": 0.4, "rules": "dai-peacock-illustrative"},  # rules
        {"prompt": "A Proud Bow", "seconds": 0.4},  # letter case
        {"prompt": long + "then a bow", "seconds": 0.4},  # text after 48 characters
        {"prompt": long + "then a turn", "seconds": 0.4},
        {"prompt": "💃", "seconds": 0.4},  # emoji
        {"prompt": "🦚", "seconds": 0.4},
    ]
    out = tmp_path / "out"
    args = ["--prompts", str(_write_prompts(tmp_path / "p.jsonl", items)), "--out", str(out), *FAST]
    assert batch.main(args) == 0
    assert "8 made, 0 skipped, 0 failed" in capsys.readouterr().out
    assert len(list(out.glob("*.mp4"))) == 8 and len(list(out.glob("*.bvh"))) == 8
    assert batch.main(args) == 0 and "0 made, 8 skipped" in capsys.readouterr().out


def test_retrained_model_makes_new_names(tmp_path, capsys, monkeypatch):
    """The motion weights are part of a request: other weights (here the shipped arrays with one more
    metadata key, as a re-export would give) make a new set, never skip as if the old one were theirs."""
    import numpy as np

    from addon import batch
    registry = batch.registry  # the add-on's own copy of motion_core (addon.motion_core...)
    args = ["--prompts", str(_write_prompts(tmp_path / "p.jsonl", [{"prompt": "a proud bow", "seconds": 0.4}])),
            "--out", str(tmp_path / "out"), *FAST]
    assert batch.main(args) == 0 and "1 made" in capsys.readouterr().out
    with np.load(registry.SHIPPED, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "retrained": "for this test"}))
    other = tmp_path / "motion_other.npz"
    np.savez(other, **arrays)
    monkeypatch.setattr(registry, "SHIPPED", other)
    assert batch.main(args) == 0 and "1 made, 0 skipped" in capsys.readouterr().out
    assert len(list((tmp_path / "out").glob("*.bvh"))) == 2


def test_one_name_for_two_requests_is_an_error_even_with_force(tmp_path, capsys):
    from addon import batch
    items = [{"prompt": "a proud bow", "seconds": 0.4, "name": "mine"},
             {"prompt": "a happy wave", "seconds": 0.4, "name": "mine"}]
    out = tmp_path / "out"
    args = ["--prompts", str(_write_prompts(tmp_path / "p.jsonl", items)), "--out", str(out), *FAST, "--force"]
    assert batch.main(args) == 1
    err = capsys.readouterr().err
    assert "error: line 2: name 'mine' is already used by line 1 for a different request" in err, err
    assert json.loads((out / "mine.audit.json").read_text())["request"]["prompt"] == "a proud bow"
    # a later run with the name for another request: refused, the first set kept
    _write_prompts(tmp_path / "q.jsonl", items[1:])
    assert batch.main(["--prompts", str(tmp_path / "q.jsonl"), "--out", str(out), *FAST, "--force"]) == 1
    assert "were made for a different request (it differs in prompt)" in capsys.readouterr().err
    assert json.loads((out / "mine.audit.json").read_text())["request"]["prompt"] == "a proud bow"


def test_rules_into_a_folder_of_a_run_without_rules_does_the_new_work(tmp_path, capsys):
    from addon import batch
    base = ["--prompt", "a feminine peacock dance", "--seconds", "0.4", "--out", str(tmp_path), *FAST]
    assert batch.main(base) == 0
    assert batch.main([*base, "--rules", "dai-peacock-illustrative"]) == 0
    assert "nothing to do" not in capsys.readouterr().out
    packs = sorted(json.loads(p.read_text())["pre"]["rule_pack"]["name"] for p in tmp_path.glob("*.audit.json"))
    assert packs == ["dai-peacock-illustrative", "default-humanoid"]


# --- concurrent batches and kills ----------------------------------------------------------------

def _batch_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "addon.batch", *map(str, args)]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_two_batches_into_one_folder_never_clobber(tmp_path):
    """Two real processes, same prompts, same folder, at once: each set is made once, complete."""
    items = [{"prompt": "a proud bow", "seconds": 0.4}, {"prompt": "a happy wave", "seconds": 0.4}]
    prompts = _write_prompts(tmp_path / "p.jsonl", items)
    out = tmp_path / "out"
    cmd = _batch_cmd("--prompts", prompts, "--out", out, *FAST)
    procs = [subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1][-2000:] for r in results]
    made = sum(int(r[0].strip().splitlines()[-1].split(" made")[0]) for r in results)
    assert made == 2, [r[0] for r in results]  # every set made once; the other process skipped it
    from motion_core.pipeline import OutputSet
    for m in out.glob(".*.hm-set.json"):
        data = json.loads(m.read_text())
        assert data["state"] == "complete"
        s = OutputSet(out, data["name"], {k: "" for k in data["files"]}, data["request"])
        assert s.is_complete()
    assert len(list(out.glob("*.mp4"))) == 2 and not list(out.glob(".hm-stage-*"))


@pytest.mark.parametrize("after", [2, 4])
def test_a_batch_killed_while_placing_resumes(tmp_path, after):
    """The process dies (os._exit, no cleanup) after the Nth file is moved into place; the rerun
    finishes the set from its staging folder without redoing the work, and nothing stale is left."""
    out = tmp_path / "out"
    args = ["--prompt", "a proud bow", "--seconds", "0.4", "--out", str(out), *FAST]
    killer = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        real = os.replace
        n = [0]
        def replace(src, dst):
            real(src, dst)
            if (os.path.dirname(str(dst)) == {str(out)!r}
                    and os.path.basename(os.path.dirname(str(src))).startswith(".hm-stage-")):
                n[0] += 1
                if n[0] == {after}:
                    os._exit(9)
        os.replace = replace
        from addon import batch
        sys.exit(batch.main({args!r}))
        """)
    r = subprocess.run([sys.executable, "-c", killer], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 9, r.stderr[-2000:]
    placed = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(placed) == after and len(list(out.glob(".hm-stage-*"))) == 1
    r = subprocess.run(_batch_cmd(*args), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "nothing to do" in r.stdout, r.stdout + r.stderr[-2000:]
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 4 and not list(out.glob(".hm-stage-*"))
    manifest = json.loads(next(out.glob(".*.hm-set.json")).read_text())
    assert manifest["state"] == "complete"
    n, fps = scenarios.movie_info(next(out.glob("*.mp4")))
    assert (n, fps) == (10, 25.0)


def test_abandoned_staging_folders_of_killed_runs_are_removed(tmp_path):
    out = tmp_path / "out"
    killer = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        from addon import stages
        real = stages.RenderPoster.__call__
        def die(self, job):
            os._exit(9)
        stages.RenderPoster.__call__ = die
        from addon import batch
        sys.exit(batch.main(["--prompt", "a proud bow", "--seconds", "0.4", "--out", {str(out)!r}, "--resolution", "96x54"]))
        """)
    r = subprocess.run([sys.executable, "-c", killer], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 9 and len(list(out.glob(".hm-stage-*"))) == 1, r.stderr[-2000:]
    r = subprocess.run(_batch_cmd("--prompt", "a happy wave", "--seconds", "0.4", "--out", out, *FAST), cwd=REPO,
                       env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not list(out.glob(".hm-stage-*"))  # the other request's run removed the dead one's folder


# --- quiet surprises ------------------------------------------------------------------------------

def test_quiet_surprises_are_reported(tmp_path, capsys):
    from addon import batch
    out = tmp_path / "out"
    assert batch.main(["--prompt", "", "--out", str(out)]) == 1
    assert "--prompt is empty" in capsys.readouterr().err
    assert batch.main(["--prompt", "a proud bow, 0 seconds", "--out", str(out)]) == 1
    assert "the prompt names 0 seconds; choose 0.2 to 60" in capsys.readouterr().err
    assert batch.main(["--prompt", "a proud bow", "--seed", "-1", "--out", str(out)]) == 2
    assert "argument --seed: -1" in capsys.readouterr().err
    _write_prompts(tmp_path / "p.jsonl", [{"prompt": "a proud bow", "seed": -1}])
    assert batch.main(["--prompts", str(tmp_path / "p.jsonl"), "--out", str(out)]) == 1
    assert "line 1: seed -1: expected a whole number" in capsys.readouterr().err
    deep = tmp_path / "deep.jsonl"
    deep.write_bytes(b"\xef\xbb\xbf# a byte-order mark and a comment first\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert batch.main(["--prompts", str(deep), "--out", str(out)]) == 1
    assert f"error: {deep}:2: JSON nested too deeply" in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())


def test_read_only_output_folder_names_the_folder(tmp_path, capsys):
    from addon import batch
    sys.path.insert(0, str(REPO))
    from tests.test_trust import read_only
    ro = tmp_path / "ro"
    ro.mkdir()
    with read_only(ro):
        assert batch.main(["--prompt", "a proud bow", "--seconds", "0.4", "--out", str(ro), *FAST]) == 1
    err = capsys.readouterr().err
    assert f"error: cannot write to {ro}: " in err and ".tmp" not in err, err


def test_a_short_bvh_clip_warns_and_sets_the_length(tmp_path, capsys, dance_bvh):
    from addon import batch
    from motion_core.rigs.bvh import BvhClip, read_bvh, write_bvh
    clip = read_bvh(dance_bvh)
    short = tmp_path / "short.bvh"
    write_bvh(short, BvhClip(clip.skeleton, clip.frame_time, clip.values[:6]))  # 0.2 s at 30 fps
    summary = batch.run(batch.parse_args(["--bvh", str(short), "--seconds", "2", "--out", str(tmp_path / "o"), *FAST]))
    err = capsys.readouterr().err
    assert "warning:" in err and "less than the 2 s asked" in err, err
    n, fps = scenarios.movie_info(Path(summary["outputs"]["mp4"]))
    assert n == summary["frames"] == 5 and fps == 25.0
    record = json.loads(Path(summary["outputs"]["audit"]).read_text())
    assert record["frames"] == 5 and record["warnings"] and record["output"]["render"]["frames"] == 5


def test_audit_points_at_final_files_and_a_failed_audit_leaves_no_bvh(tmp_path, monkeypatch, capsys):
    from addon import batch
    summary = batch.run(batch.parse_args(["--prompt", "a proud bow", "--seconds", "0.4", "--out", str(tmp_path), *FAST]))
    text = Path(summary["outputs"]["audit"]).read_text()
    record = json.loads(text)
    assert record["output"]["render"]["output"] == summary["outputs"]["mp4"] and Path(summary["outputs"]["mp4"]).exists()
    assert ".hm-stage" not in text and ".tmp" not in text

    def broken(path, data, *a, **k):
        raise OSError(28, "No space left on device")
    import addon.motion_core.pipeline as pipeline
    monkeypatch.setattr(pipeline, "write_json_atomic", broken)
    out = tmp_path / "fail"
    assert batch.main(["--prompt", "a happy wave", "--seconds", "0.4", "--out", str(out), *FAST]) == 1
    assert "No space left" in capsys.readouterr().err
    assert not [p for p in out.iterdir() if not p.name.startswith(".")]  # no BVH without its audit
    assert not list(out.glob(".hm-stage-*"))


@pytest.mark.parametrize("prompt", ["一个优雅的女性舞蹈，慢", "رقصة أنثوية بطيئة ورشيقة"])
def test_a_prompt_not_understood_warns_in_batch_and_audit(tmp_path, capsys, prompt):
    from addon import batch
    _write_prompts(tmp_path / "p.jsonl", [{"prompt": prompt, "seconds": 0.4}])
    assert batch.main(["--prompts", str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "o"), *FAST]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "not understood" in err and "similarity 0." in err, err
    audit = json.loads(next((tmp_path / "o").glob("*.audit.json")).read_text())
    assert audit["generation"]["understanding"]["understood"] is False
    assert audit["output"]["warnings"] and "not understood" in audit["output"]["warnings"][0]


# --- Rigify's spine ----------------------------------------------------------------------------------

def test_rigify_metarig_spine_and_neck_bend_in_every_bone(dance_bvh):
    """On Rigify's own human metarig, spine.002 and spine.005 move; chest and head keep the motion's
    orientation."""
    from addon.rig_io import rig_from_armature
    from addon.stages import apply_motion
    from motion_core.rigs.retarget import load_rig, motion_from_clip
    from motion_core.skeleton.rotations import quat_to_matrix
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.preferences.addon_enable(module="rigify")
    bpy.ops.object.armature_human_metarig_add()
    obj = bpy.context.view_layer.objects.active
    rig = rig_from_armature(obj)
    links = {rig.skeleton.names[u] for u in rig.chain_links}
    assert links == {"spine.002", "spine.005"}
    assert not links & set(rig.left_in_rest())  # no longer reported as left in rest pose
    src, clip = load_rig(dance_bvh)
    mot = motion_from_clip(clip, src).resample(25).slice(200, 230)
    apply_motion(obj, mot, "HM spine", rig)
    scene = bpy.context.scene
    idx = rig.bone_map.indices(rig.skeleton)
    from motion_core.skeleton import canonical
    turns = {b: [] for b in links}
    for f in (1, 10, 20, 30):
        scene.frame_set(f)
        for b in links:
            q = obj.pose.bones[b].rotation_quaternion
            turns[b].append(2 * np.degrees(np.arccos(min(1.0, abs(q.w)))))
        for c in ("chest", "head"):
            j = idx[c]
            want = quat_to_matrix(mot.rotations[f - 1, canonical.INDEX[c]]) @ rig.tpose.global_rotations[j]
            got = np.array(obj.pose.bones[rig.skeleton.names[j]].matrix.to_3x3())
            assert np.abs(got - want).max() < 1e-4, (c, f, np.abs(got - want).max())
    for b, t in turns.items():
        assert max(t) > 1.0, (b, t)  # the link bends (it stayed at 0 before)
