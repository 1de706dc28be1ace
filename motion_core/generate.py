"""Prompt -> canonical Motion, with numpy alone.

Generation follows seed 002 section 4: the component is chosen by the cultural weights
``w_k = pi_k * p_prior(mu_k)`` ("canonical" mode, the default) or sampled by ``pi_k`` ("diverse").
One component is kept for the whole sequence and the noise is smooth in time, so nothing jitters.
``p_prior`` is the pose prior of the training (content, style) pair whose captions are closest to
the prompt (cosine of sentence embeddings); the pair is reported, so a user sees what the prompt
was read as. Output is reproducible from (prompt, seconds, seed, mode, model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import canonical, config
from . import pose_vector as pv
from .mdn import MotionModel, phase_features
from .motion import Motion, leg_length
from .text_encoder import TextEncoder

MODES = ("canonical", "diverse")


class GenerationError(ValueError):
    """A request the generator cannot honour; the message says what to change."""


@dataclass
class Generation:
    motion: Motion
    info: dict = field(default_factory=dict)
    #: (21,) the chosen component's spread per joint, degrees (mean over frames and 6D dims); used
    #: to weigh a rule pack's prior against the model (motion_core.intercept.prior_pull).
    joint_std_deg: np.ndarray | None = None


def skeleton_feature(tpose: np.ndarray) -> np.ndarray:
    """(21, 3) T-pose -> (63,) divided by leg length, as in training."""
    return (np.asarray(tpose) / leg_length(np.asarray(tpose))).reshape(-1).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, frames: int, dims: int, width_s: float = 0.5) -> np.ndarray:
    """Unit-variance Gaussian noise, low-passed over ~``width_s`` seconds (no frame-to-frame jitter)."""
    sigma = width_s * config.FPS / 2
    half = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= np.sqrt((kernel ** 2).sum())  # keeps unit variance
    white = rng.standard_normal((frames + 2 * half, dims))
    out = np.stack([np.convolve(white[:, d], kernel, mode="valid") for d in range(dims)], -1)
    return out[:frames]


_DURATION = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d+)?)\s*(?:s|sec|secs|second|seconds)\b", re.I)


def duration_from_prompt(prompt: str) -> float | None:
    """'a slow bow, 12 seconds' -> 12.0; None when the prompt names no duration."""
    m = _DURATION.search(prompt)
    return float(m.group(1)) if m else None


def validate(prompt: str, seconds: float, mode: str) -> str:
    text = " ".join(str(prompt).split())
    if not text:
        raise GenerationError("the prompt is empty; describe the motion, e.g. \"a proud bow\"")
    if not (np.isfinite(seconds) and config.MIN_SECONDS <= seconds <= config.MAX_SECONDS):
        raise GenerationError(f"duration {seconds:g} s is out of range; choose {config.MIN_SECONDS:g} to "
                              f"{config.MAX_SECONDS:g} seconds")
    if mode not in MODES:
        raise GenerationError(f"mode {mode!r} is unknown; choose {' or '.join(MODES)}")
    return text


def generate(prompt: str, seconds: float, seed: int, model: MotionModel, encoder: TextEncoder,
             mode: str = "canonical", tpose: np.ndarray | None = None) -> Generation:
    """Generate ``seconds`` of motion at 25 fps for ``prompt``.

    Args:
        tpose: (21, 3) the target rig's canonical T-pose (metres) for the skeleton feature; the
            model's training skeleton when None. The motion is returned on the model's skeleton;
            retargeting adapts it to any rig.
    """
    text = validate(prompt, seconds, mode)
    frames = int(round(seconds * config.FPS))
    rng = np.random.default_rng(seed)
    emb = encoder.encode(text)[0]
    p = model.params
    skel = skeleton_feature(p["tpose"] if tpose is None else tpose)
    offset = float(rng.uniform(0.0, max(config.PHASE_PERIODS_S)))
    log_pi, mu, sigma = model.forward(emb, skel, phase_features(frames, offset), need_sigma=True)

    sims = p["pair_emb"] @ emb
    pair = int(np.argmax(sims))
    pm, ps = p["prior_mean"][pair], p["prior_std"][pair]
    rot = slice(0, pv.ROT_DIMS)
    z = (mu[:, :, rot] - pm) / ps  # (T, K, 126)
    log_prior = (-0.5 * z * z - np.log(ps) - 0.5 * np.log(2 * np.pi)).sum(-1).mean(0)  # (K,) per frame
    log_w = log_pi + log_prior
    if mode == "canonical":
        k = int(np.argmax(log_w))
        y = mu[:, k]
    else:
        k = int(rng.choice(len(log_pi), p=np.exp(log_pi) / np.exp(log_pi).sum()))
        y = mu[:, k] + sigma[:, k] * _smooth_noise(rng, frames, mu.shape[-1]).astype(np.float32)
    raw = y * p["std"] + p["mean"]
    spread = (sigma[:, k, rot] * p["std"][rot]).reshape(frames, len(canonical.JOINTS), 6).mean((0, 2))
    motion = pv.vector_to_motion(raw, p["tpose"].astype(np.float64), config.FPS)
    w = np.exp(log_w - log_w.max())
    info = {
        "prompt": text, "seconds": frames / config.FPS, "frames": frames, "fps": config.FPS, "seed": int(seed),
        "mode": mode, "component": k,
        "mixture_weights": [round(float(x), 4) for x in np.exp(log_pi)],
        "cultural_weights": [round(float(x), 4) for x in w / w.sum()],
        "prior_pair": {"content": model.meta["pairs"][pair][0], "style": model.meta["pairs"][pair][1],
                       "similarity": round(float(sims[pair]), 3),
                       "source": "training clips of this pair (Bandai-Namco, CC BY-NC 4.0)"},
        "model": {"file": model.source, "trained_steps": model.meta.get("trained_steps"),
                  "motion_core_version": model.meta.get("motion_core_version")},
    }
    return Generation(motion, info, np.degrees(spread))
