"""Dress a mesh's material slots with pattern materials (bpy glue over motion_core.patterns.costume).

For each chosen part a *new* material is made and put in the slot: the slot's previous material is
kept (with a fake user, so saving the file keeps it) and never edited. The texture is the bank
image recoloured in the part's palette (read and written through ``bpy.data.images``, packed into
the .blend), mapped through UVs and repeated every ``tile_m`` metres:

- a mesh without UVs (the default dancer) gets a UV map "HM Pattern UV" by box projection, scaled
  so that one repeat covers ``tile_m`` of surface (Workbench, EEVEE and Cycles show the same);
- a mesh with UVs keeps them; a Mapping node repeats the texture 4 times per UV unit (EEVEE and
  Cycles; Workbench's texture mode shows one repeat per UV unit).
"""

from __future__ import annotations

import json
from typing import cast

import bpy
import numpy as np

from .motion_core.patterns.colour import ink_share, recolour
from .motion_core.patterns.costume import CostumePlan, PartChoice

UV_NAME = "HM Pattern UV"
PATTERN_KEY = "heritage_motion_pattern"  # custom property on made materials: the part's audit entry
USER_UV_REPEATS = 4.0


def ensure_uv(obj: bpy.types.Object, tile_of_face: np.ndarray | None = None) -> str:
    """The UV map to use: the mesh's active one, or a new box-projected "HM Pattern UV"."""
    me = cast(bpy.types.Mesh, obj.data)  # Object.data is typed as the union of every data kind
    if len(me.uv_layers):
        active = me.uv_layers.active
        assert active is not None  # a mesh with UV layers has an active one
        return active.name
    n_loops, n_polys = len(me.loops), len(me.polygons)
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    normals = np.empty(n_polys * 3, np.float32)
    me.polygons.foreach_get("normal", normals)
    normals = normals.reshape(-1, 3)
    start = np.empty(n_polys, np.int32)
    total = np.empty(n_polys, np.int32)
    me.polygons.foreach_get("loop_start", start)
    me.polygons.foreach_get("loop_total", total)
    vidx = np.empty(n_loops, np.int32)
    me.loops.foreach_get("vertex_index", vidx)
    poly_of_loop = np.repeat(np.arange(n_polys), total)
    axis = np.abs(normals).argmax(1)[poly_of_loop]
    p = co[vidx]
    u = np.where(axis == 0, p[:, 1], p[:, 0])
    v = np.where(axis == 2, p[:, 1], p[:, 2])
    tile = np.ones(n_polys, np.float32) * 0.15 if tile_of_face is None else tile_of_face
    t = tile[poly_of_loop]
    uv = np.stack([u / t, v / t], 1).astype(np.float32)
    layer = me.uv_layers.new(name=UV_NAME)
    layer.data.foreach_set("uv", uv.ravel())
    me.uv_layers.active = layer
    return layer.name


def pattern_image(choice: PartChoice, name: str) -> bpy.types.Image:
    """The bank image recoloured in the part's palette, as a new packed image."""
    src = bpy.data.images.load(str(choice.texture), check_existing=False)
    try:
        w, h = src.size
        if w == 0 or h == 0:
            raise ValueError(f"{choice.texture}: unreadable image")
        px = np.empty(w * h * 4, np.float32)
        src.pixels.foreach_get(px)  # type: ignore[attr-defined]  # a bpy_prop_array at runtime; the stub says float
    finally:
        bpy.data.images.remove(src)
    rgba = recolour(ink_share(px.reshape(h, w, 4)), choice.ground, choice.ink)
    img = bpy.data.images.new(name, w, h, alpha=False)
    img.pixels.foreach_set(rgba.ravel())  # type: ignore[attr-defined]  # (as above)
    img.update()
    try:
        img.pack()
    except RuntimeError:
        pass  # the image still renders in this session; it is lost only if the file is saved and reopened
    return img


def pattern_material(choice: PartChoice, label: str, mapped: bool) -> bpy.types.Material:
    """A new material: UV -> (Mapping) -> Image Texture -> Principled BSDF base colour."""
    name = f"HM Pattern {choice.part.removeprefix('HM ')} ({label})"
    mat = bpy.data.materials.new(name)
    img = pattern_image(choice, name)
    mean = np.asarray(choice.ground) * 0.7 + np.asarray(choice.ink) * 0.3
    mat.diffuse_color = (*[float(c) ** 2.2 for c in mean], 1.0)  # Workbench's material colour (linear)
    if bpy.app.version < (5, 0, 0):
        mat.use_nodes = True
    nt = mat.node_tree
    assert nt is not None  # use_nodes (always on from 5.0) gives the material a node tree
    bsdf = nt.nodes.get("Principled BSDF")
    tex = nt.nodes.new("ShaderNodeTexImage")
    tex.image = img  # type: ignore[attr-defined]  # nodes.new returns the base Node; this one is an image node
    tex.extension = "REPEAT"  # type: ignore[attr-defined]  # (as above)
    coord = nt.nodes.new("ShaderNodeTexCoord")
    if mapped:
        mapping = nt.nodes.new("ShaderNodeMapping")
        mapping.inputs["Scale"].default_value = (USER_UV_REPEATS, USER_UV_REPEATS, 1.0)  # type: ignore[attr-defined]  # default_value is on the typed socket subclasses
        nt.links.new(coord.outputs["UV"], mapping.inputs["Vector"])
        nt.links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
    else:
        nt.links.new(coord.outputs["UV"], tex.inputs["Vector"])
    if bsdf is not None:
        nt.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        bsdf.inputs["Roughness"].default_value = 0.6
    nt.nodes.active = tex  # Workbench's texture mode shows the active image node
    return mat


def dress_mesh(obj: bpy.types.Object, plan: CostumePlan, slots: dict[str, int]) -> list[dict]:
    """Put the plan's parts on ``obj``'s material slots (``slots``: part -> slot index). Returns the
    audit entries, each with the new material's name and the material it replaced."""
    me = cast(bpy.types.Mesh, obj.data)  # Object.data is typed as the union of every data kind
    had_uv = len(me.uv_layers) > 0
    if not had_uv:
        tiles = np.full(len(me.polygons), 0.15, np.float32)
        mi = np.empty(len(me.polygons), np.int32)
        me.polygons.foreach_get("material_index", mi)
        for choice in plan.parts:
            if choice.part in slots:
                tiles[mi == slots[choice.part]] = choice.tile_m
        ensure_uv(obj, tiles)
    out = []
    for choice in plan.parts:
        if choice.part not in slots:
            continue
        slot = obj.material_slots[slots[choice.part]]
        old = slot.material
        # the representative's own charge when its blazon names one; else the prototype's number
        label = choice.provenance["representative"].get("label") or f"crest {choice.prototype}"
        mat = pattern_material(choice, label, mapped=had_uv)
        entry = {**choice.to_json(), "object": obj.name, "slot": slot.name or choice.part, "material": mat.name,
                 "replaced_material": old.name if old else None, "uv": UV_NAME if not had_uv else "existing UV map"}
        mat[PATTERN_KEY] = json.dumps(entry)
        if old is not None:
            old.use_fake_user = True  # the user's material stays in the file, untouched
        slot.material = mat
        out.append(entry)
    return out


def costume_slots(obj: bpy.types.Object, parts: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Slots of ``obj`` whose material (or a material it replaced: a dressed pattern, an animated
    pattern) is named like a costume part."""
    out: dict[str, int] = {}
    for i, slot in enumerate(obj.material_slots):
        name = slot.material.name if slot.material else ""
        for part in parts:
            short = part.removeprefix("HM ")
            animated = "HM Animated Pattern " + short
            if (name == part or name.startswith(part + ".") or name.startswith("HM Pattern " + short + " ")
                    or name == animated or name.startswith(animated + ".")):
                out.setdefault(part, i)
    return out


def dancer_meshes(obj: bpy.types.Object) -> list[bpy.types.Object]:
    """The meshes to dress for ``obj``: itself if a mesh, else the meshes it parents (the dancer's body)."""
    if obj.type == "MESH":
        return [obj]
    return [c for c in obj.children_recursive if c.type == "MESH"] if hasattr(obj, "children_recursive") else \
        [c for c in obj.children if c.type == "MESH"]
