"""The Blender stages of the pipeline (:mod:`motion_core.pipeline`): key the motion on the user's
armature as a new action, dress the costume with patterns, render the video and the poster. Used by
the Generate, Dress Dancer and Render operators and the headless batch alike.

Nothing existing is overwritten: the action is new (Blender makes its name unique), and an action
the armature had before keeps a fake user so it survives saving. The audit record is stored on the
action as JSON text (custom property ``heritage_motion_audit``) and shown by the panel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy

from . import costume, symbols
from .action_io import key_new_action
from .motion_core import config
from .motion_core.files import write_json_atomic
from .motion_core.models.generate import MotionGenerator
from .motion_core.models.registry import load_model
from .motion_core.patterns import costume as plan
from .motion_core.patterns.bank import PatternBank
from .motion_core.patterns.classifier import SHIPPED_CLASSIFIER, PatternClassifier, load_classifier
from .motion_core.patterns.colour import DRESSED_PARTS
from .motion_core.patterns.encoder import PatternEncoder, load_encoder
from .motion_core.patterns.restore import Restorer, load_restorer
from .motion_core.patterns.variants import PatternGAN, load_gan
from .motion_core.pipeline import Job
from .motion_core.rigs import armature_pose, bonemap, retarget
from .motion_core.rules import pack as rule_pack
from .motion_core.rules.audit import AuditRecord
from .motion_core.skeleton.motion import Motion
from .motion_core.text.encoder import TextEncoder, load_text_encoder
from .render import render_contact_sheet, render_shot, render_still
from .rig_io import rig_from_armature

AUDIT_KEY = "heritage_motion_audit"


def slug(text: str, limit: int = 48, empty: str = "motion") -> str:
    """A file-name stem from free text: 'A proud bow!' -> 'a-proud-bow'."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:limit] or empty


def action_name(prompt: str) -> str:
    """The name of a generated action: 'HM ' and the prompt (Blender makes it unique)."""
    return "HM " + " ".join(prompt.split())[:48]


class Models:
    """Loaded weights, keyed by file, owned by whoever creates it (the add-on keeps one instance
    for the session and drops it on unregister). Loading takes about a second; generation is
    reproducible from (prompt, seed) either way."""

    def __init__(self) -> None:
        self._models: dict[str, MotionGenerator] = {}
        self._encoder: TextEncoder | None = None
        self._banks: dict[str, PatternBank] = {}
        self._pattern: dict[str, Any] = {}  # the pattern operators' models: encoder, restorer, GAN, classifiers

    def clear(self) -> None:
        self._models.clear()
        self._encoder = None
        self._banks.clear()
        self._pattern.clear()

    def _once(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._pattern:
            self._pattern[key] = load()
        return self._pattern[key]

    def pattern_encoder(self) -> PatternEncoder:
        return self._once("encoder", lambda: load_encoder(plan.SHIPPED_DIR / "pattern_encoder.npz"))

    def restorer(self) -> Restorer:
        """The shipped restoration generator. Raises RestoreModelError."""
        return self._once("restorer", load_restorer)

    def gan(self) -> PatternGAN:
        """The shipped pattern GAN. Raises GanWeightsError."""
        return self._once("gan", load_gan)

    def classifier(self, path: str | None = None) -> PatternClassifier:
        """The classifier at ``path`` (default: the shipped one), sharing this session's MiniLM, bank and
        pattern encoder; reloaded when its file changes. Raises ClassifierError."""
        p = Path(path) if path else SHIPPED_CLASSIFIER
        key = f"classifier:{p}:{p.stat().st_mtime_ns if p.is_file() else 0}"
        return self._once(key, lambda: load_classifier(path, self.encoder,
                                                        lambda: (self.bank(), self.pattern_encoder())))

    def bank(self, path: str | Path | None = None) -> PatternBank:
        """The pattern bank at ``path`` (default: the shipped kamon bank). Raises PatternBankError."""
        key = str(path or plan.SHIPPED_BANK)
        if key not in self._banks:
            self._banks[key] = plan.load_bank(key)
        return self._banks[key]

    def model(self, path: str | None = None) -> MotionGenerator:
        key = str(path or "")
        if key not in self._models:
            self._models[key] = load_model(path or None)
        return self._models[key]

    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = load_text_encoder()
        return self._encoder


def check_armature(obj: bpy.types.Object | None) -> retarget.Rig:
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


def apply_motion(obj: bpy.types.Object, mot: Motion, action_name: str, rig: retarget.Rig | None = None,
                 frame_start: int = 1, time_scale: float = 1.0) -> bpy.types.Action:
    """Retarget ``mot`` onto armature ``obj`` and key it into a new action named ``action_name``
    (made unique by Blender). ``time_scale``: scene frames per motion frame (1 at 25 fps; 1.2 keeps the
    speed in a 30 fps scene). Raises NotHumanoidError for a rig that cannot be driven."""
    rig = rig or rig_from_armature(obj)
    rot, trans = retarget.pose_from_motion(mot, rig)
    carrier = retarget.root_carrier(rig)
    quats, locs = armature_pose.bone_keys(rig.skeleton, rot, trans, [carrier])
    return key_new_action(obj, action_name, rig.skeleton.names, quats, locs, [carrier], frame_start, time_scale)


@dataclass
class KeyAction:
    """The canonical motion onto armature ``obj`` as a new action (job.extra: ``action``,
    ``previous_action``, ``retimed``). With ``set_scene_fps`` the scene runs at 25 fps; otherwise the
    keys are spaced so the speed is kept at the scene's rate."""

    obj: bpy.types.Object
    rig: retarget.Rig
    action_name: str
    frame_start: int = 1
    use_nla: bool = False
    set_scene_fps: bool = True
    name: str = "action"

    def __call__(self, job: Job) -> None:
        assert job.motion is not None
        scene = bpy.context.scene
        assert scene is not None  # Blender always has a current scene (also in background mode)
        retimed = 1.0
        if self.set_scene_fps:
            scene.render.fps, scene.render.fps_base = int(config.FPS), 1.0
        else:
            retimed = scene.render.fps / scene.render.fps_base / config.FPS
        ad = self.obj.animation_data
        previous = ad.action if ad is not None else None
        if previous is not None:
            previous.use_fake_user = True  # never lose the user's action when the new one is assigned
        action = apply_motion(self.obj, job.motion, self.action_name, self.rig, self.frame_start, time_scale=retimed)
        symbols.store_schedule(action, job.motion, self.frame_start, retimed)  # for Animate Pattern's symbol driver
        if job.audit is not None:
            job.audit.output.update({"action": action.name, "armature": self.obj.name, "frame_start": self.frame_start,
                                     "frames": job.motion.num_frames,
                                     "scene_fps": scene.render.fps / scene.render.fps_base})
            action[AUDIT_KEY] = json.dumps(job.audit.to_json())
        if self.use_nla:
            ad = self.obj.animation_data
            assert ad is not None  # apply_motion assigned the new action through it
            track = ad.nla_tracks.new()
            track.name = action.name
            track.strips.new(action.name, self.frame_start, action)
            ad.action = previous  # the new dance lives on its strip; the old action stays active
        last = self.frame_start + int(round((job.motion.num_frames - 1) * retimed))
        if scene.frame_end < last:
            scene.frame_end = last
        job.extra.update(action=action, previous_action=previous.name if previous else None, retimed=retimed)


@dataclass
class DressCostume:
    """The pipeline's "textures and symbols" slot: patterns retrieved from the bank for the prompt
    (or ``query``) become new materials on the costume (motion_core.patterns.costume, addon/costume.py).

    ``obj``: the dancer's armature (its meshes' slots named like the costume parts are dressed) or a
    mesh; ``slots``: part -> slot index on that mesh (a user's own selection); None: by name. The
    choices, sources, licences and colour rules go into the audit record (``costume``) and
    ``job.extra["costume"]``."""

    obj: bpy.types.Object
    encoder: TextEncoder
    bank: PatternBank
    bank_path: Path = plan.SHIPPED_BANK
    query: str = ""
    slots: dict[str, int] | None = None
    #: with no costume slots: raise (the operator) or record ``dressed: false`` and go on (the batch)
    required: bool = True
    name: str = "patterns"

    def __call__(self, job: Job) -> None:
        query = " ".join(self.query.split()) or job.request.prompt
        emb = self.encoder.encode([query])[0]
        record, parts = None, []
        for mesh in costume.dancer_meshes(self.obj):
            slots = self.slots if self.slots is not None else costume.costume_slots(mesh, DRESSED_PARTS)
            if not slots:
                continue
            p = plan.plan_costume(query, emb, self.bank, job.pack, self.bank_path, list(slots),
                                  "pattern query" if self.query.strip() else "prompt", job.request.prompt)
            parts += costume.dress_mesh(mesh, p, slots)
            record = p.to_audit()
        if record is None:
            names = ", ".join(DRESSED_PARTS)
            reason = f"'{self.obj.name}' has no costume slots to dress (materials named {names})"
            if self.required:
                raise ValueError(reason + "; select a mesh and its material slots instead")
            record = {"dressed": False, "reason": reason}  # e.g. a built-in rig's plain body: nothing to dress
        else:
            record = {"dressed": True, **record, "parts": parts}
        job.extra["costume"] = record
        if job.audit is not None:
            job.audit.costume = record
            action = job.extra.get("action")
            if action is not None:
                action[AUDIT_KEY] = json.dumps(job.audit.to_json())


@dataclass
class RenderVideo:
    """The scene's frame range (or ``frames`` from its start) as an H.264 MP4 at 25 fps
    (job.files["mp4"], job.extra["render"])."""

    obj: bpy.types.Object
    pelvis_bone: str
    path: Path
    engine: str = "WORKBENCH"
    resolution: tuple[int, int] = (640, 360)
    frames: int | None = None
    name: str = "render"

    def __call__(self, job: Job) -> None:
        scene = bpy.context.scene
        assert scene is not None  # Blender always has a current scene (also in background mode)
        if self.frames is not None:
            scene.frame_end = scene.frame_start + self.frames - 1
        job.extra["render"] = render_shot(scene, self.obj, self.pelvis_bone, self.path, self.engine, self.resolution)
        job.files["mp4"] = self.path


@dataclass
class RenderContactSheet:
    """A grid of frames spread over the video (job.files["sheet"]): the motion at a glance."""

    path: Path
    cells: int = 8
    name: str = "contact sheet"

    def __call__(self, job: Job) -> None:
        scene = bpy.context.scene
        assert scene is not None  # Blender always has a current scene (also in background mode)
        job.extra["sheet_frames"] = render_contact_sheet(scene, self.path, self.cells)
        job.files["sheet"] = self.path


@dataclass
class RenderPoster:
    """The middle frame of the scene range as a PNG (job.files["png"])."""

    path: Path
    name: str = "poster"

    def __call__(self, job: Job) -> None:
        scene = bpy.context.scene
        assert scene is not None  # Blender always has a current scene (also in background mode)
        render_still(scene, (scene.frame_start + scene.frame_end) // 2, self.path)
        job.files["png"] = self.path


def audit_of(obj: bpy.types.Object | None) -> AuditRecord | None:
    """The audit record stored on the active action of ``obj``, if Heritage Motion made it."""
    ad = obj.animation_data if obj is not None else None
    if ad is None or ad.action is None or AUDIT_KEY not in ad.action:  # type: ignore[operator]  # ID custom properties support `in`
        return None
    try:
        return AuditRecord.from_json(json.loads(ad.action[AUDIT_KEY]))
    except (TypeError, ValueError):
        return None


def write_audit(action: bpy.types.Action, path: Path) -> Path:
    """Write the audit stored on ``action`` to ``path`` (atomically)."""
    return write_json_atomic(path, json.loads(action[AUDIT_KEY]))
