"""Scene setup and MP4 rendering at 25 FPS; shared by the Render operator and headless batch."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import bpy
import numpy as np

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
    scene.render.engine = _engine_id(engine)
    if engine == "WORKBENCH":
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "MATERIAL"
        shading.show_shadows = True
        shading.show_cavity = True  # ambient-occlusion-like cavity shading
    elif engine == "CYCLES":
        scene.cycles.samples = 16
    if scene.world is None:
        scene.world = bpy.data.worlds.new("World")
    scene.world.color = (0.05, 0.05, 0.07)


def add_stage(scene: bpy.types.Scene, collection: bpy.types.Collection, track: np.ndarray,
              height: float) -> bpy.types.Object:
    """Floor, sun and a camera that frames and follows ``track`` ((T, 3) pelvis positions, metres).
    Returns the camera."""
    mesh = bpy.data.meshes.new("HM_floor")
    s = 20.0
    mesh.from_pydata([(-s, -s, 0), (s, -s, 0), (s, s, 0), (-s, s, 0)], [], [(0, 1, 2, 3)])
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
    dist = 2.6 * height + 1.0
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
        os.replace(produced[0], out_path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return out_path


def render_still(scene: bpy.types.Scene, frame: int, out_path: Path) -> Path:
    """Render one frame to a PNG, atomically (used for posters and the README)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    img = scene.render.image_settings
    saved = (img.media_type if hasattr(img, "media_type") else None, img.file_format, scene.render.filepath)
    fd, tmp = tempfile.mkstemp(prefix=".still-", suffix=".png", dir=out_path.parent)
    os.close(fd)
    try:
        if hasattr(img, "media_type"):
            img.media_type = "IMAGE"
        img.file_format = "PNG"
        scene.frame_set(frame)
        scene.render.filepath = tmp
        bpy.ops.render.render(write_still=True, scene=scene.name)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get normal permissions
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if saved[0] is not None:
            img.media_type = saved[0]
        img.file_format = saved[1]
        scene.render.filepath = saved[2]
    return out_path
