"""Axis and unit conventions: from a file's frame to the canonical frame.

The canonical frame is Blender's: metres, Z up, the character faces -Y, its left is +X.
BVH files are usually Y up (facing +Z) in centimetres, but nothing in the format says so; the
convention is read from a rig registry entry, given by the user, or inferred from the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (x, y, z)_file -> canonical, for a Y-up file facing +Z: (x, -z, y). Same as Blender's importer.
_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

#: Plausible ankle-to-head heights of a person, in metres, used to recognise a unit.
_HEAD_HEIGHT_RANGE_M = (0.9, 2.3)
_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}


@dataclass(frozen=True)
class AxisConvention:
    """``up``: "Y" or "Z" in the file; ``unit_m``: metres per file unit; ``guessed``: True when
    the unit could not be recognised and was set so that the figure is 1.6 m tall (ankle to head)."""

    up: str = "Y"
    unit_m: float = 0.01
    guessed: bool = False

    def __post_init__(self) -> None:
        if self.up not in ("Y", "Z"):
            raise ValueError(f"up axis must be 'Y' or 'Z', got {self.up!r}")
        if not (np.isfinite(self.unit_m) and self.unit_m > 0):
            raise ValueError(f"unit must be a positive number of metres, got {self.unit_m}")

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) rotation taking file-frame vectors to the canonical frame."""
        return _Y_UP.copy() if self.up == "Y" else np.eye(3)

    def describe(self) -> str:
        unit = next((k for k, v in _UNITS.items() if abs(v - self.unit_m) < 1e-12), f"{self.unit_m:g} m")
        return f"{self.up}-up, unit {unit}{' (guessed)' if self.guessed else ''}"


def parse_unit(text: str) -> float:
    """'cm', 'm', 'mm', 'inch' or a number of metres -> metres per unit."""
    if text in _UNITS:
        return _UNITS[text]
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"unknown unit {text!r}; use one of {', '.join(_UNITS)} or metres per unit") from None
    if not v > 0:
        raise ValueError(f"unit must be positive, got {text!r}")
    return v


def infer_convention(head_minus_feet: np.ndarray) -> AxisConvention:
    """Infer up axis and unit from head-minus-mid-feet vectors (N, 3) in file units.

    The up axis is the dominant axis of the mean vector (Y or Z; Y when ambiguous); the unit is the
    first of m, cm, inch, mm that puts the ankle-to-head height in a human range.
    """
    v = np.asarray(head_minus_feet, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    up = "Z" if abs(v[2]) > abs(v[1]) and abs(v[2]) > abs(v[0]) else "Y"
    height = float(abs(v[2] if up == "Z" else v[1]))
    lo, hi = _HEAD_HEIGHT_RANGE_M
    for name in ("m", "cm", "inch", "mm"):
        if lo <= height * _UNITS[name] <= hi:
            return AxisConvention(up, _UNITS[name])
    if height <= 0:
        return AxisConvention(up, 0.01, guessed=True)
    return AxisConvention(up, 1.6 / height, guessed=True)
