"""Write pose keys into a new action, on Blender 3.4 (legacy F-curves) and 4.4+ (layered).

``Action.fcurve_ensure_for_datablock`` exists from 4.4; its ``group_name`` argument only from 5.0, so on
4.4 and 4.5 the F-curve is put into its bone's group through the slot's channel bag (found by the
4.5 LTS test)."""

from __future__ import annotations

import bpy
import numpy as np


def _fcurve(action: bpy.types.Action, obj: bpy.types.Object, path: str, index: int, group: str):
    if hasattr(action, "fcurve_ensure_for_datablock"):  # 4.4+: layers, strips, slots
        params = bpy.types.Action.bl_rna.functions["fcurve_ensure_for_datablock"].parameters  # type: ignore[attr-defined]  # bl_rna is a Struct at runtime; the stub says BlenderRNA
        if "group_name" in params:  # 5.0+
            return action.fcurve_ensure_for_datablock(obj, path, index=index, group_name=group)
        fc = action.fcurve_ensure_for_datablock(obj, path, index=index)  # 4.4, 4.5
        if fc.group is None or fc.group.name != group:
            bag = action.layers[0].strips[0].channelbag(obj.animation_data.action_slot)  # type: ignore[attr-defined,union-attr]  # 4.4+ API, absent from the 3.4 stub
            fc.group = bag.groups.get(group) or bag.groups.new(group)
        return fc
    fc = action.fcurves.find(path, index=index)
    return fc or action.fcurves.new(path, index=index, action_group=group)


def _set_keys(fc, frames: np.ndarray, values: np.ndarray) -> None:
    co = np.empty(2 * len(frames), dtype=np.float32)
    co[0::2], co[1::2] = frames, values
    fc.keyframe_points.add(len(frames))
    fc.keyframe_points.foreach_set("co", co)
    fc.keyframe_points.foreach_set("interpolation", [2] * len(frames))  # 2 = LINEAR
    fc.update()


def key_new_action(obj: bpy.types.Object, name: str, bone_names: list[str], quats: np.ndarray,
                   locations: np.ndarray, moving: list[int], frame_start: int = 1,
                   time_scale: float = 1.0) -> bpy.types.Action:
    """Create a new action (Blender picks a unique name; nothing existing is overwritten),
    assign it to ``obj`` and key every bone's rotation and the ``moving`` bones' location.

    Args:
        quats: (T, J, 4) w, x, y, z per bone (``bone_names`` order).
        locations: (T, J, 3) pose-bone locations.
    """
    action = bpy.data.actions.new(name)
    ad = obj.animation_data or obj.animation_data_create()
    ad.action = action
    frames = np.arange(quats.shape[0], dtype=np.float32) * time_scale + frame_start
    for j, bone in enumerate(bone_names):
        pose = obj.pose
        assert pose is not None  # obj is an armature
        pb = pose.bones[bone]
        pb.rotation_mode = "QUATERNION"
        base = f'pose.bones["{bpy.utils.escape_identifier(bone)}"]'
        for i in range(4):
            _set_keys(_fcurve(action, obj, base + ".rotation_quaternion", i, bone), frames, quats[:, j, i])
        if j in moving:
            for i in range(3):
                _set_keys(_fcurve(action, obj, base + ".location", i, bone), frames, locations[:, j, i])
    return action
