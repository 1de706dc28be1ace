"""Import shim: the installed add-on carries a vendored ``motion_core`` inside its package;
a development checkout uses the top-level one."""

try:  # installed from the zip built by build_addon.py
    from .motion_core import (  # noqa: F401
        armature_pose,
        axes,
        bonemap,
        builtin_rigs,
        bvh,
        canonical,
        config,
        motion,
        retarget,
        skeleton,
    )
except ImportError:  # running from the repository
    from motion_core import (  # noqa: F401
        armature_pose,
        axes,
        bonemap,
        builtin_rigs,
        bvh,
        canonical,
        config,
        motion,
        retarget,
        skeleton,
    )
