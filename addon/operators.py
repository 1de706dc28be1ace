"""Operators: bpy.ops.heritage_motion.{generate, add_dancer, render, save_audit}.

Each is reachable from F3 search and from Python; ``poll()`` says why one is unavailable. Bad
input is reported (an ERROR report, CANCELLED) and leaves the scene unchanged; a finished
Generate or Add Dancer is one undo step.
"""

from __future__ import annotations

import time
from pathlib import Path

import bpy

from . import preferences, stages
from .dancer import add_dancer
from .makehuman import AGE_YEARS, AssetsMissing, Shape
from .motion_core import config
from .motion_core.models.generate import ModelError
from .motion_core.pipeline import ApplyRules, GenerateMotion, Request, make_job, run
from .motion_core.rigs import bvh
from .motion_core.rules import pack as rule_pack
from .motion_core.text.encoder import TextEncoderError
from .render import render_shot

MODELS = stages.Models()  # dropped on unregister (see __init__.py)


def _settings(context):
    return context.scene.heritage_motion


def _slug(text: str) -> str:
    return stages.slug(text, limit=40, empty="dance")


def _free_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2.suffix`` ... : never an existing file."""
    path = folder / f"{stem}{suffix}"
    k = 2
    while path.exists():
        path = folder / f"{stem}-{k}{suffix}"
        k += 1
    return path


# Type check: RNA properties are annotations (`x: bpy.props.FloatProperty(...)`) that Blender reads at
# registration; mypy sees a call in an annotation, hence `# type: ignore[valid-type]` on those lines.
# `cls.poll_message_set(...)` in poll: a classmethod in Blender, an instance method in the 3.4 stub, hence
# `# type: ignore[call-arg,arg-type]` on those lines.
class HM_OT_generate(bpy.types.Operator):
    """Generate a dance from the prompt onto the active armature, as a new action"""

    bl_idname = "heritage_motion.generate"
    bl_label = "Generate Dance"
    bl_options = {"REGISTER", "UNDO"}

    prompt: bpy.props.StringProperty(name="Prompt")  # type: ignore[valid-type]
    seconds: bpy.props.FloatProperty(name="Duration", min=config.MIN_SECONDS, max=config.MAX_SECONDS, default=10.0)  # type: ignore[valid-type]
    seed: bpy.props.IntProperty(name="Seed", min=0)  # type: ignore[valid-type]
    temperature: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Temperature", default=0.6, min=0.0, max=config.MAX_TEMPERATURE,
        description="Sampling temperature of the motion model: 0 gives its means (calm), higher is livelier and noisier")
    mode: bpy.props.EnumProperty(name="Mode", items=[("canonical", "Canonical", ""), ("diverse", "Diverse", "")])  # type: ignore[valid-type]
    rules: bpy.props.StringProperty(name="Rules", description="Built-in pack name, 'FILE', or 'PREFERENCE'")  # type: ignore[valid-type]
    rules_file: bpy.props.StringProperty(name="Rule pack file", subtype="FILE_PATH")  # type: ignore[valid-type]
    use_nla: bpy.props.BoolProperty(name="Put on NLA strip")  # type: ignore[valid-type]
    scene_fps: bpy.props.EnumProperty(name="Scene frame rate", default="SET", items=[  # type: ignore[valid-type]
        ("SET", "Set the scene to 25 fps", "Change the scene's frame rate to 25 fps, the dance's rate"),
        ("KEEP", "Keep the scene's rate", "Keep the scene's frame rate and space the keys to keep the speed")])

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        if obj is None:
            cls.poll_message_set("Select an armature first (or add one with Add Dancer)")  # type: ignore[call-arg,arg-type]
            return False
        if obj.type != "ARMATURE":
            cls.poll_message_set(f"The active object '{obj.name}' is not an armature")  # type: ignore[call-arg,arg-type]
            return False
        if context.mode != "OBJECT" and context.mode != "POSE":
            cls.poll_message_set("Switch to Object or Pose mode")  # type: ignore[call-arg,arg-type]
            return False
        return True

    def _fill_from_panel(self, context):
        s = _settings(context)
        for name in ("prompt", "seconds", "seed", "temperature", "mode", "rules", "rules_file", "use_nla"):
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(s, name))

    def invoke(self, context, event):
        self._fill_from_panel(context)
        r = context.scene.render
        if abs(r.fps / r.fps_base - config.FPS) > 1e-6 and not self.properties.is_property_set("scene_fps"):
            return context.window_manager.invoke_props_dialog(self)  # ask: set the scene to 25 fps or keep it
        return self.execute(context)

    def draw(self, context):
        r = context.scene.render
        layout = self.layout
        assert layout is not None  # set by Blender while the dialog draws
        layout.label(text=f"The scene runs at {r.fps / r.fps_base:g} fps; the dance is made at {config.FPS:g} fps.")
        layout.prop(self, "scene_fps", expand=True)

    def execute(self, context):
        self._fill_from_panel(context)
        obj = context.active_object
        choice = self.rules or "PREFERENCE"
        if choice == "PREFERENCE":
            choice = preferences.default_rules(context)
        wm = context.window_manager
        wm.progress_begin(0, 100)
        t0 = time.perf_counter()
        try:
            rig = stages.check_armature(obj)
            pack = stages.resolve_pack(choice, self.rules_file)
            job = make_job(Request(self.prompt, self.seconds, self.seed, self.mode, temperature=self.temperature), pack,
                           rig.canonical_tpose())
            model = MODELS.model(preferences.model_path(context))
            run(job, [GenerateMotion(model, MODELS.encoder()), ApplyRules(),
                      stages.KeyAction(obj, rig, stages.action_name(self.prompt), context.scene.frame_start,
                                       self.use_nla, self.scene_fps == "SET")],
                progress=lambda f, _name: wm.progress_update(int(100 * f)))
        except (ValueError, rule_pack.RulePackError, OSError, bvh.BVHError, ModelError, TextEncoderError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        finally:
            wm.progress_end()
        a, action = job.audit, job.extra["action"]
        assert a is not None
        msg = (f"'{action.name}' on {obj.name}: {a.request['frames']} frames at {config.FPS:g} fps in "
               f"{time.perf_counter() - t0:.2f} s; rules {a.pack['name']}: {a.during.taboo_intervals} taboo interval(s) "
               f"replaced, compliant {a.after.compliant_share:.0%}")
        if job.extra["previous_action"]:
            msg += f"; previous action '{job.extra['previous_action']}' kept"
        self.report({"INFO"}, msg)
        if rig.left_in_rest():
            unmapped = rig.left_in_rest()
            self.report({"WARNING"}, "Bones left in rest pose (not mapped to the humanoid skeleton): "
                        + ", ".join(unmapped[:12]) + (" ..." if len(unmapped) > 12 else ""))
        if a.illustrative:
            self.report({"WARNING"}, "Rule pack is illustrative, awaiting expert review: not ethnographic fact")
        return {"FINISHED"}


class HM_OT_add_dancer(bpy.types.Operator):
    """Add a costumed dancer: MakeHuman's body (CC0), shaped, on a Rigify-named rig, with bodice, skirt,
    sleeves and headdress"""

    bl_idname = "heritage_motion.add_dancer"
    bl_label = "Add Dancer"
    bl_options = {"REGISTER", "UNDO"}

    body: bpy.props.FloatProperty(name="Fem. - Masc.", min=0.0, max=1.0)  # type: ignore[valid-type]
    age: bpy.props.FloatProperty(name="Age", min=AGE_YEARS[0], max=AGE_YEARS[1], default=25.0)  # type: ignore[valid-type]
    height: bpy.props.FloatProperty(name="Height", min=0.0, max=1.0, default=0.5)  # type: ignore[valid-type]
    weight: bpy.props.FloatProperty(name="Weight", min=0.0, max=1.0, default=0.5)  # type: ignore[valid-type]
    muscle: bpy.props.FloatProperty(name="Muscle", min=0.0, max=1.0, default=0.5)  # type: ignore[valid-type]
    standin: bpy.props.BoolProperty(name="Lightweight stand-in")  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context):
        if context.mode != "OBJECT":
            cls.poll_message_set("Switch to Object mode to add a dancer")  # type: ignore[call-arg,arg-type]
            return False
        return True

    def execute(self, context):
        s = _settings(context)
        for name in ("body", "age", "height", "weight", "muscle", "standin"):
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(s, name))
        coll = context.collection or context.scene.collection
        try:
            shape = Shape(self.body, self.age, self.height, self.weight, self.muscle)
            arm, body = add_dancer(coll, location=tuple(context.scene.cursor.location), shape=shape,
                                   lightweight=self.standin)
        except (ValueError, AssetsMissing) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        for o in context.selected_objects:
            o.select_set(False)
        arm.select_set(True)
        context.view_layer.objects.active = arm
        self.report({"INFO"}, f"Added '{arm.name}' with body '{body.name}' ({len(body.material_slots)} material slots)")
        return {"FINISHED"}


class HM_OT_render(bpy.types.Operator):
    """Render the scene's frame range with the active dancer to an H.264 MP4 at 25 fps"""

    bl_idname = "heritage_motion.render"
    bl_label = "Render Dance Video"

    filepath: bpy.props.StringProperty(name="Output", subtype="FILE_PATH",  # type: ignore[valid-type]
                                       description="MP4 to write (empty: a new file in the output folder)")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        if obj is None or obj.type != "ARMATURE":
            cls.poll_message_set("Select the dancer's armature")  # type: ignore[call-arg,arg-type]
            return False
        if obj.animation_data is None or (obj.animation_data.action is None and not obj.animation_data.nla_tracks):
            cls.poll_message_set(f"'{obj.name}' has no animation: generate a dance first")  # type: ignore[call-arg,arg-type]
            return False
        return True

    def execute(self, context):
        s = _settings(context)
        obj = context.active_object
        try:
            rig = stages.check_armature(obj)
            folder = preferences.output_dir(context)
            folder.mkdir(parents=True, exist_ok=True)
            action = obj.animation_data.action
            stem = _slug(action.name.removeprefix("HM ") if action else obj.name)
            out = Path(bpy.path.abspath(self.filepath)) if self.filepath else _free_path(folder, stem, ".mp4")
            if out.exists():
                raise ValueError(f"{out} exists; choose another file")
            info = render_shot(context.scene, obj, rig.bone_map.mapping["pelvis"], out, s.engine,
                               (s.resolution_x, s.resolution_y))
        except (ValueError, OSError, RuntimeError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        if action is not None and stages.AUDIT_KEY in action:
            stages.write_audit(action, out.with_name(out.stem + ".audit.json"))
        self.report({"INFO"}, f"Rendered {info['frames']} frames to {out} ({', '.join(info['look'])})")
        return {"FINISHED"}


class HM_OT_save_audit(bpy.types.Operator):
    """Write the active action's audit record (rules, interceptions, compliance) as JSON"""

    bl_idname = "heritage_motion.save_audit"
    bl_label = "Save Audit Record"

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        ad = obj.animation_data if obj is not None else None
        if ad is None or ad.action is None or stages.AUDIT_KEY not in ad.action:
            cls.poll_message_set("The active object's action was not generated by Heritage Motion")  # type: ignore[call-arg,arg-type]
            return False
        return True

    def execute(self, context):
        action = context.active_object.animation_data.action
        folder = preferences.output_dir(context)
        folder.mkdir(parents=True, exist_ok=True)
        path = stages.write_audit(action, _free_path(folder, _slug(action.name.removeprefix("HM ")), ".audit.json"))
        self.report({"INFO"}, f"Audit written to {path}")
        return {"FINISHED"}


CLASSES = (HM_OT_generate, HM_OT_add_dancer, HM_OT_render, HM_OT_save_audit)
