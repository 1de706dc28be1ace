"""Phase lag of the symbol binding, measured from rendered frames (seed 002 section 5.1; issue #12 item 7).

    python bench/symbol_lag.py [--prompt "a proud bow"] [--seconds 6] [--out out/symbol_lag]     (bpy module)
    blender -b --factory-startup -P bench/symbol_lag.py -- [same options]

Generates a dance on the default dancer, dresses it (DressCostume) and keys the symbol (BindSymbols).
Around each trigger frame it renders the frames twice with Cycles (small, few samples): once with
eps(t) keyed, once with its F-curve muted, with a fixed camera. The symbol is visible in a frame when
the two renders differ (mean absolute difference over the image above 0.002 and above a tenth of
the largest such difference). Lag = first frame where the symbol is visible - the trigger frame (the
bone event eps(t) marks), in seconds. Also reported: the offset from each trigger to the nearest peak
of mean joint acceleration (symbols.bone_event_offsets), i.e. how h_sem's 1 s window places the
trigger against the kinematics. Prints JSON and writes OUT/symbol_lag.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from addon import stages  # noqa: E402
from addon import symbols as addon_symbols  # noqa: E402
from addon.dancer import add_dancer  # noqa: E402
from addon.rig_io import rig_from_armature  # noqa: E402
from motion_core import config  # noqa: E402
from motion_core.files import write_json_atomic  # noqa: E402
from motion_core.patterns import costume as plan  # noqa: E402
from motion_core.patterns import symbols  # noqa: E402
from motion_core.pipeline import ApplyRules, GenerateMotion, Request, make_job, run  # noqa: E402


def _argv() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def _render(scene, frame: int, path: Path) -> np.ndarray:
    scene.frame_set(frame)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(path), check_existing=False)
    w, h = img.size
    px = np.empty(w * h * 4, np.float32)
    img.pixels.foreach_get(px)
    bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[..., :3]


def measure(prompt: str, seconds: float, seed: int, out: Path, triggers_max: int = 3, around: int = 3) -> dict:
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    arm, body = add_dancer(scene.collection)
    rig = rig_from_armature(arm)
    models = stages.Models()
    bank = models.bank()
    job = make_job(Request(prompt, seconds, seed), None, rig.canonical_tpose())
    run(job, [GenerateMotion(models.model(), models.encoder()), ApplyRules(),
              stages.KeyAction(arm, rig, stages.action_name(prompt), 1),
              stages.DressCostume(arm, models.encoder(), bank, plan.SHIPPED_BANK),
              addon_symbols.BindSymbols(bank, plan.SHIPPED_BANK, symbols.load_motion_semantic(), 1)])
    rec = job.extra["symbols"]
    trig = rec["trigger_frames"][:triggers_max]
    offsets = symbols.bone_event_offsets(job.motion.positions(), rec["trigger_frames"])
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 4
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = 120, 160
    scene.render.image_settings.file_format = "PNG"
    if scene.world is None:
        scene.world = bpy.data.worlds.new("World")
    scene.world.color = (0.6, 0.6, 0.6)
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.rotation_euler = (0.6, 0.2, 0.3)
    scene.collection.objects.link(sun)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, -3.4, 1.1)
    cam.rotation_euler = (1.5708, 0.0, 0.0)
    scene.camera = cam
    mat = bpy.data.materials[rec["material"]]
    fcs = addon_symbols_fcurves(mat)
    mix = mat.node_tree.nodes[addon_symbols.MIX_NODE]
    per = []
    out.mkdir(parents=True, exist_ok=True)
    for t in trig:
        frames = list(range(max(0, t - around), t + around + 1))
        diffs = []
        for f in frames:
            for fc in fcs:
                fc.mute = False
            on = _render(scene, 1 + f, out / f"on_{f:04d}.png")
            for fc in fcs:
                fc.mute = True
            mix.inputs[0].default_value = 0.0  # a muted curve leaves its last value: eps = 0 by hand
            off = _render(scene, 1 + f, out / f"off_{f:04d}.png")
            diffs.append(float(np.abs(on - off).mean()))
        for fc in fcs:
            fc.mute = False
        thr = max(0.002, 0.1 * max(diffs))
        visible = [f for f, d in zip(frames, diffs, strict=True) if d > thr]
        first = visible[0] if visible else None
        per.append({"trigger_frame": t, "frames": frames, "diff": [round(d, 5) for d in diffs],
                    "first_visible_frame": first,
                    "lag_s": None if first is None else round((first - t) / config.FPS, 4)})
    lags = [abs(p["lag_s"]) for p in per if p["lag_s"] is not None]
    result = {"prompt": prompt, "seconds": seconds, "seed": seed, "blender": bpy.app.version_string,
              "triggers": rec["trigger_frames"], "rate_max_per_s": rec["rate_max_per_s"],
              "measured": per, "max_abs_lag_s": max(lags) if lags else None,
              "goal_s": config.SYMBOL_LAG_GOAL_S, "seed_reported_s": "0.12 +- 0.03",
              "trigger_to_acceleration_peak_frames": offsets,
              "trigger_to_acceleration_peak_mean_abs_s": round(float(np.mean(np.abs(offsets))) / config.FPS, 4)
              if offsets else None}
    write_json_atomic(out / "symbol_lag.json", result)
    return result


def addon_symbols_fcurves(mat) -> list:
    action = mat.node_tree.animation_data.action
    if hasattr(action, "fcurves") and len(action.fcurves):
        return list(action.fcurves)
    return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompt", default="a proud bow")
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=REPO / "out" / "symbol_lag")
    a = p.parse_args(_argv())
    print(json.dumps(measure(a.prompt, a.seconds, a.seed, a.out), indent=1))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main()
    if bpy.app.background and "--" in sys.argv:
        import os
        os._exit(code)
