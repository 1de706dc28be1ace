"""The canonical motion: the one representation that crosses module boundaries.

A :class:`Motion` holds, for the 21 joints of :mod:`motion_core.canonical`:

* ``rotations`` (T, 21, 4): each joint's **global** rotation relative to the canonical T-pose,
  as unit quaternions (w, x, y, z). The identity everywhere is the T-pose, facing -Y.
* ``root`` (T, 3): pelvis position in metres (canonical frame: Z up, facing -Y).
* ``tpose`` (21, 3): the source's joint positions in that T-pose, metres, pelvis at the origin.
  It carries the source's proportions; ``positions()`` uses it.
* ``present`` (21,): which joints the source had. Absent joints follow their parent.
* ``fps``: frames per second (25 for everything the product outputs).

Rotations, not positions, are what retargeting carries: a target rig posed with the same
global deltas reproduces every bone direction, whatever its proportions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import canonical
from .kinematics import chain_positions
from .rotations import quat_slerp, quat_to_matrix


def leg_length(tpose: np.ndarray) -> float:
    """Mean thigh + shin length (metres) of a (21, 3) canonical T-pose."""
    lengths = []
    for s in ("l_", "r_"):
        hip, knee, ankle = (canonical.INDEX[s + n] for n in ("thigh", "shin", "foot"))
        lengths.append(np.linalg.norm(tpose[knee] - tpose[hip]) + np.linalg.norm(tpose[ankle] - tpose[knee]))
    return float(np.mean(lengths))


@dataclass
class Motion:
    rotations: np.ndarray
    root: np.ndarray
    tpose: np.ndarray
    present: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        self.root = np.asarray(self.root, dtype=np.float64)
        self.tpose = np.asarray(self.tpose, dtype=np.float64)
        self.present = np.asarray(self.present, dtype=bool)
        j = len(canonical.JOINTS)
        t = self.rotations.shape[0]
        if self.rotations.shape != (t, j, 4) or self.root.shape != (t, 3):
            raise ValueError(f"expected rotations (T, {j}, 4) and root (T, 3), got "
                             f"{self.rotations.shape} and {self.root.shape}")
        if self.tpose.shape != (j, 3) or self.present.shape != (j,):
            raise ValueError(f"expected tpose ({j}, 3) and present ({j},)")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.root.shape[0])

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.num_frames / self.fps

    @property
    def leg_length(self) -> float:
        """Mean thigh + shin length in metres, used to scale root motion between rigs."""
        return leg_length(self.tpose)

    def global_matrices(self) -> np.ndarray:
        """(T, 21, 3, 3) global rotation deltas from the T-pose."""
        return quat_to_matrix(self.rotations)

    def positions(self) -> np.ndarray:
        """(T, 21, 3) joint positions in metres, canonical frame."""
        parents = canonical.nearest_present_parent(self.present)
        offsets = self.tpose - self.tpose[np.maximum(parents, 0)]
        return chain_positions(parents, self.global_matrices(), offsets, self.root)

    def resample(self, fps: float) -> Motion:
        """Resample to ``fps`` (slerp for rotations, linear for the root), same duration."""
        if abs(fps - self.fps) < 1e-9:
            return self
        n_out = max(1, int(np.floor((self.num_frames - 1) * fps / self.fps + 1e-9)) + 1)
        src = np.arange(n_out) * (self.fps / fps)
        i0 = np.clip(np.floor(src).astype(int), 0, self.num_frames - 1)
        i1 = np.clip(i0 + 1, 0, self.num_frames - 1)
        w = src - i0
        rot = quat_slerp(self.rotations[i0], self.rotations[i1], np.broadcast_to(w[:, None], (n_out, 21)))
        root = self.root[i0] * (1 - w[:, None]) + self.root[i1] * w[:, None]
        return Motion(rot, root, self.tpose, self.present, fps)

    def slice(self, start: int, stop: int) -> Motion:
        return Motion(self.rotations[start:stop], self.root[start:stop], self.tpose, self.present, self.fps)
