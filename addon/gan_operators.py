"""GAN operators (issue #13): bpy.ops.heritage_motion.restore_pattern_image.

Restore Pattern Image runs the restoration generator (motion_core/patterns/restore.py, numpy) on an
image: the one named by ``image`` (scripts, ``blender -b``), else the Image Editor's, else the image
texture of the active object's active material slot (addon/image_io.source_image). The result is a NEW
image "<source> restored" (packed, never overwriting anything), with its provenance in the custom
property ``heritage_motion_provenance``; the source is left as it was. An optional damage mask (an
image of the same size, white where damaged) helps the model; without it the model finds the damage
itself. One undo step. The model was trained on black-ink Edo prints only: on a colour image it warns
(and notes it in the provenance) that colours may be washed out (docs/restoration.md).
"""

from __future__ import annotations

import bpy

from . import image_io
from .motion_core import config
from .motion_core.patterns.image_input import ImageInputError
from .motion_core.patterns.restore import RestoreModelError, colour_warning
from .operators import MODELS

OPERATOR = "heritage_motion.restore_pattern_image"


# Type check: see pattern_operators.py (RNA properties as annotations: `# type: ignore[valid-type]`).
class HM_OT_restore_pattern_image(bpy.types.Operator):
    """Restore a worn pattern image (fading, stains, holes, torn edges) with the restoration GAN into a new image"""

    bl_idname = OPERATOR
    bl_label = "Restore Pattern Image"
    bl_options = {"REGISTER", "UNDO"}

    image: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Image", default="",
        description="Name of the image to restore (empty: the Image Editor's image, else the active material's "
                    "Image Texture)")
    mask: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Damage Mask", default="",
        description="Optional: name of an image of the same size, white where the pattern is damaged")
    only_masked: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Only the Masked Pixels", default=False,
        description="Change only what the mask marks (and 1 px around it) and keep every other pixel, as "
                    "inpainting does: for holes, stains and tears on a print whose tone is fine. Off: the "
                    "network also evens a faded tone. Needs a damage mask")

    def _fail(self, message: str) -> set[str]:
        self.report({"ERROR"}, message)
        return {"CANCELLED"}

    def execute(self, context):
        try:
            src = image_io.source_image(context, self.image)
            w, h = src.size  # before reading pixels: refuse what would take too long
            if w * h > config.RESTORE_MAX_PIXELS:
                return self._fail(f"'{src.name}' is {w}x{h} px; restoration takes at most "
                                  f"{config.RESTORE_MAX_PIXELS // 1_000_000} megapixels (under a minute): scale or "
                                  "crop it first")
            checked = image_io.read_pixels(src)
            mask = None
            if self.mask:
                mimg = bpy.data.images.get(self.mask)
                if mimg is None:
                    return self._fail(f"no mask image named '{self.mask}' in this file")
                mc = image_io.read_pixels(mimg)
                if mc.rgb.shape != checked.rgb.shape:
                    return self._fail(f"mask '{mimg.name}' is {mc.rgb.shape[1]}x{mc.rgb.shape[0]} px, the image "
                                      f"{checked.rgb.shape[1]}x{checked.rgb.shape[0]}: they must match")
                mask = mc.rgb.mean(axis=2) > 0.5
            elif self.only_masked:
                return self._fail("'Only the Masked Pixels' needs a damage mask: give the mask image's name")
            restorer = MODELS.restorer()
        except (ImageInputError, RestoreModelError) as e:
            return self._fail(str(e))
        with image_io.progress(context) as update:
            out = restorer.restore(checked.rgb, mask, progress=update, only_masked=self.only_masked)
        warning = colour_warning(checked.rgb)
        source_prov = image_io.provenance_of(src)
        provenance = {
            "operator": OPERATOR, **restorer.provenance,
            "source_image": src.name, "source_filepath": src.filepath or None,
            "mask_image": self.mask or None, "mask_pixels": int(mask.sum()) if mask is not None else None,
            "only_masked_pixels": bool(self.only_masked),
            "notes": checked.notes + ([warning] if warning else []),
        }
        if source_prov is not None:
            provenance["source_provenance"] = source_prov
            if "licence" in source_prov:
                provenance["source_licence"] = source_prov["licence"]
        new = image_io.new_image(f"{src.name} restored", out, provenance)
        image_io.show_in_editor(context, new)
        note = f" ({'; '.join(checked.notes)})" if checked.notes else ""
        self.report({"INFO"}, f"Restored '{src.name}' into '{new.name}'{note}")
        if warning:
            self.report({"WARNING"}, warning)
        return {"FINISHED"}


def menu_image(self, context) -> None:
    """Image Editor > Image menu entry (also what makes the operator findable in F3 search)."""
    self.layout.separator()
    self.layout.operator(OPERATOR, icon="BRUSH_DATA")


def add_menus() -> None:
    bpy.types.IMAGE_MT_image.append(menu_image)


def remove_menus() -> None:
    bpy.types.IMAGE_MT_image.remove(menu_image)


CLASSES = (HM_OT_restore_pattern_image,)
