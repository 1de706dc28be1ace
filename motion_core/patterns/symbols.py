"""Symbol binding (seed 002 section 5.1): the motion's semantic trajectory h_sem(t) and the frames
where a totem element is injected, numpy only.

- h_sem(t): a motion encoder maps a 1 s window of motion around frame t to the MiniLM caption space
  (384-d, unit length). It is a ridge-regression map from yaw-free window statistics (per joint:
  height, distance from the pelvis axis and speed, mean and spread over the window) to the caption
  embeddings of the Bandai-Namco clips (``training/patterns/motion_semantic.py``); weights
  ``motion_core/weights/motion_semantic.npz`` (trained on CC BY-NC 4.0 data, like the motion model).
- dh/dt: |h(t) - h(t - 1)| x fps, the speed of the unit vector (per second).
- A trigger at each local maximum of dh/dt above SYMBOL_RATE_THRESHOLD (0.35, seed 002 section
  5.1), at least SYMBOL_MIN_GAP_S apart: the "bone event" the symbol marks is that frame.
- eq. 9, T = G(F_vis) * I_base + eps(t) M_symbol: eps(t) is 1 from a trigger frame for
  SYMBOL_HOLD_S, else 0, keyed with constant interpolation on the costume material (addon/symbols.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import config
from .encoder import l2n

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "motion_semantic.npz"
WINDOW_S = 1.0  # product choice: about one dance gesture


def window_features(pose: np.ndarray, fps: float = config.FPS, window_s: float = WINDOW_S) -> np.ndarray:
    """pose (T, 21, 3) canonical joint positions (metres, Z up) -> (T, 128) features of the window
    centred on each frame: per joint mean and std of height, horizontal distance from the pelvis and
    speed; plus the pelvis's horizontal speed mean and std. Invariant to heading and position."""
    p = np.asarray(pose, np.float32)
    t = len(p)
    height = p[..., 2] - p[..., 2].min()
    rel = p[..., :2] - p[:, :1, :2]
    radial = np.linalg.norm(rel, axis=-1)
    vel = np.zeros_like(p)
    vel[1:] = (p[1:] - p[:-1]) * fps
    vel[0] = vel[1] if t > 1 else 0
    speed = np.linalg.norm(vel, axis=-1)
    root = np.linalg.norm(vel[:, 0, :2], axis=-1)[:, None]
    per = np.concatenate([height, radial, speed, root], axis=1)  # (T, 64)
    half = max(1, int(round(window_s * fps / 2)))
    c = np.cumsum(np.pad(per, ((1, 0), (0, 0))), axis=0)
    c2 = np.cumsum(np.pad(per ** 2, ((1, 0), (0, 0))), axis=0)
    lo = np.clip(np.arange(t) - half, 0, t)
    hi = np.clip(np.arange(t) + half + 1, 0, t)
    n = (hi - lo)[:, None]
    mean = (c[hi] - c[lo]) / n
    std = np.sqrt(np.maximum((c2[hi] - c2[lo]) / n - mean ** 2, 0))
    return np.concatenate([mean, std], axis=1).astype(np.float32)


@dataclass
class MotionSemantic:
    mean: np.ndarray  # (128,) feature mean
    std: np.ndarray  # (128,)
    w: np.ndarray  # (128, 384)
    b: np.ndarray  # (384,)

    def trajectory(self, pose: np.ndarray, fps: float = config.FPS) -> np.ndarray:
        """h_sem(t): (T, 384) unit vectors."""
        f = (window_features(pose, fps) - self.mean) / self.std
        return l2n(f @ self.w + self.b)


def load_motion_semantic(path: str | Path | None = None) -> MotionSemantic:
    z = np.load(path or WEIGHTS, allow_pickle=False)
    return MotionSemantic(*(z[k].astype(np.float32) for k in ("mean", "std", "w", "b")))


def semantic_rate(h: np.ndarray, fps: float = config.FPS) -> np.ndarray:
    """|dh/dt| per frame (per second); frame 0 is 0."""
    r = np.zeros(len(h), np.float32)
    r[1:] = np.linalg.norm(np.diff(h, axis=0), axis=1) * fps
    return r


def triggers(rate: np.ndarray, threshold: float = config.SYMBOL_RATE_THRESHOLD, fps: float = config.FPS,
             min_gap_s: float = config.SYMBOL_MIN_GAP_S) -> list[int]:
    """Frames where dh/dt has a local maximum above ``threshold``, strongest first kept, ``min_gap_s`` apart."""
    r = np.asarray(rate)
    peaks = [i for i in range(1, len(r) - 1) if r[i] > threshold and r[i] >= r[i - 1] and r[i] >= r[i + 1]]
    gap = int(round(min_gap_s * fps))
    kept: list[int] = []
    for i in sorted(peaks, key=lambda i: -r[i]):
        if all(abs(i - k) >= gap for k in kept):
            kept.append(i)
    return sorted(kept)


def epsilon(frames: int, trig: list[int], fps: float = config.FPS, hold_s: float = config.SYMBOL_HOLD_S) -> np.ndarray:
    """eps(t) of eq. 9: 1 for ``hold_s`` from each trigger, else 0."""
    return eps_at(trig, np.arange(frames), 0, 1.0, fps, hold_s)


def eps_at(trigger_frames: list[int], scene_frames: np.ndarray, frame_start: int, time_scale: float = 1.0,
           fps: float = config.FPS, hold_s: float = config.SYMBOL_HOLD_S) -> np.ndarray:
    """eps(t) on a Blender action's frames: ``trigger_frames`` are motion frames (0-based, at ``fps``)
    keyed from scene frame ``frame_start`` with ``time_scale`` scene frames per motion frame (as
    KeyAction keys them); returns (len(scene_frames),) float32, 1 for ``hold_s`` after each trigger."""
    f = np.asarray(scene_frames, np.float64)
    e = np.zeros(len(f), np.float32)
    hold = max(1, int(round(hold_s * fps))) * time_scale
    for t in trigger_frames:
        start = frame_start + t * time_scale
        e[(f >= start - 1e-6) & (f < start + hold - 1e-6)] = 1.0
    return e


@dataclass
class SymbolSchedule:
    rate: np.ndarray
    triggers: list[int]
    eps: np.ndarray

    def to_json(self) -> dict:
        return {"threshold_per_s": config.SYMBOL_RATE_THRESHOLD, "trigger_frames": self.triggers,
                "trigger_seconds": [round(t / config.FPS, 3) for t in self.triggers],
                "rate_max_per_s": round(float(self.rate.max()), 4) if len(self.rate) else 0.0,
                "rate_median_per_s": round(float(np.median(self.rate)), 4) if len(self.rate) else 0.0,
                "hold_s": config.SYMBOL_HOLD_S, "source": "seed 002 section 5.1 (d h_sem/dt > 0.35; eq. 9)"}


def schedule(pose: np.ndarray, model: MotionSemantic, fps: float = config.FPS) -> SymbolSchedule:
    """h_sem, its rate and the triggers; the first and last half window are left out (the window
    shrinks there, which moves h_sem without any movement)."""
    h = model.trajectory(pose, fps)
    r = semantic_rate(h, fps)
    half = int(round(WINDOW_S * fps / 2)) + 2
    r[:half] = 0
    r[max(len(r) - half, 0):] = 0
    trig = triggers(r, fps=fps)
    return SymbolSchedule(r, trig, epsilon(len(r), trig, fps))


def bone_event_offsets(pose: np.ndarray, trig: list[int], fps: float = config.FPS, search_s: float = 0.5) -> list[int]:
    """For each trigger, the offset in frames to the nearest local maximum of the mean joint
    acceleration within +-``search_s`` (the bone event the symbol marks); 0 when none is there."""
    p = np.asarray(pose, np.float32)
    acc = np.zeros(len(p), np.float32)
    if len(p) > 2:
        acc[1:-1] = np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1).mean(1)
    peaks = [i for i in range(1, len(acc) - 1) if acc[i] >= acc[i - 1] and acc[i] >= acc[i + 1] and acc[i] > 0]
    w = int(round(search_s * fps))
    out = []
    for t in trig:
        near = [i - t for i in peaks if abs(i - t) <= w]
        out.append(min(near, key=abs) if near else 0)
    return out
