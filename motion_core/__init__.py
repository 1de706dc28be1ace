"""Heritage Motion's Blender-free core: BVH, kinematics, retargeting, text-to-motion, rule packs, IK.

Runs on numpy alone (numpy 1.24 to 2.x) so it can be vendored into a stock Blender.
The canonical motion representation is :class:`motion_core.skeleton.motion.Motion`.
"""

__version__ = "0.2.0"
