"""The sidebar panel: View3D > Sidebar (N) > Heritage Motion."""

from __future__ import annotations

import bpy

from .motion_core import config
from .motion_core.rules.audit import AuditRecord
from .stages import audit_of


def audit_summary(audit: AuditRecord) -> list[tuple[str, str]]:
    """(icon, short line) pairs for the panel (the sidebar is about 28 characters wide)."""
    pack = audit.pack
    lines = [("FILE", f"{pack['name']} {pack['version']}")]
    if pack["status"] == "illustrative":
        lines.append(("ERROR", "Illustrative: not reviewed"))
    elif pack["status"] == "user-reference":
        lines.append(("INFO", "Prior from your own clips"))
    for rec in audit.during.interceptions:
        lines.append(("CANCEL", f"Fired: {rec['rule']}"))
        lines.append(("BLANK1", f"{rec['frames']} frames, {len(rec['runs'])} run(s)"))
        lines.append(("BLANK1", f"Source: {rec['source']}"))
    if not audit.during.interceptions:
        lines.append(("CHECKMARK", "No taboo fired"))
    if audit.during.limit_projections:
        lines.append(("CON_ROTLIMIT", f"{len(audit.during.limit_projections)} joint axes clipped"))
    lines.append(("CHECKMARK", f"Compliant: {audit.before.compliant_share:.0%} -> {audit.after.compliant_share:.0%}"))
    if audit.before.prior is not None and audit.after.prior is not None:
        lines.append(("BLANK1", f"To prior: {audit.before.prior['mean_angle_to_prior_deg']:.0f} -> "
                                f"{audit.after.prior['mean_angle_to_prior_deg']:.0f} deg"))
    return lines


class _Base:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Heritage Motion"


class HM_PT_main(_Base, bpy.types.Panel):  # type: ignore[misc]  # _Base's plain str vs the stub's Literal enums
    bl_label = "Heritage Motion"

    def draw(self, context):
        s = context.scene.heritage_motion
        layout = self.layout
        assert layout is not None  # set by Blender while a panel draws
        obj = context.active_object
        row = layout.row()
        if obj is not None and obj.type == "ARMATURE":
            row.label(text=f"Dancer: {obj.name}", icon="ARMATURE_DATA")
        else:
            row.label(text="Select an armature, or:", icon="INFO")
        layout.operator("heritage_motion.add_dancer", icon="OUTLINER_OB_ARMATURE")
        col = layout.column(align=True)
        col.prop(s, "body", slider=True)
        col.prop(s, "age")
        col.prop(s, "height", slider=True)
        col.prop(s, "weight", slider=True)
        col.prop(s, "muscle", slider=True)
        col.prop(s, "standin")
        col = layout.column(align=True)
        col.prop(s, "prompt", text="")
        col.prop(s, "seconds")
        col.prop(s, "seed")
        col.prop(s, "temperature")
        layout.prop(s, "mode", expand=True)
        layout.prop(s, "rules")
        if s.rules == "FILE":
            layout.prop(s, "rules_file", text="")
        layout.prop(s, "use_nla")
        r = context.scene.render
        if abs(r.fps / r.fps_base - config.FPS) > 1e-6:
            layout.label(text=f"Scene is {r.fps / r.fps_base:g} fps; Generate will ask", icon="TIME")
        layout.operator("heritage_motion.generate", icon="PLAY")


class HM_PT_audit(_Base, bpy.types.Panel):  # type: ignore[misc]  # _Base's plain str vs the stub's Literal enums
    bl_label = "Audit"
    bl_parent_id = "HM_PT_main"

    def draw(self, context):
        layout = self.layout
        assert layout is not None  # set by Blender while a panel draws
        audit = audit_of(context.active_object)
        if audit is None:
            layout.label(text="No generated action on the active object")
            return
        col = layout.column(align=True)
        for icon, line in audit_summary(audit):
            col.label(text=line, icon=icon)  # type: ignore[arg-type]  # icon names from audit_summary (str, not the Literal)
        layout.operator("heritage_motion.save_audit", icon="TEXT")


def costume_summary(record: dict) -> list[tuple[str, str]]:
    """(icon, short line) pairs for the Patterns panel."""
    lines = []
    if record.get("dressed") is False:
        return [("INFO", "No costume slots dressed")]
    for p in record.get("parts", []):
        name = p["material"].split("(", 1)[-1].rstrip(")") if "(" in p["material"] else p["part"]
        lines.append(("MATERIAL", f"{p['part'].removeprefix('HM ')}: {name}"))
        top = next(iter(p.get("labels", {}).items()), None)
        lines.append(("BLANK1", f"{p['members']} images" + (f", {top[1]} {top[0]}" if top else "")
                      + f", {p['representative']['source']}"))
    for r in record.get("colour_rules", []):
        lines.append(("ERROR" if r["status"] == "applied" else "CHECKMARK", f"{r['rule']}: {r['status']}"))
    if record.get("colour_rules_note"):
        lines.append(("INFO", "No colour rules in pack"))
    return lines


class HM_PT_patterns(_Base, bpy.types.Panel):  # type: ignore[misc]  # _Base's plain str vs the stub's Literal enums
    bl_label = "Patterns"
    bl_parent_id = "HM_PT_main"

    def draw(self, context):
        from .pattern_operators import costume_of

        s = context.scene.heritage_motion
        layout = self.layout
        assert layout is not None  # set by Blender while a panel draws
        layout.prop(s, "pattern_query", text="", icon="VIEWZOOM")
        row = layout.row(align=True)
        row.operator("heritage_motion.dress_dancer", icon="MATERIAL").slots = "COSTUME"
        obj = context.active_object
        if obj is not None and obj.type == "MESH":
            row.operator("heritage_motion.dress_dancer", text="Active Slot").slots = "ACTIVE"
        record = costume_of(obj)
        if record is not None:
            col = layout.column(align=True)
            for icon, line in costume_summary(record):
                col.label(text=line, icon=icon)  # type: ignore[arg-type]  # icon names from costume_summary (str)
            col.label(text="Captions illustrative", icon="ERROR")
        box = layout.box()
        box.label(text="Library", icon="ASSET_MANAGER")
        box.prop(s, "pattern_bank", text="Bank")
        box.prop(s, "library_folder", text="Folder")
        row = box.row(align=True)
        row.operator("heritage_motion.build_pattern_library", icon="FILE_NEW", text="Build")
        row.operator("heritage_motion.preview_pattern_bank", icon="IMAGE_DATA", text="Preview")
        # Restoration GAN (issue #13): works on the Image Editor's image or the active material's texture
        box = layout.box()
        box.label(text="Restore", icon="BRUSH_DATA")
        box.operator("heritage_motion.restore_pattern_image", icon="IMAGE_DATA", text="Restore Pattern Image")
        box = layout.box()  # the pattern GAN (#13): variants and the coherent animation
        box.label(text="Pattern GAN (64 px, kamon; experimental)", icon="SHADERFX")
        row = box.row(align=True)
        row.operator("heritage_motion.generate_pattern_variant", icon="IMAGE_DATA", text="Variant")
        row = box.row(align=True)
        row.operator("heritage_motion.animate_pattern", icon="SEQUENCE", text="Animate: Motion").driver = "motion"
        row.operator("heritage_motion.animate_pattern", icon="SEQUENCE", text="Animate: Symbols").driver = "symbols"
        draw_identify(layout, context)  # issue #14: Identify Pattern and the last suggestion


def draw_identify(layout, context) -> None:
    """The Identify Pattern block: the button and the stored suggestion of the image it would use
    (the Image Editor's, else the active material's; read from its custom property, no computation)."""
    from .classify_operators import last_identification
    from .image_io import editor_image, material_slot_image

    box = layout.box()
    box.label(text="Identify", icon="VIEWZOOM")
    box.operator("heritage_motion.identify_pattern", icon="ZOOM_SELECTED")
    img = editor_image(context) or material_slot_image(context.active_object)
    rec = last_identification(img)
    if rec and img is not None:
        col = box.column(align=True)
        col.label(text=f"{img.name}: suggested", icon="IMAGE_DATA")
        if rec.get("unknown"):
            col.label(text=f"unknown (below {rec['threshold']:.0%})", icon="QUESTION")
        for t in rec.get("top3", []):
            col.label(text=f"{t.get('name', t['label'])} ({t['confidence']:.0%})", icon="BLANK1")


class HM_PT_render(_Base, bpy.types.Panel):  # type: ignore[misc]  # _Base's plain str vs the stub's Literal enums
    bl_label = "Render"
    bl_parent_id = "HM_PT_main"

    def draw(self, context):
        s = context.scene.heritage_motion
        layout = self.layout
        assert layout is not None  # set by Blender while a panel draws
        layout.prop(s, "engine", expand=True)
        row = layout.row(align=True)
        row.prop(s, "resolution_x")
        row.prop(s, "resolution_y")
        layout.operator("heritage_motion.render", icon="RENDER_ANIMATION")


CLASSES = (HM_PT_main, HM_PT_audit, HM_PT_patterns, HM_PT_render)
