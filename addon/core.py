"""Import shim: the installed add-on carries a vendored ``motion_core`` inside its package;
a development checkout uses the top-level one. The add-on imports motion_core's modules from here."""

from importlib import import_module

try:  # installed from the zip built by build_addon.py
    from . import motion_core as _core
except ImportError:  # running from the repository
    import motion_core as _core

MODULES = ("armature_pose", "audit", "axes", "bonemap", "builtin_rigs", "bvh", "canonical", "config", "generate", "mdn",
           "motion", "pipeline", "retarget", "rule_pack", "skeleton", "text_encoder")
globals().update({name: import_module(f"{_core.__name__}.{name}") for name in MODULES})
