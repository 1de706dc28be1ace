"""Pattern GAN operators: bpy.ops.heritage_motion.{generate_pattern_variant, animate_pattern}.

Generate Pattern Variant: a new image from the pattern GAN (motion_core/patterns/variants.py),
conditioned on a motif class, a prototype of the shipped bank, or a source image's visual embedding.
Animate Pattern: a pattern that evolves frame by frame at 25 fps, driven by the dancer's motion
(the mean joint speed of its armature over its action, motion_core/patterns/animate.py) or by its
symbol schedule (eps(t) of seed 002 eq. 9: the pattern changes at the symbol events), written as
a PNG sequence into a new folder and put on a *copy* of a costume slot's material as an image
sequence whose frames follow the scene's (so ``blender -b`` renders pick it up). The slot's previous
material is kept (fake user) and never edited. Every property is a name or a number, so scripts and
headless runs need no editor open. Each result carries its provenance (model, version, seed,
condition, licence) as JSON in ``heritage_motion_provenance``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import image_io, preferences
from .costume import costume_slots, dancer_meshes, ensure_uv
from .motion_core import config
from .motion_core.patterns import animate as anim
from .motion_core.patterns import variants
from .motion_core.patterns.image_input import ImageInputError
from .motion_core.patterns.symbols import eps_at
from .operators import MODELS
from .symbols import SCHEDULE_KEY

_ENUM_ITEMS: list[tuple[str, str, str]] = []  # Blender needs the enum strings kept alive


def gan() -> variants.PatternGAN:
    """The shipped pattern GAN, from the add-on's session cache (dropped on unregister)."""
    return MODELS.gan()


def _motif_items(self, context):
    if not _ENUM_ITEMS:
        try:
            names = gan().classes
        except variants.GanWeightsError:
            names = []
        _ENUM_ITEMS.extend((n, n, f"Kamon charge '{n}': the class's mean visual embedding") for n in names)
        if not _ENUM_ITEMS:
            _ENUM_ITEMS.append(("NONE", "(no GAN weights)", "The pattern GAN weights are missing"))
    return _ENUM_ITEMS


# Type check: RNA properties are annotations (`x: bpy.props.FloatProperty(...)`) that Blender reads at
# registration; mypy sees a call in an annotation, hence `# type: ignore[valid-type]` on those lines.
class _Condition:
    condition: bpy.props.EnumProperty(name="Condition", default="CLASS", items=[  # type: ignore[valid-type]
        ("CLASS", "Motif class", "A kamon charge family (its mean visual embedding)"),
        ("PROTOTYPE", "Prototype", "A prototype of the shipped visual bank, by index"),
        ("IMAGE", "Source image", "The visual embedding of an image (named, or the editor's / active slot's)")])
    motif: bpy.props.EnumProperty(name="Motif", items=_motif_items)  # type: ignore[valid-type]
    prototype: bpy.props.IntProperty(name="Prototype", default=0, min=0, max=4095)  # type: ignore[valid-type]
    image: bpy.props.StringProperty(name="Image", default="",  # type: ignore[valid-type]
                                    description="Source image name (empty: the Image Editor's or the active slot's)")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)  # type: ignore[valid-type]
    scale: bpy.props.IntProperty(name="Upscale", default=4, min=1, max=8,  # type: ignore[valid-type]
                                 description="Bilinear enlargement of the 64 px output (adds no detail)")

    def resolve(self, context) -> tuple[Any, dict[str, Any]]:
        """(condition for variants, provenance extras); raises ValueError / ImageInputError."""
        if self.condition == "CLASS":
            if self.motif not in gan().classes:
                raise ValueError(f"unknown motif class '{self.motif}'")
            return self.motif, {}
        if self.condition == "PROTOTYPE":
            n = len(variants.load_prototypes())
            if self.prototype >= n:
                raise ValueError(f"prototype {self.prototype} out of range: the bank has {n} (0-{n - 1})")
            return int(self.prototype), {}
        img = image_io.source_image(context, self.image)
        checked = image_io.read_pixels(img)
        emb = variants.image_condition(MODELS.pattern_encoder(), checked.rgb)
        return emb, {"source_image": img.name, "source_notes": list(checked.notes)}


class HM_OT_generate_pattern_variant(_Condition, bpy.types.Operator):
    """Make a new pattern image with the pattern GAN, from a motif class, a bank prototype or an image"""

    bl_idname = "heritage_motion.generate_pattern_variant"
    bl_label = "Generate Pattern Variant"
    bl_options = {"REGISTER", "UNDO"}

    count: bpy.props.IntProperty(name="Count", default=1, min=1, max=16)  # type: ignore[valid-type]
    name: bpy.props.StringProperty(name="Name", default="HM Pattern Variant")  # type: ignore[valid-type]

    def execute(self, context):
        try:
            g = gan()
            cond, extra = self.resolve(context)
            with image_io.progress(context) as update:
                update(0.1)
                images = g.sample(cond, self.seed, self.count, self.scale)
                update(1.0)
        except (variants.GanWeightsError, ValueError, ImageInputError, OSError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        made = []
        for i, rgb in enumerate(images):
            prov = g.provenance(cond, self.seed, index=i, count=self.count, upscale=self.scale, **extra)
            img = image_io.new_image(self.name or "HM Pattern Variant", rgb, prov)
            made.append(img.name)
        if made:
            image_io.show_in_editor(context, bpy.data.images[made[-1]])
        what = extra.get("source_image") and f"image '{extra['source_image']}'" or f"{self.condition.lower()} {cond}"
        self.report({"INFO"}, f"Made {', '.join(made)} ({what}, seed {self.seed}; 64 px native, x{self.scale})")
        return {"FINISHED"}


def _armature(context, name: str) -> bpy.types.Object:
    obj = bpy.data.objects.get(name) if name else context.active_object
    if name and obj is None:
        raise ValueError(f"no object named '{name}'")
    if obj is not None and obj.type == "MESH" and obj.parent is not None and obj.parent.type == "ARMATURE":
        obj = obj.parent
    if obj is None or obj.type != "ARMATURE":
        raise ValueError("no dancer: select the dancer's armature (Add Dancer) or give its name")
    return obj


def dance_action(arm: bpy.types.Object) -> bpy.types.Action:
    """The armature's action (the active one, else the last NLA strip's: a generated dance)."""
    ad = arm.animation_data
    if ad is not None and ad.action is not None:
        return ad.action
    if ad is not None:
        for track in reversed(list(ad.nla_tracks)):
            for strip in track.strips:
                if strip.action is not None:
                    return strip.action
    raise ValueError(f"'{arm.name}' has no action: generate a dance first")


def joint_positions(scene: bpy.types.Scene, arm: bpy.types.Object, frames: range) -> np.ndarray:
    """(T, J, 3) world positions of the armature's bone heads at each frame (the scene's frame is restored)."""
    keep = scene.frame_current
    pose = arm.pose
    assert pose is not None  # an armature object has a pose
    out = np.zeros((len(frames), len(pose.bones), 3), np.float32)
    try:
        for i, f in enumerate(frames):
            scene.frame_set(f)
            mw = np.array(arm.matrix_world, np.float32)
            heads = np.array([tuple(pb.head) for pb in pose.bones], np.float32)
            out[i] = heads @ mw[:3, :3].T + mw[:3, 3]
    finally:
        scene.frame_set(keep)
    return out


def find_slot(arm: bpy.types.Object, slot: str) -> tuple[bpy.types.Object, int]:
    for mesh in dancer_meshes(arm):
        found = costume_slots(mesh, [slot])
        if slot in found:
            return mesh, found[slot]
        for i, s in enumerate(mesh.material_slots):
            if s.material is not None and s.material.name == slot:
                return mesh, i
    raise ValueError(f"no costume slot '{slot}' on '{arm.name}'s meshes (e.g. HM Bodice, HM Skirt)")


def sequence_material(old: bpy.types.Material | None, base_name: str, first_png: Path, frames: int,
                      frame_start: int, prov: dict[str, Any]) -> bpy.types.Material:
    """A copy of ``old`` (or a new material) whose image texture is the PNG sequence, frame 1 of the
    files at scene frame ``frame_start``."""
    img = bpy.data.images.load(str(first_png), check_existing=False)
    img.source = "SEQUENCE"
    img.name = image_io.unique_name(base_name)
    image_io.set_provenance(img, prov)
    if old is not None:
        mat = old.copy()
        mat.name = base_name
    else:
        mat = bpy.data.materials.new(base_name)
    if bpy.app.version < (5, 0, 0):
        mat.use_nodes = True
    nt = mat.node_tree
    assert nt is not None  # use_nodes gives the material a node tree
    tex = next((n for n in nt.nodes if n.bl_idname == "ShaderNodeTexImage"), None)
    if tex is None:
        tex = nt.nodes.new("ShaderNodeTexImage")
        coord = nt.nodes.new("ShaderNodeTexCoord")
        nt.links.new(coord.outputs["UV"], tex.inputs["Vector"])
        bsdf = next((n for n in nt.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"), None)
        if bsdf is None:
            bsdf = nt.nodes.new("ShaderNodeBsdfPrincipled")
            out = (next((n for n in nt.nodes if n.bl_idname == "ShaderNodeOutputMaterial"), None)
                   or nt.nodes.new("ShaderNodeOutputMaterial"))
            nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
        nt.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    tex.image = img  # type: ignore[attr-defined]  # an image texture node
    iu = tex.image_user  # type: ignore[attr-defined]  # (as above)
    iu.frame_duration = frames
    iu.frame_start = frame_start
    iu.frame_offset = 0
    iu.use_cyclic = False
    iu.use_auto_refresh = True
    nt.nodes.active = tex  # Workbench's texture mode shows the active image node
    image_io.set_provenance(mat, prov)
    return mat


class HM_OT_animate_pattern(_Condition, bpy.types.Operator):
    """Animate a pattern at 25 fps driven by the dancer's motion, as an image sequence on a copy of a costume material"""

    bl_idname = "heritage_motion.animate_pattern"
    bl_label = "Animate Pattern"
    bl_options = {"REGISTER", "UNDO"}

    armature: bpy.props.StringProperty(name="Dancer", default="",  # type: ignore[valid-type]
                                       description="The dancer's armature (empty: the active object)")
    slot: bpy.props.StringProperty(name="Costume slot", default="HM Bodice")  # type: ignore[valid-type]
    folder: bpy.props.StringProperty(name="Folder", default="", subtype="DIR_PATH",  # type: ignore[valid-type]
                                     description="Where the frame folder goes (empty: the add-on's output folder)")
    driver: bpy.props.EnumProperty(name="Driver", default="motion", items=[  # type: ignore[valid-type]
        ("motion", "Motion", "The pattern changes with the dancer's mean joint speed"),
        ("symbols", "Symbol schedule", "The pattern changes for 0.4 s at each symbol event (d h_sem/dt > 0.35, "
                                       "seed 002 section 5.1) and holds still between them")])
    trajectory: bpy.props.EnumProperty(name="Trajectory", default="temporal", items=[  # type: ignore[valid-type]
        ("temporal", "Coherent", "Trained with the temporal (BiLSTM) discriminator"),
        ("ablation", "Ablation", "The same network trained without it (flickers more; for comparison)")])

    def execute(self, context):
        scene = context.scene
        try:
            g = gan()
            arm = _armature(context, self.armature)
            action = dance_action(arm)
            mesh, slot_index = find_slot(arm, self.slot)
            fps = scene.render.fps / scene.render.fps_base
            if abs(fps - config.FPS) > 1e-6:
                raise ValueError(f"the scene runs at {fps:g} fps; set it to {config.FPS:g} fps (the animation's rate)")
            f0, f1 = (int(round(v)) for v in action.frame_range)
            frames = range(f0, f1 + 1)
            if len(frames) < 2:
                raise ValueError(f"'{action.name}' spans {len(frames)} frame(s); a dance has at least 2")
            cond, extra = self.resolve(context)
            parent = (Path(bpy.path.abspath(self.folder)) if self.folder
                      else preferences.output_dir(context) / "pattern_animations")
            energy, driver_note = self.driver_energy(scene, arm, action, frames)
        except (variants.GanWeightsError, ValueError, ImageInputError, OSError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        with image_io.progress(context) as update:
            update(0.1)
            video = anim.animate(energy, cond, self.seed, progress=lambda f: update(0.1 + 0.8 * f), gan=g,
                                 trajectory_name=self.trajectory, scale=self.scale)
            try:
                folder = anim.save_frames(video, parent, f"{_slug(action.name)}_seed{self.seed}")
            except OSError as e:
                self.report({"ERROR"}, f"cannot write the frames into {parent}: {e}")
                return {"CANCELLED"}
            update(1.0)
        prov = g.provenance(cond, self.seed, driver=driver_note,
                            trajectory=self.trajectory, frames=len(frames), fps=config.FPS, frame_start=f0,
                            folder=str(folder), upscale=self.scale, **extra)
        slot = mesh.material_slots[slot_index]
        old = slot.material
        try:
            nt = old.node_tree if old is not None else None
            if nt is None or not any(n.bl_idname == "ShaderNodeTexImage" for n in nt.nodes):
                ensure_uv(mesh)
            mat = sequence_material(old, f"HM Animated Pattern {self.slot.removeprefix('HM ')}",
                                    folder / "pattern_0001.png", len(frames), f0, prov)
        except (RuntimeError, OSError) as e:
            shutil.rmtree(folder, ignore_errors=True)
            self.report({"ERROR"}, f"cannot load the frames back: {e}")
            return {"CANCELLED"}
        if old is not None:
            old.use_fake_user = True  # the previous material stays in the file, untouched
        slot.material = mat
        self.report({"INFO"}, f"{len(frames)} frames at 25 fps in {folder}; '{mat.name}' on {mesh.name} "
                    f"({self.slot}); previous material kept")
        return {"FINISHED"}

    def driver_energy(self, scene: bpy.types.Scene, arm: bpy.types.Object, action: bpy.types.Action,
                      frames: range) -> tuple[np.ndarray, Any]:
        """(T,) energy of the chosen driver over ``frames`` and what to record of it. The symbol
        schedule is the one Generate Dance stored on the action (from the canonical motion, as the
        costume's symbol keys); ValueError (one line) where there is none or it has no event."""
        if self.driver == "motion":
            return (anim.motion_energy(joint_positions(scene, arm, frames), config.FPS), f"motion: mean joint speed / "
                    f"{config.ANIM_FULL_ENERGY_SPEED_M_S} m/s of '{arm.name}' over '{action.name}'")
        if SCHEDULE_KEY not in action:  # type: ignore[operator]  # ID custom properties support `in`
            raise ValueError(f"'{action.name}' carries no symbol schedule (dances made by Generate Dance or the batch "
                             "do); use Driver: Motion")
        rec = json.loads(action[SCHEDULE_KEY])
        energy = eps_at(rec["trigger_frames"], np.arange(frames[0], frames[-1] + 1), rec["frame_start"],
                        rec["time_scale"], hold_s=rec["hold_s"])
        if not energy.any():
            raise ValueError(f"'{action.name}' has no symbol event (d h_sem/dt stays under "
                             f"{rec['threshold_per_s']}/s): the pattern would not change; use Driver: Motion")
        return energy, {"kind": "symbol schedule", "armature": arm.name, "action": action.name,
                        "scene_frames": [int(rec["frame_start"] + t * rec["time_scale"]) for t in rec["trigger_frames"]],
                        **rec}


def _slug(text: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")
    return (s or "pattern")[:40]


CLASSES = (HM_OT_generate_pattern_variant, HM_OT_animate_pattern)
