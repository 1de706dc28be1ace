"""Scene setup and MP4 rendering at 25 FPS; shared by the Render operator and headless batch."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import cast

import bpy
import numpy as np

from .motion_core import config
from .motion_core.files import atomic_path

ENGINES = {"WORKBENCH": "BLENDER_WORKBENCH", "EEVEE": "BLENDER_EEVEE", "CYCLES": "CYCLES"}


def _engine_id(engine: str) -> str:
    ident = ENGINES[engine]
    if engine == "EEVEE" and (4, 2, 0) <= bpy.app.version < (5, 0, 0):
        ident = "BLENDER_EEVEE_NEXT"  # 4.2-4.4 naming
    return ident


def setup_scene(scene: bpy.types.Scene, frames: int, fps: int = 25, resolution=(640, 360),
                engine: str = "WORKBENCH") -> None:
    scene.render.fps = fps
    scene.render.fps_base = 1.0
    scene.frame_start = 1
    scene.frame_end = frames
    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    scene.render.engine = _engine_id(engine)  # type: ignore[assignment]  # ids differ by version (BLENDER_EEVEE_NEXT)
    if engine == "WORKBENCH":
        display = scene.display
        assert display is not None  # every scene has display settings
        shading = display.shading
        assert shading is not None  # (and they have shading)
        shading.light = "STUDIO"
        shading.color_type = "TEXTURE"  # image textures (the costume patterns); plain materials keep their colour
        shading.show_shadows = True
        shading.show_cavity = True  # ambient-occlusion-like cavity shading
    elif engine == "CYCLES":
        scene.cycles.samples = 16  # type: ignore[union-attr]  # scene.cycles is registered by the Cycles add-on
    if scene.world is None:
        scene.world = bpy.data.worlds.new("World")
    scene.world.color = (0.05, 0.05, 0.07)


def add_stage(scene: bpy.types.Scene, collection: bpy.types.Collection, track: np.ndarray,
              height: float) -> bpy.types.Object:
    """Floor, sun and a camera that frames and follows ``track`` ((T, 3) pelvis positions, metres).
    Returns the camera."""
    mesh = bpy.data.meshes.new("HM_floor")
    s = 20.0
    mesh.from_pydata([(-s, -s, 0), (s, -s, 0), (s, s, 0), (-s, s, 0)], [], [(0, 1, 2, 3)])  # type: ignore[call-arg]  # shade_flat: 4.1+, optional
    floor = bpy.data.objects.new("HM_floor", mesh)
    mat = bpy.data.materials.new("HM_floor")
    mat.diffuse_color = (0.35, 0.33, 0.30, 1.0)
    mesh.materials.append(mat)
    collection.objects.link(floor)
    sun = bpy.data.objects.new("HM_sun", bpy.data.lights.new("HM_sun", "SUN"))
    sun.rotation_euler = (0.7, 0.2, 0.5)
    collection.objects.link(sun)
    cam_data = bpy.data.cameras.new("HM_camera")
    cam_data.lens = 35
    cam = bpy.data.objects.new("HM_camera", cam_data)
    collection.objects.link(cam)
    scene.camera = cam
    # Follow the dancer's ground track, smoothed so the camera does not shake with the hips.
    xy = track[:, :2]
    k = min(len(xy), 25)
    kernel = np.ones(k) / k
    pad = np.pad(xy, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
    smooth = np.stack([np.convolve(pad[:, i], kernel, mode="valid") for i in range(2)], -1)
    dist = 2.0 * height + 0.6
    aim_z = 0.55 * height
    cam.rotation_mode = "XYZ"
    tilt = np.arctan2(dist, 0.9 * height - aim_z)
    cam.rotation_euler = (tilt, 0.0, 0.0)
    for t, (x, y) in enumerate(smooth):
        cam.location = (x, y - dist, 0.9 * height)
        cam.keyframe_insert("location", frame=t + 1)
    return cam


def render_mp4(scene: bpy.types.Scene, out_path: Path) -> Path:
    """Render the scene's frame range to ``out_path`` (H.264 MP4), atomically: frames go to a
    temporary folder next to it and the file is moved into place only when complete."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".render-", dir=out_path.parent))
    try:
        img = scene.render.image_settings
        if hasattr(img, "media_type"):  # 5.0: pick the media type before the format
            img.media_type = "VIDEO"
        img.file_format = "FFMPEG"
        ff = scene.render.ffmpeg
        assert ff is not None  # render settings always carry FFmpeg settings
        ff.format = "MPEG4"
        ff.codec = "H264"
        ff.constant_rate_factor = "MEDIUM"
        ff.audio_codec = "NONE"
        scene.render.use_file_extension = True
        scene.render.filepath = str(tmp_dir / "render_")
        bpy.ops.render.render(animation=True, scene=scene.name)
        produced = sorted(tmp_dir.glob("*.mp4"))
        if len(produced) != 1:
            raise RuntimeError(f"Blender wrote {len(produced)} MP4 files to {tmp_dir}; expected one")
        with atomic_path(out_path) as tmp:
            os.replace(produced[0], tmp)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return out_path


def render_still(scene: bpy.types.Scene, frame: int, out_path: Path) -> Path:
    """Render one frame to a PNG, atomically (used for posters and the README)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    img = scene.render.image_settings
    saved = (img.media_type if hasattr(img, "media_type") else None, img.file_format, scene.render.filepath)
    try:
        with atomic_path(out_path) as tmp:
            if hasattr(img, "media_type"):
                img.media_type = "IMAGE"
            img.file_format = "PNG"
            scene.frame_set(frame)
            scene.render.filepath = str(tmp)
            bpy.ops.render.render(write_still=True, scene=scene.name)
    finally:
        if saved[0] is not None:
            img.media_type = saved[0]  # type: ignore[attr-defined]  # 5.0+ (saved[0] is set only where it exists)
        img.file_format = saved[1]
        scene.render.filepath = saved[2]
    return out_path


#: Colour prototype for the compositor's colour calibration (seed 002 section 5.1: "HSL calibration
#: based on the national colour prototype"). A product default (a mild warm grade), not a cultural
#: rule; a rule pack's palette will replace it when the texture stage lands.
COLOUR_PROTOTYPE = {"lift": (1.0, 0.99, 0.97), "gamma": (1.0, 1.0, 0.98), "gain": (1.04, 1.0, 0.95)}


def apply_look(scene: bpy.types.Scene, engine: str) -> list[str]:
    """Seed 002 section 5.1's render stage where the engine allows: motion blur on fast action,
    ambient occlusion, colour calibration in the compositor. Returns what was switched on."""
    done = []
    if engine in ("EEVEE", "CYCLES"):
        scene.render.use_motion_blur = True
        if hasattr(scene, "eevee") and hasattr(scene.eevee, "use_motion_blur"):  # EEVEE before 4.2
            scene.eevee.use_motion_blur = True  # type: ignore[union-attr]  # guarded by hasattr above
        done.append("motion blur")
    if engine == "EEVEE" and hasattr(scene.eevee, "use_gtao"):
        scene.eevee.use_gtao = True  # type: ignore[union-attr]  # guarded; 4.2+ EEVEE always computes horizon-scan occlusion
        done.append("ambient occlusion")
    elif engine == "EEVEE":
        done.append("ambient occlusion (built into EEVEE 4.2+)")
    elif engine == "CYCLES":
        scene.cycles.samples = 16  # type: ignore[union-attr]  # scene.cycles is registered by the Cycles add-on
        if not _has_oidn():
            scene.cycles.use_denoising = False  # type: ignore[union-attr]  # e.g. Debian's 3.4.1: rendering would fail outright
            scene.cycles.use_preview_denoising = False  # type: ignore[union-attr]  # scene.cycles is registered by the Cycles add-on
        done.append("ambient occlusion (path traced)")
    else:
        done.append("cavity shading (Workbench's occlusion)")
    if _colour_balance(scene):
        done.append("colour calibration")
    return done


def _has_oidn() -> bool:
    """Whether this Cycles build has OpenImageDenoise (the default denoiser)."""
    try:
        import _cycles
    except ImportError:
        return True
    return bool(getattr(_cycles, "with_openimagedenoise", True))


def _colour_balance(scene: bpy.types.Scene) -> bool:
    """A Color Balance node between the render and the output (5.0: a compositing node group)."""
    if hasattr(scene, "compositing_node_group"):  # 5.0
        tree = bpy.data.node_groups.new("HM colour calibration", "CompositorNodeTree")  # type: ignore[arg-type]  # 5.0 API; stub is 3.4
        scene.compositing_node_group = tree
        src = tree.nodes.new("CompositorNodeRLayers")
        out = tree.nodes.new("NodeGroupOutput")
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")  # type: ignore[attr-defined]  # 4.0+ API; stub is 3.4
    else:
        scene.use_nodes = True
        tree = scene.node_tree  # type: ignore[assignment]  # set once use_nodes is on (before 5.0)
        tree.nodes.clear()
        src = tree.nodes.new("CompositorNodeRLayers")
        out = tree.nodes.new("CompositorNodeComposite")
    bal = tree.nodes.new("CompositorNodeColorBalance")
    for key, value in COLOUR_PROTOTYPE.items():
        if hasattr(bal, key):
            setattr(bal, key, value)
        else:  # 5.0 moved them to inputs
            sock = next((s for s in bal.inputs if s.name.lower() == key and s.type == "RGBA"), None)
            if sock is not None:
                sock.default_value = (*value, 1.0)  # type: ignore[attr-defined]  # on the typed socket subclasses
    tree.links.new(src.outputs["Image"], bal.inputs["Image"])
    tree.links.new(bal.outputs["Image"], out.inputs[0])
    return True


def pelvis_track(scene: bpy.types.Scene, arm: bpy.types.Object, bone: str) -> np.ndarray:
    """(T, 3) world position of ``bone``'s head on every frame of the scene range."""
    out = []
    current = scene.frame_current
    for f in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(f)
        pose = arm.pose
        assert pose is not None  # arm is an armature
        out.append(np.array(arm.matrix_world @ pose.bones[bone].head))  # type: ignore[operator]  # a mathutils.Matrix at runtime
    scene.frame_set(current)
    return np.array(out)


def render_shot(scene: bpy.types.Scene, arm: bpy.types.Object, pelvis_bone: str, out_path: Path,
                engine: str = "WORKBENCH", resolution=(1280, 720)) -> dict:
    """The Render operator and the batch share this: the scene at 25 fps over its frame range, a
    camera that follows the dancer (added when the scene has none), lights, the look, H.264 MP4."""
    frames = scene.frame_end - scene.frame_start + 1
    start = scene.frame_start
    setup_scene(scene, frames, int(config.FPS), resolution, engine)
    scene.frame_start, scene.frame_end = start, start + frames - 1
    added_stage = False
    if scene.camera is None:
        height = max(1.2, float(arm.dimensions.z))  # type: ignore[attr-defined]  # a mathutils.Vector at runtime
        add_stage(scene, scene.collection, pelvis_track(scene, arm, pelvis_bone), height)
        cam = cast(bpy.types.Object, scene.camera)  # add_stage set it (mypy keeps the "is None" narrowing)
        if start != 1 and cam.animation_data and cam.animation_data.action:  # keys were placed from frame 1
            for fc in _fcurves(cam.animation_data.action):
                for kp in fc.keyframe_points:
                    kp.co.x += start - 1
        added_stage = True
    look = apply_look(scene, engine)
    render_mp4(scene, out_path)
    return {"frames": frames, "engine": engine, "resolution": list(resolution), "look": look,
            "added_stage": added_stage, "output": str(out_path)}


def _fcurves(action):
    if hasattr(action, "layers") and len(action.layers):
        return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                for fc in bag.fcurves]
    return list(action.fcurves)


def render_contact_sheet(scene: bpy.types.Scene, out_path: Path, cells: int = 8, columns: int = 4) -> list[int]:
    """Render ``cells`` frames evenly spread over the scene range and tile them, ``columns`` a row,
    into one PNG (written atomically). Returns the frames shown."""
    first, last = scene.frame_start, scene.frame_end
    frames = sorted({int(round(first + (last - first) * (k + 0.5) / cells)) for k in range(cells)})
    rows = -(-len(frames) // columns)
    tiles = []
    with tempfile.TemporaryDirectory(prefix=".hm-sheet-", dir=Path(out_path).parent) as tmp:
        for k, f in enumerate(frames):
            still = render_still(scene, f, Path(tmp) / f"{k:03d}.png")
            img = bpy.data.images.load(str(still))
            try:
                w, h = img.size
                px = np.empty(w * h * 4, dtype=np.float32)
                img.pixels.foreach_get(px)  # type: ignore[attr-defined]  # a bpy_prop_array at runtime; the stub says float
                tiles.append(px.reshape(h, w, 4))
            finally:
                bpy.data.images.remove(img)
    h, w = tiles[0].shape[:2]
    sheet = np.ones((rows * h, columns * w, 4), dtype=np.float32)
    for k, t in enumerate(tiles):  # Blender's pixel rows run bottom-up: the first row goes on top
        r, c = divmod(k, columns)
        sheet[(rows - 1 - r) * h:(rows - r) * h, c * w:(c + 1) * w] = t
    img = bpy.data.images.new("HM contact sheet", columns * w, rows * h, alpha=True)
    try:
        img.pixels.foreach_set(sheet.ravel())  # type: ignore[attr-defined]  # (as above)
        with atomic_path(out_path) as tmp_png:
            img.filepath_raw = str(tmp_png)
            img.file_format = "PNG"
            img.save()
    finally:
        bpy.data.images.remove(img)
    return frames
