"""Prompt -> constrained canonical motion plus its audit: the one path the CLI, the batch and the
add-on share (text embedding -> motion model -> rule pack: prior, taboos, limits, IK)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audit import build_audit
from .constrain import apply_pack
from .generate import generate
from .mdn import MotionModel
from .motion import Motion
from .rule_pack import DEFAULT_PACK, RulePack, load_pack
from .text_encoder import TextEncoder


@dataclass
class Result:
    motion: Motion
    info: dict  # the generator's record
    audit: dict


def run(prompt: str, seconds: float, seed: int, model: MotionModel, encoder: TextEncoder,
        mode: str = "canonical", rules: str | RulePack | None = DEFAULT_PACK,
        tpose: np.ndarray | None = None, feet: bool = True) -> Result:
    """Generate ``seconds`` at 25 fps and apply ``rules`` (a pack, a pack file or built-in name).

    The pack is validated before anything is generated (a bad pack raises RulePackError).
    """
    pack = rules if isinstance(rules, RulePack) else load_pack(rules or DEFAULT_PACK)
    gen = generate(prompt, seconds, seed, model, encoder, mode, tpose=tpose)
    result = apply_pack(gen.motion, pack, gen.joint_std_deg, feet=feet)
    return Result(result.motion, gen.info, build_audit(pack, result, gen.info))
