"""The add-on in a real Blender window (under Xvfb): undo, and a screenshot of the panel.

    xvfb-run -a -s "-screen 0 1600x900x24" blender -P blender_tests/run_gui.py -- ZIP OUTDIR

Background Blender has no undo stack, so undo is checked here, in the GUI: one Ctrl+Z after
Generate, Add Dancer or Dress Dancer restores the scene. Prints "GUI SCENARIOS: PASSED" and exits 0, or 1.
The screenshot goes to OUTDIR/panel.png.
"""

import os
import sys
import traceback
from pathlib import Path

import bpy


def _view3d():
    win = bpy.context.window_manager.windows[0]
    area = next(a for a in win.screen.areas if a.type == "VIEW_3D")
    return win, area


def _undo():
    assert bpy.ops.ed.undo() == {"FINISHED"}  # what Ctrl+Z runs


def _state():
    return (sorted(bpy.data.actions.keys()), sorted(bpy.data.objects.keys()),
            {o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects})


def scenarios(zip_path: Path, out: Path) -> None:
    bpy.ops.preferences.addon_install(filepath=str(zip_path))
    bpy.ops.preferences.addon_enable(module="heritage_motion")
    win, area = _view3d()
    # Operators run from a script push no undo step unless asked; the second positional argument
    # (undo=True) makes the call push one, as a click on the panel's button does.
    bpy.ops.ed.undo_push(message="start")
    empty = _state()
    assert bpy.ops.heritage_motion.add_dancer("EXEC_DEFAULT", True) == {"FINISHED"}
    with_dancer = _state()
    assert with_dancer != empty
    _undo()
    assert _state() == empty, "undo after Add Dancer"
    bpy.ops.heritage_motion.add_dancer("EXEC_DEFAULT", True)
    name = bpy.context.active_object.name  # object references die with undo; names do not
    before = _state()
    s = bpy.context.scene.heritage_motion
    s.prompt, s.seconds, s.rules = "a feminine peacock dance, slow", 4.0, "dai-peacock-illustrative"
    assert bpy.ops.heritage_motion.generate("EXEC_DEFAULT", True) == {"FINISHED"}
    assert bpy.data.objects[name].animation_data.action is not None
    _undo()
    assert _state() == before, ("one undo after Generate", _state(), before)
    # Dress Dancer: new pattern materials; one undo restores the costume's own
    def slot_names():
        body = next(c for c in bpy.data.objects[name].children if c.type == "MESH")
        return [sl.material.name if sl.material else None for sl in body.material_slots]
    bpy.context.view_layer.objects.active = bpy.data.objects[name]
    costume = slot_names()
    assert bpy.ops.heritage_motion.dress_dancer("EXEC_DEFAULT", True) == {"FINISHED"}
    assert sum(n.startswith("HM Pattern") for n in slot_names()) == 4, slot_names()
    _undo()
    assert slot_names() == costume, ("one undo after Dress Dancer", slot_names(), costume)
    # Restore Pattern Image (#13): a new image; one undo removes it, the source stays
    src = bpy.data.images.new("worn pattern", 64, 48)
    src.pixels = [c for i in range(64 * 48) for c in ((0.2, 0.15, 0.1, 1.0) if (i // 8) % 3 else (0.85, 0.8, 0.7, 1.0))]
    bpy.ops.ed.undo_push(message="worn pattern")
    images = sorted(bpy.data.images.keys())
    assert bpy.ops.heritage_motion.restore_pattern_image("EXEC_DEFAULT", True, image="worn pattern") == {"FINISHED"}
    assert "worn pattern restored" in bpy.data.images
    _undo()
    assert sorted(bpy.data.images.keys()) == images, ("one undo after Restore", sorted(bpy.data.images.keys()))
    # generate again for the screenshot, dressed, and show the panel
    s = bpy.context.scene.heritage_motion  # undo restored the settings too
    s.prompt, s.seconds, s.rules = "a feminine peacock dance, slow", 4.0, "dai-peacock-illustrative"
    bpy.context.view_layer.objects.active = bpy.data.objects[name]
    assert bpy.ops.heritage_motion.generate("EXEC_DEFAULT", True) == {"FINISHED"}
    assert bpy.ops.heritage_motion.dress_dancer("EXEC_DEFAULT", True) == {"FINISHED"}
    bpy.context.scene.frame_set(40)
    space = area.spaces.active
    space.show_region_ui = True
    space.shading.type = "SOLID"
    space.shading.color_type = "TEXTURE"  # the costume's pattern textures
    space.overlay.show_overlays = True
    for obj in list(bpy.data.objects):
        if obj.name == "Cube":  # the startup file's cube: not part of the shot
            bpy.data.objects.remove(obj)
    bpy.ops.object.select_all(action="DESELECT")
    arm = bpy.data.objects[name]
    arm.select_set(True)
    for child in arm.children:
        child.select_set(True)
    bpy.context.view_layer.objects.active = arm
    with bpy.context.temp_override(window=win, area=area, region=next(r for r in area.regions if r.type == "WINDOW")):
        bpy.ops.view3d.view_axis(type="FRONT")
        bpy.ops.view3d.view_selected()
    for obj in bpy.context.selected_objects:
        obj.select_set(obj == arm)


def open_tab() -> None:
    """Click the sidebar's Heritage Motion tab (3.4 has no Python API for the active tab)."""
    import subprocess
    if hasattr(bpy.types.Region.bl_rna.properties, "get") and "active_panel_category" in bpy.types.Region.bl_rna.properties:
        _, area = _view3d()
        next(r for r in area.regions if r.type == "UI").active_panel_category = "Heritage Motion"
        return
    win, area = _view3d()
    ui = next(r for r in area.regions if r.type == "UI")
    x = ui.x + ui.width - 9
    y = win.height - (ui.y + ui.height) + 184  # the fourth tab: Item, Tool, View, Heritage Motion
    # in the background: Blender must run its event loop between the move and the click
    subprocess.Popen(["xdotool", "mousemove", str(x), str(y), "sleep", "0.5", "click", "1", "sleep", "0.3",
                      "mousemove", "300", "600"])


def shoot(out: Path) -> None:
    win, area = _view3d()
    with bpy.context.temp_override(window=win, area=area):
        bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=2)
        bpy.ops.screen.screenshot(filepath=str(out / "panel.png"))


def main():
    argv = sys.argv[sys.argv.index("--") + 1:]
    zip_path, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    step = {"n": 0}

    def tick():
        try:
            if step["n"] == 0:
                scenarios(zip_path, out)
                step["n"] = 1
                return 1.0
            if step["n"] == 1:
                open_tab()
                step["n"] = 2
                return 3.0  # let the window draw the panel before the screenshot
            shoot(out)
            print("GUI SCENARIOS: PASSED", flush=True)
            os._exit(0)
        except Exception:
            traceback.print_exc()
            print("GUI SCENARIOS: FAILED", flush=True)
            os._exit(1)

    bpy.app.timers.register(tick, first_interval=1.0)


main()
