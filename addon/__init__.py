"""Heritage Motion Blender add-on: thin bpy glue over motion_core.

Works as a legacy add-on (``bl_info``, Blender 3.4+) and as a 4.2+ extension
(``blender_manifest.toml`` written by build_addon.py).
"""

bl_info = {
    "name": "Heritage Motion",
    "author": "Heritage Motion",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "View3D > Sidebar > Heritage Motion",
    "description": "Retarget and (soon) generate culturally constrained dance on your armature",
    "category": "Animation",
}


def register() -> None:
    pass


def unregister() -> None:
    pass
