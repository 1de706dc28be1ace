"""Armatures <-> motion_core rigs, and a simple skinned body for preview renders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import bpy
import numpy as np
from mathutils import Vector

from .motion_core.rigs import armature_pose, axes, bonemap, retarget
from .motion_core.rigs import hierarchy as skeleton


def rig_from_armature(obj: bpy.types.Object, override: dict | None = None) -> retarget.Rig:
    """A Rig for an armature object: armature space, Z up, unit from the object's scale.

    Raises NotHumanoidError (naming the missing canonical joints) for a non-humanoid armature.
    """
    bones = list(cast(bpy.types.Armature, obj.data).bones)  # Object.data: the union of every data kind
    order = _parents_first(bones)
    names = [bones[i].name for i in order]
    index = {n: k for k, n in enumerate(names)}
    parents = [index[bones[i].parent.name] if bones[i].parent else -1 for i in order]  # type: ignore[union-attr]  # guarded by `if bones[i].parent`
    mats = np.array([[list(row) for row in bones[i].matrix_local] for i in order])
    lengths = np.array([bones[i].length for i in order])
    sk = armature_pose.skeleton_from_bones(names, parents, mats, lengths)
    scale = float(np.mean(list(obj.matrix_world.to_scale())))  # type: ignore[union-attr]  # a mathutils.Matrix at runtime
    return retarget.make_rig(sk, obj.name, axes.AxisConvention("Z", scale), override)


def _parents_first(bones) -> list[int]:
    """Bone indices with every parent before its children (iterative: any chain depth)."""
    pos = {b.name: i for i, b in enumerate(bones)}
    out: list[int] = []
    seen: set[str] = set()
    for b in bones:
        chain = []
        while b is not None and b.name not in seen:
            chain.append(b)
            b = b.parent
        for c in reversed(chain):
            seen.add(c.name)
            out.append(pos[c.name])
    return out


def armature_from_rig(rig: retarget.Rig, name: str, collection: bpy.types.Collection) -> bpy.types.Object:
    """Create an armature object whose bones sit at ``rig``'s rest joints (canonical frame, metres).

    Each bone points at its first child (or End Site); leaves keep their parent's direction.
    """
    sk: skeleton.Skeleton = rig.skeleton
    offsets = rig.canonical_offsets()
    rest_g = np.empty((sk.num_joints, 3, 3))
    heads = np.zeros((sk.num_joints, 3))
    rest = rig.canonical_rest()
    for j, p in enumerate(sk.parents):
        rest_g[j] = rest[j] if p < 0 else rest_g[p] @ rest[j]
        heads[j] = offsets[j] if p < 0 else heads[p] + rest_g[p] @ offsets[j]
    a = rig.axes.matrix
    ends = {j: rest_g[j] @ (a @ off * rig.axes.unit_m) for j, off in sk.end_sites}
    with new_armature(name, collection) as (obj, data):
        ebones: list[bpy.types.EditBone] = []
        for j in range(sk.num_joints):
            eb = data.edit_bones.new(sk.names[j])
            kids = sk.children(j)
            if kids:
                vec = np.mean([heads[k] - heads[j] for k in kids[:1]], axis=0)
            elif j in ends:
                vec = ends[j]
            else:
                vec = heads[j] - heads[sk.parents[j]] if sk.parents[j] >= 0 else np.array([0, 0, 0.1])
            length = np.linalg.norm(vec)
            if length < 0.02:  # zero-length joints (e.g. CMU LowerBack) still need a bone
                vec = np.array([0.0, 0.0, 0.03]) if length < 1e-9 else vec / length * 0.03
            eb.head = Vector(heads[j])  # type: ignore[assignment]  # the stub's Vector is no Iterable[float]
            eb.tail = Vector(heads[j] + vec)  # type: ignore[assignment]  # (as above)
            if sk.parents[j] >= 0:
                eb.parent = ebones[sk.parents[j]]
            ebones.append(eb)
    return obj


@contextmanager
def new_armature(name: str, collection: bpy.types.Collection) -> Iterator[tuple[bpy.types.Object, bpy.types.Armature]]:
    """A new armature object in ``collection``, in edit mode for the ``with`` block (add its edit bones
    there); afterwards back in object mode with the previous active object, its pose bones in quaternions."""
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    collection.objects.link(obj)
    view_layer = bpy.context.view_layer
    assert view_layer is not None  # Blender always has one (also in background mode)
    prev_active = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        yield obj, data
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = prev_active
    pose = obj.pose
    assert pose is not None  # an armature object has a pose
    for pb in pose.bones:
        pb.rotation_mode = "QUATERNION"


# Body radii in metres per canonical joint's bone (from the joint towards its child).
_RADII = {
    "pelvis": (0.13, 0.12), "spine": (0.12, 0.13), "chest": (0.14, 0.11), "neck": (0.05, 0.05),
    "head": (0.09, 0.08), "clavicle": (0.05, 0.05), "upper_arm": (0.05, 0.04), "forearm": (0.04, 0.03),
    "hand": (0.03, 0.025), "thigh": (0.08, 0.055), "shin": (0.055, 0.04), "foot": (0.04, 0.035),
    "toe": (0.03, 0.02),
}


def add_body_mesh(arm: bpy.types.Object, rig: retarget.Rig, collection: bpy.types.Collection) -> bpy.types.Object:
    """A mannequin: one tapered capsule per mapped bone, skinned 1:1 to it (armature modifier)."""
    verts: list = []
    faces: list = []
    groups: list = []
    canon_of = {v: k for k, v in rig.bone_map.mapping.items()}
    for bone in cast(bpy.types.Armature, arm.data).bones:  # Object.data: the union of every data kind
        c = canon_of.get(bone.name)
        if c is None:
            # Unmapped links of the spine (Rigify spine.002, CMU Neck1) take their mapped parent's
            # size, so the torso has no gaps; side bones (breast.L, fingers) are left out.
            parent = canon_of.get(bone.parent.name) if bone.parent else None
            if parent not in ("spine", "chest", "neck") or bonemap.split_side(bone.name)[0] is not None:
                continue
            c = parent
        r0, r1 = _RADII[c.removeprefix("l_").removeprefix("r_")]
        head, tail = np.array(bone.head_local), np.array(bone.tail_local)
        if c == "head":
            tail = head + (tail - head) / max(np.linalg.norm(tail - head), 1e-6) * 0.22
        if c in ("hand", "l_hand", "r_hand") or c.endswith("hand"):
            tail = head + (tail - head) / max(np.linalg.norm(tail - head), 1e-6) * 0.15
        v, f = _capsule(head, tail, r0, r1, base=len(verts))
        groups.append((bone.name, range(len(verts), len(verts) + len(v))))
        verts.extend(v)
        faces.extend(f)
    mesh = bpy.data.meshes.new(arm.name + "_body")
    mesh.from_pydata([tuple(v) for v in verts], [], faces)  # type: ignore[call-arg]  # shade_flat is optional (4.1+); the stub requires it
    for poly in mesh.polygons:
        poly.use_smooth = True
    obj = bpy.data.objects.new(arm.name + "_body", mesh)
    collection.objects.link(obj)
    for name, idx in groups:
        obj.vertex_groups.new(name=name).add(list(idx), 1.0, "REPLACE")
    obj.parent = arm
    mod = cast(bpy.types.ArmatureModifier, obj.modifiers.new("Armature", "ARMATURE"))
    mod.object = arm
    mat = bpy.data.materials.new(arm.name + "_skin")
    mat.diffuse_color = (0.75, 0.55, 0.35, 1.0)
    mesh.materials.append(mat)
    return obj


def _capsule(head, tail, r0, r1, base, seg=12, rings=6):
    axis = tail - head
    length = np.linalg.norm(axis)
    z = axis / max(length, 1e-9)
    x = np.cross(z, [0, 0, 1] if abs(z[2]) < 0.9 else [1, 0, 0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    verts = []
    ts = np.linspace(0, 1, rings)
    for t in ts:
        # ellipsoidal ends: radius shrinks towards both tips
        r = (r0 * (1 - t) + r1 * t) * np.sqrt(max(0.0, 1 - (2 * t - 1) ** 8))
        for k in range(seg):
            a = 2 * np.pi * k / seg
            verts.append(head + axis * t + r * (np.cos(a) * x + np.sin(a) * y))
    faces = []
    for i in range(rings - 1):
        for k in range(seg):
            a, b = base + i * seg + k, base + i * seg + (k + 1) % seg
            faces.append((a, b, b + seg, a + seg))
    faces.append(tuple(base + k for k in reversed(range(seg))))
    faces.append(tuple(base + (rings - 1) * seg + k for k in range(seg)))
    return verts, faces


__all__ = ["rig_from_armature", "armature_from_rig", "add_body_mesh"]
