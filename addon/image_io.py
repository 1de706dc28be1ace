"""Images in and out of Blender for the pattern operators (restore, variant, animate, identify).

Source: the image named by the operator's ``image`` property (scripts, ``blender -b``), else the
Image Editor's image, else the image texture of the active object's active material slot. Results
are always new images (unique names, never an existing one overwritten), each carrying what made it
as custom properties (``heritage_motion_provenance``, JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bpy
import numpy as np

from .motion_core.patterns.image_input import CheckedImage, ImageInputError, rgb_image

PROVENANCE_KEY = "heritage_motion_provenance"


def material_slot_image(obj) -> bpy.types.Image | None:
    """The image of the first Image Texture node in ``obj``'s active material (the active node first)."""
    if obj is None or not getattr(obj, "material_slots", None):
        return None
    mat = obj.active_material
    if mat is None or not mat.use_nodes or mat.node_tree is None:
        return None
    nodes = mat.node_tree.nodes
    ordered = [nodes.active, *nodes] if nodes.active is not None else list(nodes)
    for node in ordered:
        if node is not None and node.type == "TEX_IMAGE" and node.image is not None:
            return node.image
    return None


def editor_image(context) -> bpy.types.Image | None:
    space = getattr(context, "space_data", None)
    if space is not None and getattr(space, "type", "") == "IMAGE_EDITOR" and space.image is not None:
        return space.image
    for area in (context.screen.areas if getattr(context, "screen", None) else []):
        if area.type == "IMAGE_EDITOR" and area.spaces.active.image is not None:
            return area.spaces.active.image
    return None


def source_image(context, name: str = "") -> bpy.types.Image:
    """The image the operator works on (see the module doc); raises ImageInputError naming what to do."""
    if name:
        img = bpy.data.images.get(name)
        if img is None:
            raise ImageInputError(f"no image named '{name}' in this file")
        return img
    img = editor_image(context) or material_slot_image(getattr(context, "active_object", None))
    if img is None:
        raise ImageInputError("no image: open one in the Image Editor, select an object whose active "
                              "material has an Image Texture, or give the image's name")
    return img


def read_pixels(img: bpy.types.Image) -> CheckedImage:
    """``img`` as RGB (H, W, 3) float32 in [0, 1], rows top first, checked by ``rgb_image``."""
    if img.type not in ("IMAGE", "UV_TEST") or img.source in ("MOVIE", "SEQUENCE"):
        raise ImageInputError(f"'{img.name}' is a {img.source.lower()} {img.type.lower()}, not a still image")
    w, h = img.size  # reading the size loads the file
    if w == 0 or h == 0:
        raise ImageInputError(f"'{img.name}' has no pixels (its file may be missing: {img.filepath or 'none'})")
    ch = img.channels
    px = np.empty(w * h * ch, np.float32)
    img.pixels.foreach_get(px)  # type: ignore[attr-defined]  # a bpy_prop_array at runtime; the stub says float
    pix = px.reshape(h, w, ch)[::-1]
    # Blender reports 4 channels for most images; a file without alpha has alpha 1 everywhere, which
    # rgb_image leaves alone, and a greyscale file has R = G = B.
    return rgb_image(pix, img.name)


def unique_name(base: str) -> str:
    if base not in bpy.data.images:
        return base
    i = 1
    while f"{base}.{i:03d}" in bpy.data.images:
        i += 1
    return f"{base}.{i:03d}"


def new_image(base: str, rgb: np.ndarray, provenance: dict[str, Any]) -> bpy.types.Image:
    """A new image from ``rgb`` (H, W, 3) float [0, 1], rows top first, never reusing a name;
    ``provenance`` is stored as JSON in the image's custom property ``heritage_motion_provenance``."""
    h, w, _ = rgb.shape
    img = bpy.data.images.new(unique_name(base), w, h, alpha=False)
    rgba = np.ones((h, w, 4), np.float32)
    rgba[:, :, :3] = np.clip(rgb, 0, 1)
    img.pixels.foreach_set(rgba[::-1].ravel())  # type: ignore[attr-defined]  # see read_pixels
    img.update()
    img.pack()  # kept inside the .blend: a generated image is otherwise lost on save
    set_provenance(img, provenance)
    return img


def set_provenance(idblock, provenance: dict[str, Any]) -> None:
    idblock[PROVENANCE_KEY] = json.dumps(provenance, ensure_ascii=False, sort_keys=True)


def provenance_of(idblock) -> dict[str, Any] | None:
    raw = idblock.get(PROVENANCE_KEY) if idblock is not None else None
    return json.loads(raw) if isinstance(raw, str) else None


@contextmanager
def progress(context, steps: int = 100) -> Iterator[Any]:
    """The window manager's progress bar (the cursor counter in the UI; a no-op headless):
    yields ``update(fraction)``."""
    wm = context.window_manager
    wm.progress_begin(0, steps)
    try:
        yield lambda f: wm.progress_update(int(steps * min(max(f, 0.0), 1.0)))
    finally:
        wm.progress_end()


def show_in_editor(context, img: bpy.types.Image) -> bool:
    for area in (context.screen.areas if getattr(context, "screen", None) else []):
        if area.type == "IMAGE_EDITOR":
            area.spaces.active.image = img
            return True
    return False
