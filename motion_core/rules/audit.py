"""The audit record: the seed's three-stage review loop, written next to every output.

Documented field by field in ``docs/audit.md``; :meth:`AuditRecord.to_json` is its one serialiser
and :meth:`AuditRecord.from_json` reads it back (the add-on stores it on the action as JSON).
``pre`` says which rule pack governed the clip (name, version, content hash, review status,
sources); ``during`` lists every interception, projection, prior pull and foot lock; ``after``
gives the compliance before and after. ``review`` is left for the expert who checks the clip.
The per-step records inside ``during`` are JSON objects whose fields docs/audit.md lists.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .pack import RulePack

FORMAT = "heritage-motion-audit"
FORMAT_VERSION = 1

Json = dict[str, Any]


@dataclass
class Compliance:
    """How a motion sits against a pack: frames in each taboo, frames outside the joint limits."""

    frames: int
    taboo_frames: dict[str, int]
    frames_outside_limits: int
    compliant_share: float
    #: with a prior: ``mean_angle_to_prior_deg`` and ``mean_log_density``
    prior: dict[str, float] | None = None

    def to_json(self) -> Json:
        out = asdict(self)
        if self.prior is None:
            del out["prior"]
        return out

    @classmethod
    def from_json(cls, d: Json) -> Compliance:
        return cls(int(d["frames"]), dict(d["taboo_frames"]), int(d["frames_outside_limits"]),
                   float(d["compliant_share"]), d.get("prior"))


@dataclass
class During:
    """What each constraint step did (seed 002 eqs. 8-11), in the order they ran."""

    interceptions: list[Json] = field(default_factory=list)
    late_interceptions: list[Json] = field(default_factory=list)
    limit_projections: list[Json] = field(default_factory=list)
    foot_locks: Json | None = None
    prior_pull: Json | None = None

    @property
    def taboo_intervals(self) -> int:
        """Number of (rule, run of frames) replaced."""
        return sum(len(r["runs"]) for r in self.interceptions)

    def to_json(self) -> Json:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, d: Json) -> During:
        return cls(list(d.get("interceptions", [])), list(d.get("late_interceptions", [])),
                   list(d.get("limit_projections", [])), d.get("foot_locks"), d.get("prior_pull"))


@dataclass
class AuditRecord:
    request: Json  # prompt, seconds, frames, fps, seed, mode: all that regenerates the motion
    model: Json | None
    generation: Json  # component, mixture and cultural weights, the prior pair the prompt was read as
    pack: Json  # RulePack.summary()
    sources: dict[str, Json]
    warning: str
    during: During
    before: Compliance
    after: Compliance
    review: Json = field(default_factory=lambda: {"status": "not reviewed", "reviewer": None, "notes": None})
    output: Json = field(default_factory=dict)
    #: the patterns put on the costume, their sources and licences, and the colour rules applied or
    #: checked (motion_core.patterns.costume.CostumePlan.to_audit); None when the costume was not dressed
    costume: Json | None = None
    created_utc: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat())

    @property
    def illustrative(self) -> bool:
        return self.pack.get("status") == "illustrative"

    def to_json(self) -> Json:
        out: Json = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "created_utc": self.created_utc,
            "request": self.request, "model": self.model, "generation": self.generation,
            "pre": {"rule_pack": self.pack, "validated": True, "sources": self.sources, "warning": self.warning},
            "during": self.during.to_json(),
            "after": {"before": self.before.to_json(), "after": self.after.to_json()},
            "review": self.review,
        }
        if self.costume is not None:
            out["costume"] = self.costume
        if self.output:
            out["output"] = self.output
        return out

    @classmethod
    def from_json(cls, d: Json) -> AuditRecord:
        """Read a record written by :meth:`to_json`; ValueError when it is not one."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError("not a Heritage Motion audit record")
        if d.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"audit record format {d.get('format_version')} is not {FORMAT_VERSION}")
        try:
            return cls(d["request"], d.get("model"), d.get("generation", {}), d["pre"]["rule_pack"],
                       d["pre"].get("sources", {}), d["pre"].get("warning", ""), During.from_json(d["during"]),
                       Compliance.from_json(d["after"]["before"]), Compliance.from_json(d["after"]["after"]),
                       d.get("review", {}), d.get("output", {}), d.get("costume"), d.get("created_utc", ""))
        except (KeyError, TypeError) as e:
            raise ValueError(f"audit record lacks {e}") from None


def build_audit(pack: RulePack, during: During, before: Compliance, after: Compliance,
                generation: Json) -> AuditRecord:
    """The audit record for one output; ``generation`` is the generator's record."""
    warning = ("This pack is " + pack.status + ": " + pack.status_note) if pack.status_note else ""
    return AuditRecord(
        request={k: generation.get(k) for k in ("prompt", "seconds", "frames", "fps", "seed", "mode")}
        | ({"temperature": generation["temperature"]} if "temperature" in generation else {}),
        model=generation.get("model"),
        generation={k: generation.get(k) for k in ("component", "mixture_weights", "cultural_weights", "prior_pair",
                                                   "component_share", "temperature", "grounding") if k in generation}
        | ({"understanding": generation["understanding"]} if "understanding" in generation else {}),
        pack=pack.summary(), sources=pack.sources, warning=warning, during=during, before=before, after=after)


def audit_path(output: str | os.PathLike[str]) -> Path:
    """``dance.bvh`` -> ``dance.audit.json``."""
    p = Path(output)
    return p.with_name(p.stem + ".audit.json")
