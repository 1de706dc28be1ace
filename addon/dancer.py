"""The default character ("Add Dancer"): a Rigify-named armature with a skinned body and costume.

One mesh, skinned with an Armature modifier, with one material slot per part, so the pattern
textures of later stages can be bound per part:

    HM Skin, HM Bodice, HM Skirt, HM Sleeves, HM Headdress

The body is tapered capsules per bone; the skirt is a flared cone from the waist to below the
knees whose lower rings follow the thighs; the sleeves flare from the elbow past the wrist; the
headdress is a crown ring with a fan of plumes. Geometry is procedural (no asset files).
"""

from __future__ import annotations

import bpy
import numpy as np

from .motion_core.rigs import builtin as builtin_rigs
from .motion_core.rigs import retarget
from .rig_io import armature_from_rig, rig_from_armature

PARTS = ("HM Skin", "HM Bodice", "HM Skirt", "HM Sleeves", "HM Headdress")
#: Base colours (linear RGB) until pattern textures are bound: warm skin, deep red bodice,
#: indigo skirt, gold sleeves and headdress. A neutral product palette, not a cultural rule.
COLOURS = {
    "HM Skin": (0.62, 0.42, 0.30), "HM Bodice": (0.45, 0.05, 0.06), "HM Skirt": (0.06, 0.08, 0.30),
    "HM Sleeves": (0.80, 0.60, 0.20), "HM Headdress": (0.85, 0.65, 0.15),
}

class _Builder:
    def __init__(self):
        self.verts: list[np.ndarray] = []
        self.faces: list[tuple[int, ...]] = []
        self.face_mat: list[int] = []
        self.weights: dict[str, dict[int, float]] = {}

    def add(self, verts, faces, part: str, weights: list[dict[str, float]] | dict[str, float]):
        base = len(self.verts)
        self.verts.extend(verts)
        self.faces.extend(tuple(base + i for i in f) for f in faces)
        self.face_mat.extend([PARTS.index(part)] * len(faces))
        for k in range(len(verts)):
            w = weights[k] if isinstance(weights, list) else weights
            for bone, value in w.items():
                if value > 1e-4:
                    self.weights.setdefault(bone, {})[base + k] = value


def _local_faces(faces, base):
    return [tuple(i - base for i in f) for f in faces]


def _ring_frame(axis):
    z = axis / max(np.linalg.norm(axis), 1e-9)
    x = np.cross(z, [0, 0, 1] if abs(z[2]) < 0.9 else [1, 0, 0])
    x /= np.linalg.norm(x)
    return x, np.cross(z, x)


def _tube(points, radii, seg=16, cap_start=True, cap_end=True):
    """Open or capped tube through ``points`` (N, 3) with ``radii`` (N,)."""
    points = np.asarray(points, dtype=float)
    x, y = _ring_frame(points[-1] - points[0])
    verts = []
    for p, r in zip(points, radii, strict=True):
        for k in range(seg):
            a = 2 * np.pi * k / seg
            verts.append(p + r * (np.cos(a) * x + np.sin(a) * y))
    faces = []
    for i in range(len(points) - 1):
        for k in range(seg):
            a, b = i * seg + k, i * seg + (k + 1) % seg
            faces.append((a, b, b + seg, a + seg))
    if cap_start:
        faces.append(tuple(reversed(range(seg))))
    if cap_end:
        faces.append(tuple((len(points) - 1) * seg + k for k in range(seg)))
    return verts, faces


def _chain(points, radii, bones, rings_per_segment=6, seg=20, flatten=1.0, caps=(True, True)):
    """A smooth tube through joint ``points`` (N, 3) with ``radii`` (N,); segment i is skinned to
    ``bones[i]``, blended with its neighbours over the quarter-segment around each joint.
    ``flatten`` scales the cross-section's second axis (a torso is deeper than it is wide... or not)."""
    points = np.asarray(points, dtype=float)
    centres, rads, weights = [], [], []
    n = len(points) - 1
    for i in range(n):
        last = i == n - 1
        for t in np.linspace(0, 1, rings_per_segment + (1 if last else 0), endpoint=last):
            centres.append(points[i] + t * (points[i + 1] - points[i]))
            rads.append(radii[i] + t * (radii[i + 1] - radii[i]))
            w = {bones[i]: 1.0}
            if t < 0.25 and i > 0 and bones[i - 1] != bones[i]:
                a = 0.5 + 2 * t
                w = {bones[i]: a, bones[i - 1]: 1 - a}
            elif t > 0.75 and not last and bones[i + 1] != bones[i]:
                a = 0.5 + 2 * (1 - t)
                w = {bones[i]: a, bones[i + 1]: 1 - a}
            weights.append(w)
    # parallel-transported ring frames, so the tube does not twist at bends
    d0 = points[1] - points[0]
    x, _ = _ring_frame(d0)
    if abs(x[0]) < 0.5 and abs(d0[2]) > 0.5 * np.linalg.norm(d0):  # vertical chains: x across the body
        x = np.array([1.0, 0, 0])
    verts, vw = [], []
    for k, c in enumerate(centres):
        d = centres[min(k + 1, len(centres) - 1)] - centres[max(k - 1, 0)]
        d /= max(np.linalg.norm(d), 1e-9)
        x = x - d * (x @ d)
        x /= max(np.linalg.norm(x), 1e-9)
        y = np.cross(d, x)
        for j in range(seg):
            a = 2 * np.pi * j / seg
            verts.append(c + rads[k] * (np.cos(a) * x + flatten * np.sin(a) * y))
            vw.append(weights[k])
    faces = []
    for k in range(len(centres) - 1):
        for j in range(seg):
            a, b = k * seg + j, k * seg + (j + 1) % seg
            faces.append((a, b, b + seg, a + seg))
    if caps[0]:
        faces.append(tuple(reversed(range(seg))))
    if caps[1]:
        faces.append(tuple((len(centres) - 1) * seg + j for j in range(seg)))
    return verts, faces, vw


def _unit(v):
    return v / max(np.linalg.norm(v), 1e-9)


def build_body(arm: bpy.types.Object, rig: retarget.Rig, collection: bpy.types.Collection) -> bpy.types.Object:
    """The dancer's skinned mesh on armature ``arm`` (see the module doc)."""
    bone = rig.bone_map.mapping  # canonical -> armature bone name
    heads = {c: np.array(arm.data.bones[b].head_local) for c, b in bone.items()}
    tails = {c: np.array(arm.data.bones[b].tail_local) for c, b in bone.items()}
    up = np.array([0, 0, 1.0])
    b = _Builder()

    # Torso (the bodice): hips to the base of the neck, elliptical.
    pel, spi, che, nec = heads["pelvis"], heads["spine"], heads["chest"], heads["neck"]
    pts = [pel - 0.07 * up, pel, spi, 0.5 * (spi + che), che, nec - 0.08 * up, nec - 0.03 * up]
    v, f, w = _chain(pts, [0.12, 0.155, 0.13, 0.12, 0.155, 0.15, 0.07],
                     [bone["pelvis"], bone["pelvis"], bone["spine"], bone["spine"], bone["chest"], bone["chest"]],
                     flatten=0.72)
    b.add(v, f, "HM Bodice", w)
    # Neck and head.
    hd = heads["head"]
    v, f, w = _chain([nec - 0.07 * up, hd + 0.02 * up], [0.058, 0.052], [bone["neck"]], caps=(False, False))
    b.add(v, f, "HM Skin", w)
    centre = hd + 0.1 * up
    us = np.linspace(-1, 1, 11)
    v, f, w = _chain([centre + 0.125 * u * up for u in us], [0.1 * np.sqrt(max(1 - u * u, 0.02)) for u in us],
                     [bone["head"]] * 10, flatten=1.08)
    b.add(v, f, "HM Skin", w)
    for s in ("l_", "r_"):
        # Arm: shoulder to fingertips.
        hand_dir = _unit(tails[s + "hand"] - heads[s + "hand"])
        tip = heads[s + "hand"] + 0.17 * hand_dir
        pts = [heads[s + "clavicle"] + 0.02 * up, heads[s + "upper_arm"], heads[s + "forearm"], heads[s + "hand"], tip]
        v, f, w = _chain(pts, [0.06, 0.055, 0.042, 0.032, 0.014],
                         [bone[s + n] for n in ("clavicle", "upper_arm", "forearm", "hand")])
        b.add(v, f, "HM Skin", w)
        # Leg: hip to ankle, then the foot.
        pts = [heads[s + "thigh"] + 0.03 * up, heads[s + "shin"], heads[s + "foot"]]
        v, f, w = _chain(pts, [0.09, 0.06, 0.045], [bone[s + "thigh"], bone[s + "shin"]])
        b.add(v, f, "HM Skin", w)
        toe_tip = heads[s + "toe"] + 0.06 * _unit(tails[s + "toe"] - heads[s + "toe"])
        v, f, w = _chain([heads[s + "foot"] + 0.03 * up, heads[s + "toe"], toe_tip], [0.042, 0.036, 0.016],
                         [bone[s + "foot"], bone[s + "toe"]], flatten=0.6)
        b.add(v, f, "HM Skin", w)

    # Skirt: waist to below the knees; lower rings follow each thigh by side.
    waist = heads["spine"] + np.array([0, 0, 0.02])
    knee_z = 0.5 * (heads["l_shin"][2] + heads["r_shin"][2])
    hem_z = knee_z - 0.12
    rings = np.linspace(0, 1, 9)
    seg = 32
    pts = [waist + np.array([0, 0, (hem_z - waist[2]) * t]) for t in rings]
    radii = 0.16 + 0.26 * rings ** 1.3
    v, f = _tube(pts, radii, seg=seg, cap_start=False, cap_end=False)
    weights = []
    for i, _t in enumerate(rings):
        for k in range(seg):
            p = v[i * seg + k]
            side = np.clip((p[0] - waist[0]) / 0.15, -1, 1)  # +1 left (+X), -1 right
            follow = min(1.0, rings[i] * 1.2)
            wl, wr = follow * max(side, 0), follow * max(-side, 0)
            weights.append({bone["pelvis"]: 1 - wl - wr, bone["l_thigh"]: wl, bone["r_thigh"]: wr})
    b.add(v, f, "HM Skirt", weights)

    # Sleeves: flare from the elbow to past the wrist.
    for s in ("l_", "r_"):
        el, wr = heads[s + "forearm"], heads[s + "hand"]
        axis = wr - el
        pts = [el + axis * t for t in (0.0, 0.5, 1.0, 1.25)]
        v, f = _tube(pts, [0.05, 0.065, 0.1, 0.13], seg=16, cap_start=False, cap_end=False)
        w = [{bone[s + "forearm"]: 1.0}] * 16 * 3 + [{bone[s + "forearm"]: 0.5, bone[s + "hand"]: 0.5}] * 16
        b.add(v, f, "HM Sleeves", w)

    # Headdress: a crown ring and a fan of seven plumes.
    head = heads["head"]
    crown = head + np.array([0, 0, 0.15])
    v, f = _tube([crown, crown + [0, 0, 0.05]], [0.1, 0.11], seg=24, cap_start=False, cap_end=False)
    b.add(v, f, "HM Headdress", {bone["head"]: 1.0})
    for i, ang in enumerate(np.linspace(-0.9, 0.9, 7)):
        base = crown + np.array([0.09 * np.sin(ang), 0.03, 0.05])
        up = np.array([np.sin(ang), 0.15, np.cos(ang)])
        up /= np.linalg.norm(up)
        length = 0.22 + 0.06 * (1 - abs(i - 3) / 3)
        side = np.cross(up, [0, 1, 0])
        side /= np.linalg.norm(side)
        quad = [base - 0.012 * side, base + 0.012 * side, base + up * length + 0.03 * side,
                base + up * length - 0.03 * side]
        b.add(quad, [(0, 1, 2, 3)], "HM Headdress", {bone["head"]: 1.0})

    mesh = bpy.data.meshes.new(arm.name + " body")
    mesh.from_pydata([tuple(v) for v in b.verts], [], b.faces)
    mesh.polygons.foreach_set("material_index", b.face_mat)
    mesh.polygons.foreach_set("use_smooth", [True] * len(b.faces))
    for part in PARTS:
        mesh.materials.append(_material(part))
    obj = bpy.data.objects.new(arm.name + " body", mesh)
    collection.objects.link(obj)
    for name, w in b.weights.items():
        vg = obj.vertex_groups.new(name=name)
        for idx, value in w.items():
            vg.add([idx], value, "REPLACE")
    obj.parent = arm
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
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


def add_dancer(collection: bpy.types.Collection, name: str = "HM Dancer",
               location=(0.0, 0.0, 0.0)) -> tuple[bpy.types.Object, bpy.types.Object]:
    """Create the dancer (armature + body) in ``collection``; returns (armature, body)."""
    rig, _ = builtin_rigs.builtin_rig("rigify")
    arm = armature_from_rig(rig, name, collection)
    arm.location = location
    body = build_body(arm, rig_from_armature(arm), collection)
    return arm, body
