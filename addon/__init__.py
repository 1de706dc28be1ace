"""Heritage Motion Blender add-on: thin bpy glue over motion_core.

Works as a legacy add-on (``bl_info``, Blender 3.4+) and as a 4.2+ extension
(``blender_manifest.toml`` written by build_addon.py).

Use: View3D > Sidebar (N) > Heritage Motion. Add Dancer (MakeHuman's CC0 body, shaped from the panel,
in a costume; or select your own humanoid armature: Rigify, Mixamo, BVH-imported, Bandai-Namco or CMU
skeletons), type a prompt, set seed and temperature, pick a rule pack, Generate: a new action keyed at
25 fps by the autoregressive motion model, undoable with Ctrl+Z; the Audit panel shows which rules fired.
Dress Dancer puts crest patterns retrieved for the prompt on the costume (Kamon, CC BY-SA 4.0). Render
writes an H.264 MP4. Patterns also has Restore Pattern Image (a new restored image; Edo prints), Identify
Pattern (top-3 suggestions with evidence, or "unknown"; weak) and the experimental Pattern GAN (Variant,
Animate on a costume slot at 25 fps); each takes an image name for scripts and records its provenance.
Headless: ``blender -b [scene.blend] -P batch.py -- --prompts prompts.jsonl --out DIR``, or on 4.2+
``blender -b --command heritage_motion --prompts ...``.
"""

bl_info = {
    "name": "Heritage Motion",
    "author": "Heritage Motion",
    "version": (0, 2, 0),
    "blender": (3, 4, 0),
    "location": "View3D > Sidebar > Heritage Motion",
    "description": "Generate culturally constrained dance from a prompt on your armature, render at 25 fps",
    "doc_url": "",
    "category": "Animation",
}

_registered: list = []
_cli = None


def _classes():
    from . import (
        classify_operators,
        gan_operators,
        operators,
        panels,
        pattern_gan_operators,
        pattern_operators,
        preferences,
        properties,
    )
    return [preferences.HM_AddonPreferences, properties.HM_Settings, *operators.CLASSES, *pattern_operators.CLASSES,
            *classify_operators.CLASSES, *gan_operators.CLASSES, *pattern_gan_operators.CLASSES, *panels.CLASSES]


def _cli_handler(argv: list[str]) -> int:
    from . import batch
    return batch.main(argv)


def register() -> None:
    global _cli
    import bpy

    from . import properties
    for cls in _classes():
        bpy.utils.register_class(cls)
        _registered.append(cls)
    # a dynamic RNA property on Scene; the 3.4 stub types PointerProperty as returning None
    bpy.types.Scene.heritage_motion = bpy.props.PointerProperty(type=properties.HM_Settings)  # type: ignore[attr-defined,func-returns-value]
    from . import gan_operators
    gan_operators.add_menus()
    if hasattr(bpy.utils, "register_cli_command"):  # 4.2+: blender -b --command heritage_motion ...
        _cli = bpy.utils.register_cli_command("heritage_motion", _cli_handler)


def unregister() -> None:
    global _cli
    import bpy

    from . import operators
    if _cli is not None:
        bpy.utils.unregister_cli_command(_cli)  # type: ignore[attr-defined]  # 4.2+ (set only where register_cli_command exists)
        _cli = None
    from . import gan_operators
    gan_operators.remove_menus()
    del bpy.types.Scene.heritage_motion  # type: ignore[attr-defined]  # the dynamic RNA property added in register()
    while _registered:
        bpy.utils.unregister_class(_registered.pop())
    operators.MODELS.clear()  # drop loaded weights (motion, text, pattern models)
