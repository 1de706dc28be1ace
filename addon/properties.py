"""The panel's settings, stored on the scene (saved with the .blend)."""

from __future__ import annotations

import bpy

from .makehuman import AGE_YEARS
from .motion_core import config
from .preferences import PACK_ITEMS

RULE_ITEMS = [("PREFERENCE", "Add-on default", "The default rule pack set in the add-on's preferences")] + PACK_ITEMS + [
    ("FILE", "From file...", "A rule-pack JSON file of your own (python -m motion_core prior build makes one)")]
ENGINE_ITEMS = [("WORKBENCH", "Workbench", "Fast preview shading"), ("EEVEE", "EEVEE", "Real-time, needs a GPU"),
                ("CYCLES", "Cycles", "Path tracing")]


# Type check: RNA properties are annotations (`x: bpy.props.FloatProperty(...)`) that Blender reads at
# registration; mypy sees a call in an annotation, hence `# type: ignore[valid-type]` on those lines.
class HM_Settings(bpy.types.PropertyGroup):
    prompt: bpy.props.StringProperty(name="Prompt", default="a feminine dance, slow and graceful",  # type: ignore[valid-type]
                                     description="What the dancer should do, e.g. 'a feminine peacock dance, slow'")
    seconds: bpy.props.FloatProperty(name="Duration", default=10.0, min=config.MIN_SECONDS, max=config.MAX_SECONDS,  # type: ignore[valid-type]
                                     unit="TIME_ABSOLUTE", description="Length of the dance in seconds")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0, description="Same prompt and seed, same dance")  # type: ignore[valid-type]
    temperature: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Temperature", default=0.6, min=0.0, max=config.MAX_TEMPERATURE,
        description="Sampling temperature of the motion model: 0 gives its means (calm), higher is livelier and noisier")
    mode: bpy.props.EnumProperty(name="Mode", items=[  # type: ignore[valid-type]
        ("canonical", "Canonical", "The component with the highest cultural weight"),
        ("diverse", "Diverse", "Sample a component by its mixture weight, with smooth variation")])
    rules: bpy.props.EnumProperty(name="Rules", items=RULE_ITEMS, default="PREFERENCE",  # type: ignore[valid-type]
                                  description="Rule pack: joint limits, taboos and priors applied to the dance")
    rules_file: bpy.props.StringProperty(name="Rule pack file", subtype="FILE_PATH", default="")  # type: ignore[valid-type]
    use_nla: bpy.props.BoolProperty(name="Put on NLA strip", default=False,  # type: ignore[valid-type]
                                    description="Add the dance as an NLA strip and keep the current action active")
    pattern_query: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Pattern query", default="",
        description="Text that picks the costume's patterns (empty: the prompt), e.g. 'paulownia crest'")
    pattern_bank: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Pattern bank", subtype="FILE_PATH", default="",
        description="A pattern bank .npz (empty: the shipped Japanese crest bank, CC BY-SA 4.0)")
    library_folder: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Library folder", subtype="DIR_PATH", default="",
        description="A folder of your images with captions.jsonl (image, caption, culture, licence per line)")

    # Add Dancer: MakeHuman's macro shape (0.5 is MakeHuman's average) and the stand-in option
    body: bpy.props.FloatProperty(name="Fem. - Masc.", default=0.0, min=0.0, max=1.0,  # type: ignore[valid-type]
                                  description="Body type: 0 feminine, 1 masculine (MakeHuman's gender targets)")
    age: bpy.props.FloatProperty(name="Age", default=25.0, min=AGE_YEARS[0], max=AGE_YEARS[1],  # type: ignore[valid-type]
                                 description="Age in years (MakeHuman's age targets)")
    height: bpy.props.FloatProperty(name="Height", default=0.5, min=0.0, max=1.0, subtype="FACTOR",  # type: ignore[valid-type]
                                    description="0 shortest, 0.5 average, 1 tallest")
    weight: bpy.props.FloatProperty(name="Weight", default=0.5, min=0.0, max=1.0, subtype="FACTOR",  # type: ignore[valid-type]
                                    description="Body weight: 0 slimmest, 0.5 average, 1 heaviest")
    muscle: bpy.props.FloatProperty(name="Muscle", default=0.5, min=0.0, max=1.0, subtype="FACTOR",  # type: ignore[valid-type]
                                    description="0 least, 0.5 average, 1 most muscular")
    standin: bpy.props.BoolProperty(name="Lightweight stand-in", default=False,  # type: ignore[valid-type]
                                    description="A capsule mannequin on the same shaped rig, no costume (for slow machines)")
    engine: bpy.props.EnumProperty(name="Engine", items=ENGINE_ITEMS, default="WORKBENCH")  # type: ignore[valid-type]
    resolution_x: bpy.props.IntProperty(name="Width", default=1280, min=16, max=7680)  # type: ignore[valid-type]
    resolution_y: bpy.props.IntProperty(name="Height", default=720, min=16, max=4320)  # type: ignore[valid-type]
