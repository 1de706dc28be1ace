"""Add-on preferences: model path override, default rule pack, output folder."""

from __future__ import annotations

from pathlib import Path

import bpy

from .motion_core.rules import pack as rule_pack

# Titles only: validating every pack here would add start-up time; a pack is validated when used.
PACK_ITEMS = [(name, name, title) for name, title in rule_pack.builtin_titles().items()]


# Type check: RNA properties are annotations (`x: bpy.props.FloatProperty(...)`) that Blender reads at
# registration; mypy sees a call in an annotation, hence `# type: ignore[valid-type]` on those lines.
class HM_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    model_path: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Motion model", subtype="FILE_PATH", default="",
        description="A motion model .npz to use instead of the shipped one (leave empty for the shipped model)")
    default_rules: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Default rule pack", items=PACK_ITEMS, default=rule_pack.DEFAULT_PACK,
        description="Rule pack used when the panel says 'Add-on default'")
    output_dir: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Output folder", subtype="DIR_PATH", default="",
        description="Where videos, BVH files and audit records go (empty: a folder in Blender's user directory)")
    classifier_path: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Classifier", subtype="FILE_PATH", default="",
        description="Pattern classifier weights (.npz from python -m training.patterns.train_classifier --data "
                    "FOLDER) to use instead of the shipped kamon model (leave empty for the shipped one)")

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "model_path")
        col.prop(self, "default_rules")
        col.prop(self, "output_dir")
        col.prop(self, "classifier_path")
        col.label(text=f"Output now goes to: {output_dir(context)}")


def prefs(context) -> HM_AddonPreferences | None:
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None


def output_dir(context) -> Path:
    """The chosen output folder, else Blender's user data folder for this add-on (never the add-on's own folder)."""
    p = prefs(context)
    if p is not None and p.output_dir:
        return Path(bpy.path.abspath(p.output_dir))
    if hasattr(bpy.utils, "extension_path_user") and __package__.startswith("bl_ext."):
        return Path(bpy.utils.extension_path_user(__package__, path="renders", create=True))
    return Path(bpy.utils.user_resource("DATAFILES", path="heritage_motion/renders", create=True))


def default_rules(context) -> str:
    p = prefs(context)
    return p.default_rules if p is not None else rule_pack.DEFAULT_PACK


def model_path(context) -> str | None:
    p = prefs(context)
    return bpy.path.abspath(p.model_path) if p is not None and p.model_path else None
