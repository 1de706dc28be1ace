"""Prompt -> canonical Motion, with numpy alone: the front door every motion model shares.

:func:`generate` validates the request, embeds the prompt and asks the model (any
:class:`MotionGenerator` found by :mod:`motion_core.models.registry`) for ``seconds`` of motion at
25 fps. Output is reproducible from (prompt, seconds, seed, mode, model): every random draw comes
from ``numpy.random.default_rng(seed)``, created per call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from .. import config
from ..skeleton.motion import Motion, leg_length
from ..text.encoder import TextEncoder

MODES = ("canonical", "diverse")


class GenerationError(ValueError):
    """A request the generator cannot honour; the message says what to change."""


class ModelError(RuntimeError):
    """The motion model's weights are missing, unreadable, of an unknown kind or inconsistent."""


@dataclass
class Generation:
    motion: Motion
    info: dict[str, Any] = field(default_factory=dict)
    #: (21,) the chosen component's spread per joint, degrees (mean over frames and 6D dims); used
    #: to weigh a rule pack's prior against the model (motion_core.rules.prior.prior_pull).
    joint_std_deg: np.ndarray | None = None
    #: (T, 2) the model's foot-contact probabilities (left, right) at 25 fps, for the foot locks
    contacts: np.ndarray | None = None


class MotionGenerator(Protocol):
    """What a motion model offers the pipeline. One class per kind, registered by the ``model``
    key of its weights file's metadata (:mod:`motion_core.models.registry`)."""

    kind: ClassVar[str]
    source: str  # the weights file
    meta: dict[str, Any]

    def generate(self, text: str, encoder: TextEncoder, seconds: float, seed: int, mode: str,
                 tpose: np.ndarray | None = None, temperature: float | None = None) -> Generation:
        """``text`` read through ``encoder`` (each model takes what it needs: a sentence embedding,
        token states); ``tpose`` (21, 3) metres of the target rig (the model's own skeleton when None);
        ``temperature`` scales the sampling noise (None: the model's default). Returns ``seconds`` of
        motion at 25 fps on the model's skeleton."""
        ...


@dataclass
class Weights:
    """Exported network weights (float32) and their metadata, with the sizes every model reads."""

    params: dict[str, np.ndarray]
    meta: dict[str, Any]
    source: str  # the weights file

    @property
    def k(self) -> int:
        """Mixture components (seed 002: K = 5)."""
        return int(self.meta["k"])

    @property
    def hidden(self) -> int:
        return int(self.meta["hidden"])

    @property
    def layers(self) -> int:
        return int(self.meta["layers"])

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.params[name + ".weight"].T + self.params[name + ".bias"]


def read_weights(path: Path, required: tuple[str, ...], what: str, to_do: str,
                 check_meta: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(float32 arrays, metadata) of an exported ``.npz``, in one pass over the file; ModelError naming
    ``path`` and ``to_do`` when it has no metadata, lacks an array of ``required``, is unreadable or holds
    NaN. ``check_meta`` (raising ModelError) sees the metadata before the arrays are checked, so a file of
    another kind is named as such rather than as one missing arrays."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "meta" not in z.files:
                raise ModelError(f"{path} is not a Heritage Motion {what} (no metadata); {to_do}")
            meta = json.loads(str(z["meta"]))
            if check_meta is not None:
                check_meta(meta)
            missing = [k for k in required if k not in z.files]
            if missing:
                raise ModelError(f"{path} is not a Heritage Motion {what}: it lacks {', '.join(missing)}; {to_do}")
            params = {k: z[k].astype(np.float32) for k in z.files if k != "meta"}
    except ModelError:
        raise
    except Exception as e:  # zip, pickle and decode errors all mean a corrupt file
        raise ModelError(f"{path} is unreadable ({type(e).__name__}: {e}); {to_do}") from None
    for k, v in params.items():
        if not np.all(np.isfinite(v)):
            raise ModelError(f"{path}: parameter {k} holds NaN or infinite values; {to_do}")
    return params, meta


def skeleton_feature(tpose: np.ndarray) -> np.ndarray:
    """(21, 3) T-pose -> (63,) divided by leg length, as in training."""
    return (np.asarray(tpose) / leg_length(np.asarray(tpose))).reshape(-1).astype(np.float32)


def smooth_noise(rng: np.random.Generator, frames: int, dims: int, width_s: float = 0.5) -> np.ndarray:
    """(frames, dims) unit-variance Gaussian noise, low-passed over ~``width_s`` seconds (no jitter)."""
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


def request_seconds(prompt: str, given: float | None, default: float, lo: float = config.MIN_SECONDS,
                    hi: float = config.MAX_SECONDS) -> float:
    """The duration of a request: ``given`` if set, else the one the prompt names, else ``default``.
    A duration named in the prompt outside ``lo..hi`` is refused (never silently replaced)."""
    if given is not None:
        return float(given)
    named = duration_from_prompt(prompt)
    if named is None:
        return default
    if not lo <= named <= hi:
        raise GenerationError(f"the prompt names {named:g} seconds; choose {lo:g} to {hi:g} seconds "
                              "(in the prompt, or with --seconds)")
    return named


def check_seed(seed: object, what: str = "seed") -> int:
    """A seed is a whole number from 0 to 2**32 - 1; ``what`` names the option in the message."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
        raise GenerationError(f"{what} {seed!r}: expected a whole number from 0 to {2 ** 32 - 1}")
    return seed


def understanding(info: dict[str, Any]) -> dict[str, Any] | None:
    """Whether the prompt was understood: the similarity of the closest training (content, style)
    pair against ``config.PROMPT_MIN_SIMILARITY``, with a warning when it is below."""
    pp = info.get("prior_pair") or {}
    if "similarity" not in pp:
        return None
    sim, lo = float(pp["similarity"]), config.PROMPT_MIN_SIMILARITY
    out: dict[str, Any] = {"understood": sim >= lo, "similarity": round(sim, 3), "threshold": lo, "warning": None}
    if sim < lo:
        out["warning"] = (f"the prompt was not understood: its closest training description, '{pp.get('content')}' / "
                          f"'{pp.get('style')}', has similarity {sim:.2f} (below {lo:g}); the model knows English "
                          "descriptions of everyday motion and a few dance genres, so this dance does not follow the prompt")
    return out


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


def generate(prompt: str, seconds: float, seed: int, model: MotionGenerator, encoder: TextEncoder,
             mode: str = "canonical", tpose: np.ndarray | None = None, temperature: float | None = None) -> Generation:
    """Generate ``seconds`` of motion at 25 fps for ``prompt``.

    Args:
        tpose: (21, 3) the target rig's canonical T-pose (metres) for the skeleton feature; the
            model's training skeleton when None. The motion is returned on the model's skeleton;
            retargeting adapts it to any rig.
    """
    text = validate(prompt, seconds, mode)
    check_seed(seed)
    if temperature is not None and not (np.isfinite(temperature) and 0 <= temperature <= config.MAX_TEMPERATURE):
        raise GenerationError(f"temperature {temperature:g} is out of range; choose 0 (the means) to "
                              f"{config.MAX_TEMPERATURE:g}")
    gen = model.generate(text, encoder, seconds, seed, mode, tpose, temperature)
    u = understanding(gen.info)
    if u is not None:
        gen.info["understanding"] = u
    return gen
