"""The default character ("Add Dancer"): MakeHuman's body (MPFB2, CC0 1.0), shaped, on the Rigify
human rig with MPFB2's skin weights, in a costume made from its own surface.

One mesh, skinned with an Armature modifier, with one material slot per part, so pattern textures
bind per part:

    HM Skin, HM Bodice, HM Skirt, HM Sleeves, HM Headdress

The skin material is MPFB2's "enhanced skin" node tree, rebuilt node by node and reduced to what
the running Blender has (no skin image textures ship: the base colour stands in for them). The
shape, rig joints and garments are computed in :mod:`.makehuman` (numpy). ``lightweight=True`` builds a
stand-in instead (the same shaped rig with a capsule mannequin, no costume) for slow machines.
"""

from __future__ import annotations

import json
from typing import cast

import bpy
import numpy as np
from mathutils import Vector

from . import makehuman
from .makehuman import Shape
from .rig_io import add_body_mesh, new_armature, rig_from_armature

PARTS = ("HM Skin", "HM Bodice", "HM Skirt", "HM Sleeves", "HM Headdress")
#: Base colours (linear RGB) until pattern textures are bound: skin, deep red bodice, indigo skirt,
#: gold sleeves and headdress. A neutral product palette, not a cultural rule.
COLOURS = {
    "HM Skin": (0.56, 0.36, 0.25), "HM Bodice": (0.45, 0.05, 0.06), "HM Skirt": (0.06, 0.08, 0.30),
    "HM Sleeves": (0.80, 0.60, 0.20), "HM Headdress": (0.85, 0.65, 0.15),
}
WEIGHT_STEPS = 512  # skin weights are quantised to 1/512 to add vertex groups in batches


def build_armature(body: makehuman.Body, name: str, collection: bpy.types.Collection) -> bpy.types.Object:
    """The Rigify-named armature at the shaped body's joints (MPFB2's bone ends and rolls)."""
    with new_armature(name, collection) as (obj, data):
        ebones: list[bpy.types.EditBone] = []
        for k, bname in enumerate(body.bones):
            eb = data.edit_bones.new(bname)
            eb.head, eb.tail = Vector(body.heads[k]), Vector(body.tails[k])  # type: ignore[assignment]  # the stub's Vector is no Iterable[float]
            eb.roll = float(body.rolls[k])
            if body.parents[k] >= 0:
                eb.parent = ebones[body.parents[k]]
                eb.use_connect = bool(np.allclose(body.heads[k], body.tails[body.parents[k]], atol=1e-6))
            ebones.append(eb)
    return obj


def build_mesh(body: makehuman.Body, garments: list[makehuman.Garment], arm: bpy.types.Object,
               collection: bpy.types.Collection) -> bpy.types.Object:
    """Skin (minus what the garments cover) and garments as one skinned mesh with five slots."""
    covered = np.zeros(len(body.faces), bool)
    for g in garments:
        covered[g.covers] = True
    faces = body.faces[~covered]
    used = np.unique(faces)
    remap = np.full(len(body.verts), -1)
    remap[used] = np.arange(len(used))
    verts = [body.verts[used]]
    quads = [remap[faces]]
    uvs = [body.uv[~covered]]
    weights = [body.weights[used]]
    mats = [np.zeros(len(faces), int)]
    base = len(used)
    for g in garments:
        verts.append(g.verts)
        quads.append(g.faces + base)
        uvs.append(g.uv)
        weights.append(g.weights)
        mats.append(np.full(len(g.faces), PARTS.index(g.part)))
        base += len(g.verts)
    v, f, uv, w, m = (np.concatenate(x) for x in (verts, quads, uvs, weights, mats))

    mesh = bpy.data.meshes.new(arm.name + " body")
    mesh.from_pydata(v.tolist(), [], f.tolist())  # type: ignore[call-arg]  # shade_flat is optional (4.1+); the stub requires it
    mesh.polygons.foreach_set("material_index", m.tolist())
    mesh.polygons.foreach_set("use_smooth", [True] * len(f))
    layer = mesh.uv_layers.new(name="UVMap")
    layer.data.foreach_set("uv", uv.reshape(-1).astype(np.float32))
    mesh.update()
    for part in PARTS:
        mesh.materials.append(skin_material() if part == "HM Skin" else _material(part))
    obj = bpy.data.objects.new(arm.name + " body", mesh)
    collection.objects.link(obj)
    q = np.round(w * WEIGHT_STEPS).astype(int)
    for k, bname in enumerate(body.bones):
        vg = obj.vertex_groups.new(name=bname)
        col = q[:, k]
        for level in np.unique(col[col > 0]):
            vg.add(np.nonzero(col == level)[0].tolist(), float(level) / WEIGHT_STEPS, "REPLACE")
    obj.parent = arm
    mod = cast(bpy.types.ArmatureModifier, obj.modifiers.new("Armature", "ARMATURE"))
    mod.object = arm
    obj["heritage_motion_parts"] = json.dumps({g.part: int(len(g.faces)) for g in garments})
    return obj


def _material(name: str) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    rgb = COLOURS[name]
    mat.diffuse_color = (*rgb, 1.0)  # Workbench
    if bpy.app.version < (5, 0, 0):  # 5.0 materials always have node trees (use_nodes is deprecated)
        mat.use_nodes = True
    nt = mat.node_tree
    bsdf = nt.nodes.get("Principled BSDF") if nt else None
    if bsdf is not None:  # EEVEE / Cycles
        bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.55
    return mat


# MPFB2's node tree names sockets as Blender 4.x does; 3.x names some differently.
_SOCKET_ALIASES = {"Coat Weight": "Clearcoat", "Coat Roughness": "Clearcoat Roughness",
                   "Subsurface Weight": "Subsurface", "Emission Color": "Emission",
                   "Transmission Weight": "Transmission", "Specular IOR Level": "Specular"}
_NODE_ALIASES = {"ShaderNodeCombineRGB": ("ShaderNodeCombineColor",), "ShaderNodeMixRGB": ("ShaderNodeMix",)}


def _socket(sockets, name):
    if isinstance(name, int):
        return sockets[name] if name < len(sockets) else None
    for key in (name, _SOCKET_ALIASES.get(name), {"R": "Red", "G": "Green", "B": "Blue", "Image": "Color"}.get(name)):
        if key and key in sockets:
            return sockets[key]
    return None


def skin_material(name: str = "HM Skin") -> bpy.types.Material:
    """MPFB2's enhanced skin (``assets/enhanced_skin.json``) flattened into one node tree: the group's
    inputs become socket values, image textures (not shipped) are left out and the skin colour takes
    the diffuse texture's place; nodes and sockets the running Blender lacks are mapped or dropped."""
    mat = _material(name)
    spec = json.loads((makehuman.ASSETS / "enhanced_skin.json").read_text(encoding="utf-8"))
    group = next(iter(spec["groups"].values()))
    nt = mat.node_tree
    assert nt is not None  # _material made it with nodes
    for n in list(nt.nodes):
        if n.type != "OUTPUT_MATERIAL":  # type: ignore[comparison-overlap]  # the 3.4 stub types Node.type as "CUSTOM" only
            nt.nodes.remove(n)
    out = next(n for n in nt.nodes if n.type == "OUTPUT_MATERIAL")  # type: ignore[comparison-overlap]  # (as above)
    defaults = {k: v["value"] for k, v in group["inputs"].items() if not isinstance(v.get("value"), str)}
    defaults["Roughness"] = 0.45
    skin_rgb = (*COLOURS[name], 1.0)
    nodes = {}
    for key, n in group["nodes"].items():
        kind = n["type"]
        if kind in ("NodeGroupInput", "NodeGroupOutput", "ShaderNodeTexImage"):
            continue
        for candidate in (kind, *_NODE_ALIASES.get(kind, ())):
            if hasattr(bpy.types, candidate):
                node = nt.nodes.new(candidate)
                break
        else:
            continue
        if node.bl_idname == "ShaderNodeMix":
            node.data_type = "RGBA"  # type: ignore[attr-defined]  # a ShaderNodeMix; nodes.new returns the base Node
        if "operation" in n and hasattr(node, "operation"):
            node.operation = n["operation"]
        if n.get("stops") and hasattr(node, "color_ramp"):
            els = node.color_ramp.elements
            els[0].position, els[-1].position = n["stops"][0], n["stops"][-1]
        if "location" in n:
            node.location = n["location"]
        nodes[key] = node
    for link in group["links"]:
        src, dst = link["from_node"], link["to_node"]
        if dst == "Group Output":
            if src in nodes:
                nt.links.new(_socket(nodes[src].outputs, link["from_socket"]), out.inputs["Surface"])
            continue
        if dst not in nodes:
            continue
        target = _socket(_inputs(nodes[dst]), link["to_socket"])
        if target is None:
            continue
        if src == "Group Input":
            value = defaults.get(link["from_socket"])
            if value is not None:
                _set(target, value)
        elif src in nodes:
            source = _socket(nodes[src].outputs, link["from_socket"])
            if source is not None:
                nt.links.new(source, target)
        elif src == "DiffuseTexture" and link["from_socket"] == "Color":
            _set(target, skin_rgb)
    bsdf = next((n for n in nodes.values() if n.bl_idname == "ShaderNodeBsdfPrincipled"), None)
    if bsdf is not None and not bsdf.inputs["Base Color"].is_linked:
        bsdf.inputs["Base Color"].default_value = skin_rgb  # type: ignore[attr-defined]  # default_value is on the typed socket subclasses
    return mat


def _inputs(node):
    if node.bl_idname == "ShaderNodeMix":  # 3.4+: inputs named A/B/Factor, MixRGB named Color1/Color2/Fac
        ins = node.inputs
        return {"Fac": ins[0], "Color1": ins[6], "Color2": ins[7], **{s.identifier: s for s in ins}}
    return node.inputs


def _set(socket, value):
    try:
        n = len(socket.default_value)
    except TypeError:
        socket.default_value = value if np.ndim(value) == 0 else float(value[0])
        return
    v = list(value) if np.ndim(value) else [value] * n
    socket.default_value = (v + [1.0] * n)[:n]


def add_dancer(collection: bpy.types.Collection, name: str = "HM Dancer", location=(0.0, 0.0, 0.0),
               shape: Shape | None = None, lightweight: bool = False) -> tuple[bpy.types.Object, bpy.types.Object]:
    """Create the dancer (armature + body) in ``collection``; returns (armature, body)."""
    body = makehuman.shaped_body(shape or Shape())
    arm = build_armature(body, name, collection)
    arm.location = location
    arm["heritage_motion_shape"] = json.dumps((shape or Shape()).__dict__)
    if lightweight:
        mesh = add_body_mesh(arm, rig_from_armature(arm), collection)
    else:
        mesh = build_mesh(body, makehuman.costume(body), arm, collection)
    return arm, mesh
