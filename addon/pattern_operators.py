"""Pattern operators: bpy.ops.heritage_motion.{dress_dancer, build_pattern_library, preview_pattern_bank}.

Dress Dancer puts patterns retrieved for the prompt (or the panel's pattern query) on the costume:
the default dancer's costume slots by name, or the active mesh's active (or every) material slot.
New materials only; one undo step. The choice, sources, licences and colour rules go into the audit
record of the armature's generated action when there is one, else onto the object
(``heritage_motion_costume``).
"""

from __future__ import annotations

import json
from pathlib import Path

import bpy
import numpy as np

from . import preferences, stages
from .costume import dancer_meshes
from .motion_core.patterns.costume import SHIPPED_BANK, SHIPPED_DIR, PatternBankError, texture_path
from .motion_core.patterns.encoder import load_encoder
from .motion_core.patterns.library import LibraryError, build_library
from .motion_core.pipeline import Request, make_job, run
from .motion_core.rules import pack as rule_pack
from .motion_core.text.encoder import TextEncoderError
from .operators import MODELS

COSTUME_KEY = "heritage_motion_costume"
PREVIEW = "HM Pattern Bank Preview"


def _bank_path(context) -> Path:
    s = context.scene.heritage_motion
    return Path(bpy.path.abspath(s.pattern_bank)) if s.pattern_bank else SHIPPED_BANK


def blender_reader(path: Path) -> np.ndarray:
    """An image file as (H, W, 4) float [0, 1], read through bpy.data.images (rows top first)."""
    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        w, h = img.size
        if w == 0 or h == 0:
            raise ValueError("Blender cannot read it")
        px = np.empty(w * h * 4, np.float32)
        img.pixels.foreach_get(px)  # type: ignore[attr-defined]  # a bpy_prop_array at runtime; the stub says float
    finally:
        bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[::-1]


# Type check: RNA properties are annotations (`x: bpy.props.FloatProperty(...)`) that Blender reads at
# registration; mypy sees a call in an annotation, hence `# type: ignore[valid-type]` on those lines.
# `cls.poll_message_set(...)` in poll: a classmethod in Blender, an instance method in the 3.4 stub, hence
# `# type: ignore[call-arg,arg-type]` on those lines.
class HM_OT_dress_dancer(bpy.types.Operator):
    """Retrieve patterns for the prompt (or pattern query) and put them on the costume as new materials"""

    bl_idname = "heritage_motion.dress_dancer"
    bl_label = "Dress Dancer"
    bl_options = {"REGISTER", "UNDO"}

    slots: bpy.props.EnumProperty(name="Slots", default="COSTUME", items=[  # type: ignore[valid-type]
        ("COSTUME", "Costume parts", "The dancer's slots named HM Bodice, HM Skirt, HM Sleeves, HM Headdress"),
        ("ACTIVE", "Active slot", "The active mesh's active material slot"),
        ("ALL", "All slots", "Every material slot of the active mesh")])

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        if obj is None or obj.type not in ("ARMATURE", "MESH"):
            cls.poll_message_set("Select the dancer (its armature) or a mesh")  # type: ignore[call-arg,arg-type]
            return False
        if context.mode != "OBJECT" and context.mode != "POSE":
            cls.poll_message_set("Switch to Object mode")  # type: ignore[call-arg,arg-type]
            return False
        return True

    def execute(self, context):
        s = context.scene.heritage_motion
        obj = context.active_object
        choice = s.rules if s.rules != "PREFERENCE" else preferences.default_rules(context)
        slots = None
        if self.slots != "COSTUME":
            if obj.type != "MESH" or not obj.material_slots:
                self.report({"ERROR"}, "Select a mesh with material slots to dress its slots")
                return {"CANCELLED"}
            idx = [obj.active_material_index] if self.slots == "ACTIVE" else range(len(obj.material_slots))
            slots = {(obj.material_slots[i].material.name if obj.material_slots[i].material else f"slot {i}"): i
                     for i in idx}
        try:
            pack = stages.resolve_pack(choice, s.rules_file)
            job = make_job(Request(s.prompt), pack)
            audit = stages.audit_of(obj)
            if audit is not None:
                job.audit = audit
                job.extra["action"] = obj.animation_data.action
            bank_path = _bank_path(context)
            run(job, [stages.DressCostume(obj, MODELS.encoder(), MODELS.bank(bank_path), bank_path, s.pattern_query,
                                          slots)])
        except (ValueError, rule_pack.RulePackError, OSError, TextEncoderError, PatternBankError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        record = job.extra["costume"]
        if job.audit is None:
            obj[COSTUME_KEY] = json.dumps(record)
        parts = ", ".join(f"{p['slot']}: {p['material']}" for p in record["parts"])
        self.report({"INFO"}, f"Dressed {len(record['parts'])} slot(s) ({parts}); previous materials kept")
        applied = [r for r in record["colour_rules"] if r["status"] == "applied"]
        if applied:
            self.report({"WARNING"}, "Colour rules applied (illustrative, not reviewed): "
                        + "; ".join(f"{r['rule']}: {r['action']}" for r in applied))
        return {"FINISHED"}


class HM_OT_build_pattern_library(bpy.types.Operator):
    """Build a pattern bank from a folder of your images and its captions.jsonl"""

    bl_idname = "heritage_motion.build_pattern_library"
    bl_label = "Build Pattern Library"

    def execute(self, context):
        s = context.scene.heritage_motion
        if not s.library_folder:
            self.report({"ERROR"}, "Choose the library folder (images and captions.jsonl)")
            return {"CANCELLED"}
        folder = Path(bpy.path.abspath(s.library_folder))
        out = folder / "heritage_motion_bank.npz"
        wm = context.window_manager
        wm.progress_begin(0, 100)
        try:
            bank = build_library(folder, out, load_encoder(SHIPPED_DIR / "pattern_encoder.npz"), MODELS.encoder(),
                                 reader=blender_reader, progress=lambda f, _m: wm.progress_update(int(100 * f)))
        except (LibraryError, OSError, TextEncoderError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        finally:
            wm.progress_end()
        s.pattern_bank = str(out)
        self.report({"INFO"}, f"Library {out}: {len(bank.items)} images, {len(bank.prototypes)} prototypes; now in use")
        return {"FINISHED"}


def preview_image(bank_path: Path, tile: int = 64, cols: int = 16) -> bpy.types.Image:
    """A grid of the bank's prototype textures (its representative images), as one image."""
    bank = MODELS.bank(bank_path)
    n = len(bank.prototypes)
    rows = (n + cols - 1) // cols
    grid = np.ones((rows * tile, cols * tile, 4), np.float32)
    from .motion_core.patterns.library import to_square
    for j in range(n):
        try:
            sq = to_square(blender_reader(texture_path(bank, bank_path, int(bank.medoid[j]))), tile)
        except (ValueError, RuntimeError, OSError):
            continue
        r, c = divmod(j, cols)
        grid[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile, :3] = sq / 255.0
    img = bpy.data.images.get(PREVIEW) or bpy.data.images.new(PREVIEW, cols * tile, rows * tile, alpha=False)
    if tuple(img.size) != (cols * tile, rows * tile):
        img.scale(cols * tile, rows * tile)
    img.pixels.foreach_set(grid[::-1].ravel())  # type: ignore[attr-defined]  # rows start at the bottom; pixels: see above
    img.update()
    return img


class HM_OT_preview_pattern_bank(bpy.types.Operator):
    """Show the pattern bank's prototypes as a grid image (in an Image Editor, if one is open)"""

    bl_idname = "heritage_motion.preview_pattern_bank"
    bl_label = "Preview Prototypes"

    def execute(self, context):
        try:
            img = preview_image(_bank_path(context))
        except (PatternBankError, OSError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        shown = False
        for area in (context.screen.areas if context.screen else []):
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = img
                shown = True
                break
        self.report({"INFO"}, f"'{img.name}': prototypes left to right, top to bottom"
                    + ("" if shown else "; open an Image Editor to see it"))
        return {"FINISHED"}


def costume_of(obj) -> dict | None:
    """The costume record of ``obj``: from its generated action's audit, else from the object."""
    audit = stages.audit_of(obj)
    if audit is not None and audit.costume is not None:
        return audit.costume
    for o in [obj, *(dancer_meshes(obj) if obj is not None else [])]:
        if o is not None and COSTUME_KEY in o:
            try:
                return json.loads(o[COSTUME_KEY])
            except (TypeError, ValueError):
                return None
    return None


CLASSES = (HM_OT_dress_dancer, HM_OT_build_pattern_library, HM_OT_preview_pattern_bank)
