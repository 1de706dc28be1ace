"""Prompt -> a new action on the user's armature: the one implementation behind the Generate
operator, the headless batch and the command-line entry.

Nothing existing is overwritten: the action is new (Blender makes its name unique), and an action
the armature had before keeps a fake user so it survives saving. The audit record is stored on the
action as JSON text (custom property ``heritage_motion_audit``) and shown by the panel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import bpy

from .animate import apply_motion
from .core import bonemap, config, mdn, pipeline, retarget, rule_pack, text_encoder
from .rig_io import rig_from_armature

AUDIT_KEY = "heritage_motion_audit"


def slug(text: str, limit: int = 48, empty: str = "motion") -> str:
    """A file-name stem from free text: 'A proud bow!' -> 'a-proud-bow'."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:limit] or empty


class Models:
    """Loaded weights, keyed by file, owned by whoever creates it (the add-on keeps one instance
    for the session and drops it on unregister). Loading takes about a second; generation is
    reproducible from (prompt, seed) either way."""

    def __init__(self):
        self._models: dict[str, mdn.MotionModel] = {}
        self._encoder: text_encoder.TextEncoder | None = None

    def clear(self) -> None:
        self._models.clear()
        self._encoder = None

    def model(self, path: str | None = None) -> mdn.MotionModel:
        key = str(path or "")
        if key not in self._models:
            self._models[key] = mdn.load_model(path or None)
        return self._models[key]

    def encoder(self) -> text_encoder.TextEncoder:
        if self._encoder is None:
            self._encoder = text_encoder.load_text_encoder()
        return self._encoder


@dataclass
class Danced:
    action: bpy.types.Action
    audit: dict
    unmapped: list[str]
    previous_action: str | None
    retimed: float  # scene fps / 25 when keys were spaced for a scene at another rate, else 1
    motion: object = None  # the canonical Motion that was keyed (after the rules)


def check_armature(obj) -> retarget.Rig:
    """The rig of ``obj``, or a ValueError saying in the user's terms why it cannot be used."""
    if obj is None:
        raise ValueError("nothing is selected: select an armature (or use Add Dancer)")
    if obj.type != "ARMATURE":
        raise ValueError(f"'{obj.name}' is a {obj.type.lower()}, not an armature: select an armature")
    try:
        return rig_from_armature(obj)
    except bonemap.NotHumanoidError as e:
        raise ValueError(f"'{obj.name}' is not a humanoid rig: {e}") from None


def resolve_pack(choice: str, file: str = "") -> rule_pack.RulePack:
    """A built-in pack name, or 'FILE' with ``file`` (Blender's // paths allowed)."""
    if choice == "FILE":
        if not file:
            raise ValueError("choose a rule-pack file, or pick a built-in pack")
        return rule_pack.load_pack(bpy.path.abspath(file))
    return rule_pack.load_pack(choice or rule_pack.DEFAULT_PACK)


def generate_onto(obj: bpy.types.Object, prompt: str, seconds: float, seed: int, models: Models,
                  mode: str = "canonical", pack: rule_pack.RulePack | None = None, frame_start: int = 1,
                  use_nla: bool = False, set_scene_fps: bool = True, model_path: str | None = None,
                  progress=None, rig: retarget.Rig | None = None) -> Danced:
    """Generate and key a dance on armature ``obj`` as a new action. ``progress(fraction)`` is
    called as stages finish. Raises ValueError (bad input, in the user's terms) or RulePackError."""
    rig = rig or check_armature(obj)
    pack = pack or rule_pack.load_pack(rule_pack.DEFAULT_PACK)
    step = progress or (lambda f: None)
    model = models.model(model_path)
    step(0.2)
    encoder = models.encoder()
    step(0.3)
    res = pipeline.run(prompt, seconds, seed, model, encoder, mode, pack, tpose=rig.canonical_tpose())
    step(0.7)
    scene = bpy.context.scene
    retimed = 1.0
    if set_scene_fps:
        scene.render.fps, scene.render.fps_base = int(config.FPS), 1.0
    else:
        retimed = scene.render.fps / scene.render.fps_base / config.FPS
    ad = obj.animation_data
    previous = ad.action if ad is not None else None
    if previous is not None:
        previous.use_fake_user = True  # never lose the user's action when the new one is assigned
    name = "HM " + " ".join(prompt.split())[:48]
    action = apply_motion(obj, res.motion, name, rig, frame_start, time_scale=retimed)
    res.audit["output"] = {"action": action.name, "armature": obj.name, "frame_start": frame_start,
                           "frames": res.motion.num_frames, "scene_fps": scene.render.fps / scene.render.fps_base}
    action[AUDIT_KEY] = json.dumps(res.audit)
    if use_nla:
        track = obj.animation_data.nla_tracks.new()
        track.name = action.name
        track.strips.new(action.name, frame_start, action)
        obj.animation_data.action = previous  # the new dance lives on its strip; the old action stays active
    last = frame_start + int(round((res.motion.num_frames - 1) * retimed))
    if scene.frame_end < last:
        scene.frame_end = last
    step(1.0)
    return Danced(action, res.audit, rig.bone_map.unmapped, previous.name if previous else None, retimed, res.motion)


def audit_summary(audit: dict) -> list[tuple[str, str]]:
    """(icon, short line) pairs for the panel (the sidebar is about 28 characters wide)."""
    pack = audit["pre"]["rule_pack"]
    after = audit["after"]
    lines = [("FILE", f"{pack['name']} {pack['version']}")]
    if pack["status"] == "illustrative":
        lines.append(("ERROR", "Illustrative: not reviewed"))
    elif pack["status"] == "user-reference":
        lines.append(("INFO", "Prior from your own clips"))
    for rec in audit["during"].get("interceptions", []):
        lines.append(("CANCEL", f"Fired: {rec['rule']}"))
        lines.append(("BLANK1", f"{rec['frames']} frames, {len(rec['runs'])} run(s)"))
        lines.append(("BLANK1", f"Source: {rec['source']}"))
    if not audit["during"].get("interceptions"):
        lines.append(("CHECKMARK", "No taboo fired"))
    proj = audit["during"].get("limit_projections", [])
    if proj:
        lines.append(("CON_ROTLIMIT", f"{len(proj)} joint axes clipped"))
    lines.append(("CHECKMARK", f"Compliant: {after['before']['compliant_share']:.0%} -> "
                                f"{after['after']['compliant_share']:.0%}"))
    if "prior" in after["after"]:
        lines.append(("BLANK1", f"To prior: {after['before']['prior']['mean_angle_to_prior_deg']:.0f} -> "
                                f"{after['after']['prior']['mean_angle_to_prior_deg']:.0f} deg"))
    return lines


def write_audit(action: bpy.types.Action, path: Path) -> Path:
    """Write the audit stored on ``action`` to ``path`` (atomically)."""
    from .core import audit
    audit.write_json_atomic(path, json.loads(action[AUDIT_KEY]))
    return path
