"""Scenarios shared by the bpy-module tests and the real ``blender -b`` runs.

Each function raises AssertionError on failure. ``run_in_blender.py`` calls them inside a Blender
binary; ``test_bpy.py`` calls them under pytest with the ``bpy`` module.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import bpy


class ImporterBroken(Exception):
    """Blender's bundled BVH importer cannot run on this build (not a failure of ours)."""


def run_or_skip(scenario, *args) -> None:
    """Run one scenario; one that cannot run on this build is reported as SKIPPED with its reason."""
    try:
        scenario(*args)
    except ImporterBroken as e:
        print(f"SKIPPED {scenario.__name__}: {e}")


def run_all(label: str, body) -> None:
    """Run ``body()``, print 'LABEL: PASSED' or the traceback and 'LABEL: FAILED', and exit 0 or 1
    (Blender ignores a -P script's return value, so the exit is explicit)."""
    code = 0
    try:
        body()
        print(f"{label}: PASSED")
    except Exception:
        traceback.print_exc()
        print(f"{label}: FAILED")
        code = 1
    sys.stdout.flush()
    os._exit(code)


def movie_info(path: Path) -> tuple[int, float]:
    clip = bpy.data.movieclips.load(str(path))
    try:
        return clip.frame_duration, clip.fps
    finally:
        bpy.data.movieclips.remove(clip)


def fcurves(action) -> list:
    if hasattr(action, "layers") and len(action.layers):  # 4.4+ layered action
        return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                for fc in bag.fcurves]
    return list(action.fcurves)


def _count_keys(action) -> int:
    return sum(len(fc.keyframe_points) for fc in fcurves(action))


def main_job_renders_25fps_video(bvh: Path, out: Path, frames: int = 10) -> dict:
    from addon import batch
    args = batch.parse_args(["--bvh", str(bvh), "--out", str(out), "--seconds", str(frames / 25),
                             "--resolution", "160x90", "--rig", "rigify"])
    summary = batch.run(args)
    mp4 = Path(summary["outputs"]["mp4"])
    assert mp4.exists() and mp4.stat().st_size > 1000, mp4
    n, fps = movie_info(mp4)
    assert (n, round(fps, 3)) == (frames, 25.0), (n, fps)
    action = bpy.data.actions[summary["action"]]
    arm = bpy.data.objects["HM_dancer"]
    assert arm.animation_data.action == action
    # every bone: 4 rotation curves, plus 3 location curves on the root carrier, one key per frame
    assert _count_keys(action) == frames * (4 * len(arm.pose.bones) + 3), _count_keys(action)
    assert bpy.context.scene.render.fps == 25
    # the pose is really applied: the hips move between the first and the last frame
    scene = bpy.context.scene
    scene.frame_set(1)
    a = arm.pose.bones["hand.L"].head.copy()
    scene.frame_set(frames)
    b = arm.pose.bones["hand.L"].head.copy()
    assert (a - b).length > 1e-3, "the hand does not move"
    assert json.loads(Path(summary["outputs"]["audit"]).read_text())["frames"] == frames
    assert Path(summary["outputs"]["png"]).exists()
    return summary


def main_job_refuses_to_overwrite(bvh: Path, out: Path) -> None:
    from addon import batch
    out.mkdir(parents=True, exist_ok=True)
    name = "keep"
    (out / f"{name}.mp4").write_bytes(b"user data")
    rc = batch.main(["--bvh", str(bvh), "--out", str(out), "--name", name, "--seconds", "0.4"])
    assert rc == 1
    assert (out / f"{name}.mp4").read_bytes() == b"user data"
    assert not (out / f"{name}.bvh").exists()


def main_job_bad_input_exits_1(out: Path) -> None:
    from addon import batch
    assert batch.main(["--bvh", str(out / "missing.bvh"), "--out", str(out)]) == 1
    assert batch.main(["--bvh", str(out / "missing.bvh"), "--out", str(out), "--seconds", "99"]) == 1


def _check_pose_follows_motion(obj, mot, action_name: str, frames=(1, 7, 15)) -> None:
    """Key ``mot`` onto armature ``obj`` via the add-on path and compare Blender's evaluated pose
    with the motion: every limb segment points the same way, the pelvis sits where expected."""
    import numpy as np

    from addon.rig_io import rig_from_armature
    from addon.stages import apply_motion
    from motion_core.skeleton import canonical
    rig = rig_from_armature(obj)
    action = apply_motion(obj, mot, action_name, rig)
    assert action.name.startswith(action_name)
    idx = rig.bone_map.mapping
    expected = mot.positions()
    ratio = rig.tpose.leg_length(rig) / mot.leg_length
    scene = bpy.context.scene
    mw = obj.matrix_world
    from motion_core.skeleton.rotations import quat_to_matrix
    # A neck of several bones (Rigify spine.004-.006) bends along its length: there the head's
    # orientation is checked instead of the neck-to-head direction.
    neck_chain = any(canonical.JOINTS[m] == "head" for _, _, m in rig.chain_links.values())
    head = rig.skeleton.index(idx["head"])
    for f in frames:
        scene.frame_set(f)
        world = {c: np.array(mw @ obj.pose.bones[b].head) for c, b in idx.items()}
        want_head = quat_to_matrix(mot.rotations[f - 1, canonical.INDEX["head"]]) @ rig.tpose.global_rotations[head]
        got_head = np.array(obj.pose.bones[idx["head"]].matrix.to_3x3())
        assert np.abs(got_head - want_head).max() < 1e-4, (obj.name, f, "head orientation")
        for a, b in [("l_upper_arm", "l_forearm"), ("r_forearm", "r_hand"), ("l_thigh", "l_shin"),
                     ("r_shin", "r_foot"), ("l_foot", "l_toe")] + ([] if neck_chain else [("neck", "head")]):
            got = world[b] - world[a]
            want = expected[f - 1, canonical.INDEX[b]] - expected[f - 1, canonical.INDEX[a]]
            cos = got @ want / np.linalg.norm(got) / np.linalg.norm(want)
            assert cos > 0.999, (obj.name, f, a, b, cos)
        pelvis_want = expected[f - 1, 0] * ratio * rig.axes.unit_m
        assert np.linalg.norm(world["pelvis"] - pelvis_want) < 1e-3 * max(1.0, ratio), (world["pelvis"], pelvis_want)


def import_bvh(bvh: Path) -> None:
    """Blender's own BVH importer, or ImporterBroken where this build cannot run it."""
    try:
        bpy.ops.import_anim.bvh(filepath=str(bvh))
    except (RuntimeError, ValueError) as e:
        if "'rU'" in str(e):
            # Debian's Blender 3.4.1 runs its bundled importer on Python 3.11, which removed mode 'rU'.
            raise ImporterBroken(f"Blender {bpy.app.version_string}'s own BVH importer is broken on this build "
                                 "(it opens files with mode 'rU', removed in Python 3.11)") from None
        raise


def retarget_onto_blender_bvh_import(bvh: Path) -> None:
    """The armature Blender's own BVH importer builds (bone rolls, centimetres) is driven correctly."""
    from motion_core.rigs.retarget import load_rig, motion_from_clip
    bpy.ops.wm.read_factory_settings(use_empty=True)
    import_bvh(bvh)
    obj = bpy.context.view_layer.objects.active
    assert obj.type == "ARMATURE"
    from addon.rig_io import rig_from_armature
    file_rig, clip = load_rig(bvh)
    assert rig_from_armature(obj).bone_map.mapping == file_rig.bone_map.mapping
    mot = motion_from_clip(clip, file_rig).resample(25).slice(100, 120)
    _check_pose_follows_motion(obj, mot, "HM imported")


def retarget_onto_rigify_metarig(bvh: Path) -> None:
    """A real Rigify human metarig, added by Rigify's own operator."""
    from motion_core.rigs.retarget import load_rig, motion_from_clip
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.preferences.addon_enable(module="rigify")
    bpy.ops.object.armature_human_metarig_add()
    obj = bpy.context.view_layer.objects.active
    assert obj.type == "ARMATURE" and "upper_arm.L" in obj.data.bones
    rig, clip = load_rig(bvh)
    mot = motion_from_clip(clip, rig).resample(25).slice(200, 220)
    _check_pose_follows_motion(obj, mot, "HM metarig")
    # the existing action is kept; a second generate makes a new one
    before = set(bpy.data.actions.keys())
    from addon.stages import apply_motion
    second = apply_motion(obj, mot, "HM metarig")
    assert second.name not in before and before <= set(bpy.data.actions.keys())


def main_job_from_prompt(out: Path, frames: int = 10) -> dict:
    """The README's main job: prompt -> generated dance on the Rigify mannequin -> 25 FPS MP4."""
    from addon import batch
    summary = batch.run(batch.parse_args(["--prompt", "a proud bow", "--seconds", str(frames / 25), "--out", str(out),
                                          "--resolution", "160x90"]))
    n, fps = movie_info(Path(summary["outputs"]["mp4"]))
    assert (n, round(fps, 3)) == (frames, 25.0), (n, fps)
    record = json.loads(Path(summary["outputs"]["audit"]).read_text())
    assert record["request"]["prompt"] == "a proud bow" and record["request"]["seed"] == 0
    assert record["generation"]["prior_pair"]["content"] and record["pre"]["rule_pack"]["name"] == "default-humanoid"
    # patterns on the dancer by default: four new materials, their sources and licences in the audit
    parts = record["costume"]["parts"]
    assert [p["part"] for p in parts] == ["HM Bodice", "HM Skirt", "HM Sleeves", "HM Headdress"], parts
    assert all(p["representative"]["licence"].startswith("CC BY-SA 4.0") and p["members"] >= 1 for p in parts)
    assert all(bpy.data.materials[p["material"]].node_tree.nodes.get("Image Texture") for p in parts)
    return summary


def main_job_without_patterns_and_with_colour_rules(out: Path) -> None:
    """--no-patterns keeps the flat colours; a pack's colour rules are applied and reported with sources."""
    from addon import batch
    base = ["--prompt", "a proud bow", "--seconds", "0.2", "--resolution", "64x36"]
    summary = batch.run(batch.parse_args([*base, "--out", str(out / "off"), "--no-patterns"]))
    record = json.loads(Path(summary["outputs"]["audit"]).read_text())
    assert "costume" not in record
    assert not any(m.name.startswith("HM Pattern") for m in bpy.data.materials)
    summary = batch.run(batch.parse_args([*base, "--out", str(out / "rules"), "--rules",
                                          "seed002-symbol-and-colour-examples", "--pattern-query", "a funeral dance"]))
    rules = {r["rule"]: r for r in json.loads(Path(summary["outputs"]["audit"]).read_text())["costume"]["colour_rules"]}
    assert rules["jingpo-menao-no-black-yellow"]["status"] == "applied"
    assert rules["han-red-wedding-funeral"]["status"] == "applied"
    assert all(r["source"] and r["pack_status"] == "illustrative" for r in rules.values())

def _evaluated_co(obj):
    import numpy as np
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    me = ev.to_mesh()
    try:
        co = np.empty(len(me.vertices) * 3)
        me.vertices.foreach_get("co", co)
        uv = np.empty(len(me.loops) * 2)
        me.uv_layers["UVMap"].data.foreach_get("uv", uv)
        return co.reshape(-1, 3), uv
    finally:
        ev.to_mesh_clear()


def dancer_on_real_clips(clips: list[Path], step: int = 5, seconds: float = 20.0) -> dict:
    """The default dancer driven by real motion capture (the CMU dance clips): returns, over every
    ``step``-th frame at 25 fps of the first ``seconds`` of each clip,

    * ``reach``: the largest ratio of a skinned vertex's distance from the pelvis to what its bone
      chain allows (the bone lengths from the pelvis down its chain plus its rest distance from its
      bone); above 1 a vertex has left its chain;
    * ``stretch``: per part (skin and each garment), the largest ratio of an edge's length to its rest length;
    * ``uv_lost``: loops whose UVs differ from the rest mesh's after deformation;
    * ``pokes``: thigh vertices (rest height between the hem + 10 cm and the crotch) that stick out
      through the skirt: the skirt crosses the line from the thigh bone to the vertex more than 5 mm
      inside the skin; ``poke_frames``: frames with any.
    """
    import numpy as np
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree

    from addon import dancer
    from addon.rig_io import rig_from_armature
    from addon.stages import apply_motion
    from motion_core.rigs.retarget import load_rig, motion_from_clip

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    arm, body = dancer.add_dancer(bpy.context.scene.collection)
    rig = rig_from_armature(arm)
    me = body.data
    n = len(me.vertices)
    rest = np.empty(n * 3)
    me.vertices.foreach_get("co", rest)
    rest = rest.reshape(-1, 3)
    rest_uv = np.empty(len(me.loops) * 2)
    me.uv_layers["UVMap"].data.foreach_get("uv", rest_uv)
    edges = np.empty(len(me.edges) * 2, int)
    me.edges.foreach_get("vertices", edges)
    edges = edges.reshape(-1, 2)
    vpart = np.zeros(n, int)
    for p in me.polygons:
        vpart[list(p.vertices)] = p.material_index
    part_edges = {name: np.nonzero(vpart[edges[:, 0]] == k)[0] for k, name in enumerate(dancer.PARTS)}
    rest_len = np.linalg.norm(rest[edges[:, 0]] - rest[edges[:, 1]], axis=1)
    # weights and each bone's chain length from the pelvis
    names = [b.name for b in arm.data.bones]
    w = np.zeros((n, len(names)))
    gi = {g.index: names.index(g.name) for g in body.vertex_groups}
    for v in me.vertices:
        for g in v.groups:
            w[v.index, gi[g.group]] = g.weight
    heads = np.array([arm.data.bones[b].head_local for b in names])
    chain = np.zeros(len(names))
    for k, b in enumerate(names):
        bone = arm.data.bones[b]
        while bone.parent is not None:
            chain[k] += (bone.head_local - bone.parent.head_local).length
            bone = bone.parent
    pelvis = rig.bone_map.mapping["pelvis"]
    p0 = np.array(arm.data.bones[pelvis].head_local)
    allow = np.where(w > 0, chain[None] + np.linalg.norm(rest[:, None] - heads[None], axis=2), 0).max(1) \
        + np.linalg.norm(heads[names.index(pelvis)] - p0)
    # the skirt's faces and the thigh vertices that must stay inside it
    mat = np.empty(len(me.polygons), int)
    me.polygons.foreach_get("material_index", mat)
    skirt_polys = [list(p.vertices) for p in me.polygons if p.material_index == dancer.PARTS.index("HM Skirt")]
    skirt_v = np.unique(np.concatenate(skirt_polys))
    hem = rest[skirt_v, 2].min()
    crotch = heads[names.index("thigh.L"), 2] - 0.06
    skin_v = np.zeros(n, bool)
    skin_v[np.unique([v for p in me.polygons if p.material_index == 0 for v in p.vertices])] = True
    inside = skin_v & (rest[:, 2] > hem + 0.10) & (rest[:, 2] < crotch)
    legs = {s: np.nonzero(inside & (w[:, names.index("thigh." + s)] > 0.5))[0] for s in "LR"}

    scene = bpy.context.scene
    out = {"frames": 0, "reach": 0.0, "stretch": {}, "uv_lost": 0, "pokes": 0, "poke_frames": 0}
    for path in clips:
        src, clip = load_rig(path)
        mot = motion_from_clip(clip, src).resample(25)
        mot = mot.slice(0, min(mot.num_frames, int(seconds * 25)))
        apply_motion(arm, mot, "HM " + Path(path).stem, rig)
        for f in range(1, mot.num_frames + 1, step):
            scene.frame_set(f)
            co, uv = _evaluated_co(body)
            pel = np.array(arm.matrix_world @ arm.pose.bones[pelvis].head)
            out["reach"] = max(out["reach"], float((np.linalg.norm(co - pel, axis=1) / allow).max()))
            ratio = np.linalg.norm(co[edges[:, 0]] - co[edges[:, 1]], axis=1) / rest_len
            for part, k in part_edges.items():
                out["stretch"][part] = max(out["stretch"].get(part, 0.0), float(ratio[k].max()))
            out["uv_lost"] += int((np.abs(uv - rest_uv) > 1e-6).sum())
            tree = BVHTree.FromPolygons([Vector(c) for c in co], skirt_polys)
            pokes = 0
            for side, verts in legs.items():
                pb = arm.pose.bones["thigh." + side]
                h, t = np.array(arm.matrix_world @ pb.head), np.array(arm.matrix_world @ pb.tail)
                axis = t - h
                for i in verts:
                    s_ = np.clip((co[i] - h) @ axis / (axis @ axis), 0, 1)
                    a = h + s_ * axis
                    d = co[i] - a
                    r = float(np.linalg.norm(d))
                    loc, _, _, dist = tree.ray_cast(Vector(a), Vector(d / r), r)
                    if loc is not None and dist < r - 0.005:  # the skirt runs through the leg
                        pokes += 1
            out["pokes"] += pokes
            out["poke_frames"] += pokes > 0
            if pokes:
                out["worst"] = max(out.get("worst", (0,)), (pokes, Path(path).stem, f))
                out.setdefault("poked", []).append((Path(path).parent.name + "/" + Path(path).name, f, pokes))
            out["frames"] += 1
    return out
