"""A joint hierarchy: names, parents, rest offsets and (for BVH) channel layouts.

A :class:`Skeleton` is unit- and axis-agnostic: offsets are in whatever units and axes its
source uses (see :mod:`motion_core.axes` for the conversion to the canonical frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
VALID_CHANNELS = POSITION_CHANNELS + ROTATION_CHANNELS


@dataclass
class Skeleton:
    """A tree of joints stored parents-first.

    Attributes:
        names: joint names, unique.
        parents: (J,) int, index of each joint's parent, -1 for the root (only joint 0).
        offsets: (J, 3) rest offset of each joint from its parent, in the parent's frame.
        channels: per joint, the BVH channel names in file order (may be empty).
        end_sites: (joint index, (3,) offset) pairs for BVH ``End Site`` blocks.
        rest_rotations: (J, 3, 3) local rest rotation of each joint, applied before the
            animated rotation. Identity for BVH; Blender armatures have bone rolls here.
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: Sequence[tuple[str, ...]] = field(default_factory=list)
    end_sites: list[tuple[int, np.ndarray]] = field(default_factory=list)
    #: filled with identities when not given
    rest_rotations: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.parents = np.asarray(self.parents, dtype=np.int64)
        self.offsets = np.asarray(self.offsets, dtype=np.float64).reshape(-1, 3)
        n = len(self.names)
        if not self.channels:
            self.channels = [() for _ in range(n)]
        if self.rest_rotations is None:
            self.rest_rotations = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        if len(set(self.names)) != n:
            dup = sorted({x for x in self.names if self.names.count(x) > 1})
            raise ValueError(f"duplicate joint names: {', '.join(dup)}")
        if self.parents.shape != (n,) or self.offsets.shape != (n, 3) or len(self.channels) != n:
            raise ValueError("names, parents, offsets and channels must have one entry per joint")
        if n and self.parents[0] != -1:
            raise ValueError("joint 0 must be the root (parent -1)")
        for j in range(1, n):
            if not 0 <= self.parents[j] < j:
                raise ValueError(f"joint {self.names[j]!r} is not stored after its parent")

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no joint named {name!r}") from None

    def children(self, j: int) -> list[int]:
        return [int(c) for c in np.nonzero(self.parents == j)[0]]

    def ancestors(self, j: int) -> list[int]:
        """Indices from ``j``'s parent up to the root."""
        out = []
        p = int(self.parents[j])
        while p >= 0:
            out.append(p)
            p = int(self.parents[p])
        return out

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    def channel_offsets(self) -> np.ndarray:
        """(J+1,) start index of each joint's channels in a frame row."""
        return np.concatenate([[0], np.cumsum([len(c) for c in self.channels])]).astype(np.int64)
