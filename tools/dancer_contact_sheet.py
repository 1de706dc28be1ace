"""A contact sheet of the default dancer in four poses from real motion capture, Workbench and EEVEE.

    python tools/dancer_contact_sheet.py [--out docs/dancer_contact_sheet.png] [--size 300x400] [--no-eevee]

Runs in the embedded bpy 5.0.1. The poses are fixed frames of the CMU dance clips in
``../shared/data/cmu-dance`` (research data, never shipped), retargeted onto the dancer through the
add-on's own path (``rig_from_armature`` + ``apply_motion``). Row 1: Workbench; row 2: EEVEE (about
20-40 s a frame on software GL). Each cell is captioned with its clip and time.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CMU = REPO.parent / "shared" / "data" / "cmu-dance"
#: (clip, seconds into it): chosen once by time, not by how the costume looks there
POSES = (("salsa/16.bvh", 6.0), ("salsa/01.bvh", 9.0), ("indian/04.bvh", 8.0), ("indian/07.bvh", 6.0))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "docs" / "dancer_contact_sheet.png")
    p.add_argument("--size", default="300x400")
    p.add_argument("--no-eevee", action="store_true")
    a = p.parse_args()
    w, h = (int(x) for x in a.size.split("x"))

    import bpy
    import numpy as np
    from mathutils import Vector

    from addon.dancer import add_dancer
    from addon.render import apply_look, setup_scene
    from addon.rig_io import rig_from_armature
    from addon.stages import apply_motion
    from motion_core.rigs.retarget import load_rig, motion_from_clip

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    coll = scene.collection
    arm, _body = add_dancer(coll)
    rig = rig_from_armature(arm)
    floor = bpy.data.meshes.new("floor")
    floor.from_pydata([(-9, -9, 0), (9, -9, 0), (9, 9, 0), (-9, 9, 0)], [], [(0, 1, 2, 3)])
    fo = bpy.data.objects.new("floor", floor)
    fm = bpy.data.materials.new("floor")
    fm.diffuse_color = (0.42, 0.40, 0.37, 1.0)
    floor.materials.append(fm)
    coll.objects.link(fo)
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (0.75, 0.15, 0.6)
    coll.objects.link(sun)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.lens = 50
    coll.objects.link(cam)
    scene.camera = cam

    cells = {"WORKBENCH": [], "EEVEE": []}
    tmp = a.out.parent / ".contact"
    tmp.mkdir(parents=True, exist_ok=True)
    for k, (clip_name, t) in enumerate(POSES):
        path = CMU / clip_name
        if not path.exists():
            print(f"error: needs {path} (the shared data set beside the checkout)", file=sys.stderr)
            return 1
        src, clip = load_rig(path)
        mot = motion_from_clip(clip, src).resample(25)
        f = int(t * 25)
        apply_motion(arm, mot.slice(f, f + 1), f"HM pose {k}", rig)
        scene.frame_set(1)
        pelvis = arm.matrix_world @ arm.pose.bones["spine"].head
        az = math.radians(25)
        cam.location = (pelvis.x + 3.6 * math.sin(az), pelvis.y - 3.6 * math.cos(az), 1.25)
        cam.rotation_euler = (Vector((pelvis.x, pelvis.y, 0.85)) - cam.location).to_track_quat("-Z", "Y").to_euler()
        for engine in ("WORKBENCH",) + (() if a.no_eevee else ("EEVEE",)):
            setup_scene(scene, 1, resolution=(w, h), engine=engine)
            apply_look(scene, engine)
            if engine == "EEVEE":
                scene.world.color = (0.30, 0.30, 0.33)
                scene.render.film_transparent = False
                if hasattr(scene.eevee, "taa_render_samples"):
                    scene.eevee.taa_render_samples = 16
            out = tmp / f"{k}_{engine}.png"
            scene.render.filepath = str(out)
            t0 = time.perf_counter()
            bpy.ops.render.render(write_still=True)
            print(f"{clip_name} at {t:g} s, {engine}: {time.perf_counter() - t0:.1f} s", flush=True)
            cells[engine].append((out, f"{clip_name} {t:g}s {engine.title()}"))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in cells.values() if r]
    fig, axes = plt.subplots(len(rows), len(POSES), figsize=(len(POSES) * w / 100, len(rows) * h / 100 + 0.4), dpi=100)
    axes = np.atleast_2d(axes)
    for i, row in enumerate(rows):
        for j, (img, label) in enumerate(row):
            axes[i, j].imshow(plt.imread(img))
            axes[i, j].set_title(label, fontsize=8)
            axes[i, j].axis("off")
    fig.suptitle("Heritage Motion default dancer: MakeHuman body (CC0) on CMU dance clips", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out)
    for img, _ in (c for r in rows for c in r):
        img.unlink()
    tmp.rmdir()
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
