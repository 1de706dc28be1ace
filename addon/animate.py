"""Put a canonical Motion onto an armature as a new action (the one place that does this)."""

from __future__ import annotations

import bpy

from .action_io import key_new_action
from .core import armature_pose, motion, retarget
from .rig_io import rig_from_armature


def apply_motion(obj: bpy.types.Object, mot: motion.Motion, action_name: str,
                 rig: retarget.Rig | None = None, frame_start: int = 1, time_scale: float = 1.0) -> bpy.types.Action:
    """Retarget ``mot`` onto armature ``obj`` and key it into a new action named ``action_name``
    (made unique by Blender). ``time_scale``: scene frames per motion frame (1 at 25 fps; 1.2 keeps the
    speed in a 30 fps scene). Raises NotHumanoidError for a rig that cannot be driven."""
    rig = rig or rig_from_armature(obj)
    rot, trans = retarget.pose_from_motion(mot, rig)
    carrier = retarget.root_carrier(rig)
    quats, locs = armature_pose.bone_keys(rig.skeleton, rot, trans, [carrier])
    return key_new_action(obj, action_name, rig.skeleton.names, quats, locs, [carrier], frame_start, time_scale)
