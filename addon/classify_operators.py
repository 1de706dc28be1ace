"""Identify Pattern: bpy.ops.heritage_motion.identify_pattern (issue #14, seed 003).

On the image named by ``image`` (scripts, ``blender -b``), else the Image Editor's image, else the
Image Texture of the active object's active material slot. The numpy classifier
(``motion_core/patterns/classifier.py``; the shipped kamon model, or the Preferences' Classifier
weights) suggests the top three labels with confidences, "unknown" below its calibrated threshold, the
culture, and the nearest prototypes of the shipped visual bank with their source files as evidence.
The result goes into the image's custom property ``heritage_motion_identification`` (JSON) and the
report line; the wording is always "suggested". Bad input: one line, nothing changed.
"""

from __future__ import annotations

import json

import bpy

from . import image_io, preferences
from .motion_core.patterns.classifier import ClassifierError, identify
from .motion_core.patterns.image_input import ImageInputError
from .motion_core.text.encoder import TextEncoderError
from .operators import MODELS

IDENT_KEY = "heritage_motion_identification"


def classifier_path(context) -> str | None:
    p = preferences.prefs(context)
    path = getattr(p, "classifier_path", "") if p is not None else ""
    return bpy.path.abspath(path) if path else None


def last_identification(img) -> dict | None:
    """The stored suggestion of ``img`` (parsed), or None."""
    raw = img.get(IDENT_KEY) if img is not None else None
    try:
        return json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


# Type check: RNA properties are annotations that Blender reads at registration; see pattern_operators.py.
class HM_OT_identify_pattern(bpy.types.Operator):
    """Suggest what pattern an image shows (top three with confidences, or unknown), with the nearest
    prototypes of the pattern bank as evidence; stored on the image as a custom property"""

    bl_idname = "heritage_motion.identify_pattern"
    bl_label = "Identify Pattern"
    bl_options = {"REGISTER", "UNDO"}

    image: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Image", default="",
        description="Name of the image to identify (empty: the Image Editor's, else the active material's)")
    text: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Text", default="",
        description="Optional description (culture, medium, a partial blazon); it sharpens the suggestion")

    def execute(self, context):
        try:
            img = image_io.source_image(context, self.image)
            with image_io.progress(context) as update:
                update(0.05)
                checked = image_io.read_pixels(img)
                update(0.3)
                clf = MODELS.classifier(classifier_path(context))
                update(0.5)
                result = identify(checked.rgb, self.text or None, clf, name=img.name)
                update(0.95)
        except (ImageInputError, ClassifierError, TextEncoderError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        record = result.to_json()
        record["notes"] = list(checked.notes) + list(record.get("notes", []))
        record["image"] = img.name
        record["text"] = self.text
        img[IDENT_KEY] = json.dumps(record, ensure_ascii=False, sort_keys=True)
        ev = result.evidence[0] if result.evidence else None
        tail = f"; nearest prototype: {ev['source_file']} ({ev['licence']})" if ev else ""
        self.report({"INFO"}, f"{img.name}: {result.summary()}{tail}")
        return {"FINISHED"}


CLASSES = (HM_OT_identify_pattern,)
