"""Scenarios shared by the bpy-module tests and the real ``blender -b`` runs.

Each function raises AssertionError on failure. ``run_in_blender.py`` calls them inside a Blender
binary; ``test_bpy.py`` calls them under pytest with the ``bpy`` module.
"""

from __future__ import annotations

import json
from pathlib import Path

import bpy


def movie_info(path: Path) -> tuple[int, float]:
    clip = bpy.data.movieclips.load(str(path))
    try:
        return clip.frame_duration, clip.fps
    finally:
        bpy.data.movieclips.remove(clip)


def _count_keys(action) -> int:
    if hasattr(action, "layers") and len(action.layers):  # 4.4+ layered action
        total = 0
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    total += sum(len(fc.keyframe_points) for fc in bag.fcurves)
        return total
    return sum(len(fc.keyframe_points) for fc in action.fcurves)


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
    assert json.loads(Path(summary["outputs"]["json"]).read_text())["frames"] == frames
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
