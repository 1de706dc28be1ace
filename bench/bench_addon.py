"""The add-on's speed in the embedded bpy 5.0.1: Generate (operator wall time), playback, render.

* Generate: ``bpy.ops.heritage_motion.generate`` for 10 s of motion on a Rigify human metarig,
  baking (keying) included, models already loaded (the first call also loads them: reported).
  Target <= 0.5 s on CPU.
* Playback: depsgraph evaluation of the costumed dancer (MakeHuman's body and costume, one mesh
  skinned to 23 bones) per frame, as the viewport does during playback; and of the lightweight
  stand-in. Target >= 100 fps.
* Render: Workbench at 640x360 through the Render operator's code path, frames per second.

    python bench/bench_addon.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy  # noqa: E402

import addon  # noqa: E402
from bench.timing import best_and_median  # noqa: E402


def main() -> int:
    addon.register()
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    bpy.ops.preferences.addon_enable(module="rigify")
    bpy.ops.object.armature_human_metarig_add()
    t = time.perf_counter()
    bpy.ops.heritage_motion.generate(prompt="a feminine peacock dance, slow", seconds=10)
    first = time.perf_counter() - t
    best, med = best_and_median(lambda: bpy.ops.heritage_motion.generate(prompt="a feminine peacock dance, slow",
                                                                           seconds=10), repeat=5)
    print(f"generate 10 s on a Rigify metarig (operator wall time, keys included): best {best:.3f} s, "
          f"median {med:.3f} s; first call with model loading {first:.3f} s   (target <= 0.5 s)")

    for standin in (True, False):
        bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
        t = time.perf_counter()
        bpy.ops.heritage_motion.add_dancer(standin=standin)
        added = time.perf_counter() - t
        bpy.ops.heritage_motion.generate(prompt="a feminine dance", seconds=10)
        scene = bpy.context.scene
        frames = list(range(1, 251))
        depsgraph = bpy.context.evaluated_depsgraph_get()
        body = next(o for o in bpy.data.objects if o.type == "MESH")

        def play(frames=frames, scene=scene, body=body, depsgraph=depsgraph):
            for f in frames:
                scene.frame_set(f)
                body.evaluated_get(depsgraph).data.vertices[100].co.copy()  # the skinned body really deformed
        best, med = best_and_median(play, repeat=3)
        what = "stand-in" if standin else "dancer"
        print(f"playback: depsgraph evaluation of the {what} ({len(body.data.vertices)} skinned vertices), "
              f"{len(frames)} frames: best {len(frames) / best:.0f} fps, "
              f"median {len(frames) / med:.0f} fps   (target >= 100 fps); Add Dancer {added:.2f} s")

    from addon.render import render_shot
    scene.frame_start, scene.frame_end = 1, 50
    arm = bpy.context.active_object
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        render_shot(scene, arm, "spine", Path(tmp) / "r.mp4", "WORKBENCH", (640, 360))
        dt = time.perf_counter() - t
    print(f"render: Workbench 640x360, 50 frames to MP4: {50 / dt:.2f} fps ({dt:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
