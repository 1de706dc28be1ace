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


class HM_Settings(bpy.types.PropertyGroup):
    prompt: bpy.props.StringProperty(name="Prompt", default="a feminine dance, slow and graceful",
                                     description="What the dancer should do, e.g. 'a feminine peacock dance, slow'")
    seconds: bpy.props.FloatProperty(name="Duration", default=10.0, min=config.MIN_SECONDS, max=config.MAX_SECONDS,
                                     unit="TIME_ABSOLUTE", description="Length of the dance in seconds")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0, description="Same prompt and seed, same dance")
    temperature: bpy.props.FloatProperty(
        name="Temperature", default=0.6, min=0.0, max=config.MAX_TEMPERATURE,
        description="Sampling temperature of the motion model: 0 gives its means (calm), higher is livelier and noisier")
    mode: bpy.props.EnumProperty(name="Mode", items=[
        ("canonical", "Canonical", "The component with the highest cultural weight"),
        ("diverse", "Diverse", "Sample a component by its mixture weight, with smooth variation")])
    rules: bpy.props.EnumProperty(name="Rules", items=RULE_ITEMS, default="PREFERENCE",
                                  description="Rule pack: joint limits, taboos and priors applied to the dance")
    rules_file: bpy.props.StringProperty(name="Rule pack file", subtype="FILE_PATH", default="")
    use_nla: bpy.props.BoolProperty(name="Put on NLA strip", default=False,
                                    description="Add the dance as an NLA strip and keep the current action active")
    pattern_query: bpy.props.StringProperty(
        name="Pattern query", default="",
        description="Text that picks the costume's patterns (empty: the prompt), e.g. 'paulownia crest'")
    pattern_bank: bpy.props.StringProperty(
        name="Pattern bank", subtype="FILE_PATH", default="",
        description="A pattern bank .npz (empty: the shipped Japanese crest bank, CC BY-SA 4.0)")
    library_folder: bpy.props.StringProperty(
        name="Library folder", subtype="DIR_PATH", default="",
        description="A folder of your images with captions.jsonl (image, caption, culture, licence per line)")

    # Add Dancer: MakeHuman's macro shape (0.5 is MakeHuman's average) and the stand-in option
    body: bpy.props.FloatProperty(name="Fem. - Masc.", default=0.0, min=0.0, max=1.0,
                                  description="Body type: 0 feminine, 1 masculine (MakeHuman's gender targets)")
    age: bpy.props.FloatProperty(name="Age", default=25.0, min=AGE_YEARS[0], max=AGE_YEARS[1],
                                 description="Age in years (MakeHuman's age targets)")
    height: bpy.props.FloatProperty(name="Height", default=0.5, min=0.0, max=1.0, subtype="FACTOR",
                                    description="0 shortest, 0.5 average, 1 tallest")
    weight: bpy.props.FloatProperty(name="Weight", default=0.5, min=0.0, max=1.0, subtype="FACTOR",
                                    description="Body weight: 0 slimmest, 0.5 average, 1 heaviest")
    muscle: bpy.props.FloatProperty(name="Muscle", default=0.5, min=0.0, max=1.0, subtype="FACTOR",
                                    description="0 least, 0.5 average, 1 most muscular")
    standin: bpy.props.BoolProperty(name="Lightweight stand-in", default=False,
                                    description="A capsule mannequin on the same shaped rig, no costume (for slow machines)")
    engine: bpy.props.EnumProperty(name="Engine", items=ENGINE_ITEMS, default="WORKBENCH")
    resolution_x: bpy.props.IntProperty(name="Width", default=1280, min=16, max=7680)
    resolution_y: bpy.props.IntProperty(name="Height", default=720, min=16, max=4320)
