"""The canonical skeleton (21 joints), the canonical Motion, rotations and the one forward kinematics."""
