"""Choose the costume's patterns and colours for a prompt (or a pattern query), numpy only.

    plan = plan_costume("a proud dance with paulownia crests", encoder, bank, pack)

The query is embedded by the project's MiniLM and matched against the bank items' semantic
embeddings; the best distinct prototypes dress the parts in order (bodice, skirt, sleeves,
headdress). Each part gets its prototype's representative image as a texture, the palette after
the pack's colour rules (:mod:`.colour`), and a record of where it came from (member count, image
path, source, licence) for the audit. The add-on (``addon/costume.py``) turns a plan into materials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..rules.pack import RulePack
from .bank import PatternBank
from .colour import DEFAULT_PALETTE, DRESSED_PARTS, apply_colour_rules

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "weights" / "patterns"
SHIPPED_BANK = SHIPPED_DIR / "pattern_bank.npz"
#: Metres of surface per repeat of the pattern, per part (product choice: a crest a hand wide on
#: the bodice, larger on the skirt).
TILE_M = {"HM Bodice": 0.12, "HM Skirt": 0.18, "HM Sleeves": 0.10, "HM Headdress": 0.08}
TILE_M_DEFAULT = 0.15
CAPTION_WARNING = ("Patterns are matched through English captions written for this project; the captions and "
                   "their sacredness marks are illustrative, not ethnographic statements.")


class PatternBankError(RuntimeError):
    """The pattern bank is missing or unreadable; the message says where."""


def load_bank(path: str | Path | None = None) -> PatternBank:
    p = Path(path) if path else SHIPPED_BANK
    if not p.exists() or not p.with_suffix(".json").exists():
        raise PatternBankError(f"no pattern bank at {p} (build one with python -m motion_core patterns build)")
    try:
        return PatternBank.load(p)
    except (OSError, ValueError, KeyError) as e:
        raise PatternBankError(f"pattern bank {p} is unreadable: {e}") from None


@dataclass
class PartChoice:
    part: str
    prototype: int
    similarity: float
    texture: Path
    provenance: dict[str, Any]
    ground: tuple[float, ...]  # linear RGB
    ink: tuple[float, ...]
    tile_m: float

    def to_json(self) -> dict[str, Any]:
        return {"part": self.part, "prototype": self.prototype, "similarity": round(self.similarity, 4),
                "texture": self.texture.name, **self.provenance,
                "ground_srgb": [round(c, 3) for c in self.ground], "ink_srgb": [round(c, 3) for c in self.ink],
                "tile_m": self.tile_m}


@dataclass
class CostumePlan:
    query: str
    query_source: str  # "prompt" | "pattern query"
    bank: dict[str, Any]
    parts: list[PartChoice]
    colour_rules: list[dict[str, Any]]
    colour_rules_note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_audit(self) -> dict[str, Any]:
        """The ``costume`` section of the audit record (docs/audit.md)."""
        out = {"query": self.query, "query_source": self.query_source, "bank": self.bank,
               "parts": [p.to_json() for p in self.parts], "colour_rules": self.colour_rules,
               "warning": CAPTION_WARNING, **self.extra}
        if self.colour_rules_note:
            out["colour_rules_note"] = self.colour_rules_note
        return out


def texture_path(bank: PatternBank, bank_path: Path, item_index: int) -> Path:
    """The image file of a bank item: its ``texture`` (relative to the bank's folder, the shipped
    bank's CC BY-SA prints) or its ``path`` (a user library's own image)."""
    it = bank.items[item_index]
    rel = it.get("texture") or it.get("path")
    if not rel:
        raise PatternBankError(f"{bank_path}: item {item_index} names no image")
    p = Path(rel)
    return p if p.is_absolute() else bank_path.parent / p


def plan_costume(query: str, text_embedding: np.ndarray, bank: PatternBank, pack: RulePack | None,
                 bank_path: str | Path = SHIPPED_BANK, parts: tuple[str, ...] | list[str] = DRESSED_PARTS,
                 query_source: str = "prompt", context: str = "") -> CostumePlan:
    """Patterns and colours for ``parts``; ``text_embedding`` (384,) is MiniLM's embedding of ``query``.
    The colour rules read their contexts (e.g. "funeral") in ``query`` and ``context`` (the prompt)."""
    bank_path = Path(bank_path)
    protos = bank.prototypes_for_text(text_embedding, k=max(1, len(parts)))
    sims = bank.sem @ np.asarray(text_embedding, np.float32).ravel()
    palette = {p: DEFAULT_PALETTE.get(p, DEFAULT_PALETTE[DRESSED_PARTS[k % len(DRESSED_PARTS)]])
               for k, p in enumerate(parts)}
    rules = list(pack.colour_rules) if pack is not None else []
    note = "" if rules else f"rule pack {pack.name if pack else '(none)'} has no colour rules"
    symbols = [it.get("label") for it in bank.items]
    if rules:
        palette, report = apply_colour_rules(palette, rules, pack.name, pack.status,  # type: ignore[union-attr]
                                             f"{query} {context}",
                                             symbols=[s for s in symbols if s])
    else:
        report = []
    choices = []
    for k, part in enumerate(parts):
        proto = protos[k % len(protos)]
        med = int(bank.medoid[proto])
        members = bank.members(proto)
        ground, ink = palette[part]
        choices.append(PartChoice(part, proto, float(sims[members].max()), texture_path(bank, bank_path, med),
                                  bank.provenance(proto), tuple(ground), tuple(ink), TILE_M.get(part, TILE_M_DEFAULT)))
    info = {"file": bank_path.name, "items": len(bank.items), "prototypes": len(bank.prototypes),
            "notice": bank.info.get("notice", ""), "data": bank.info.get("data", "")}
    return CostumePlan(query, query_source, info, choices, report, note)
