"""The audit record: the seed's three-stage review loop, written next to every output.

Documented field by field in ``docs/audit.md``. ``pre`` says which rule pack governed the clip
(name, version, content hash, review status, sources); ``during`` lists every interception,
projection, prior pull and foot lock; ``after`` gives the compliance figures before and after.
``review`` is left for the expert who checks the clip.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from .constrain import Constrained
from .rule_pack import RulePack

FORMAT = "heritage-motion-audit"
FORMAT_VERSION = 1


def build_audit(pack: RulePack, result: Constrained, generation: dict, extra: dict | None = None) -> dict:
    """The audit record (a JSON-ready dict) for one output."""
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "created_utc": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "request": {k: generation.get(k) for k in ("prompt", "seconds", "frames", "fps", "seed", "mode")},
        "model": generation.get("model"),
        "generation": {k: generation.get(k) for k in ("component", "mixture_weights", "cultural_weights",
                                                       "prior_pair")},
        "pre": {"rule_pack": pack.summary(), "validated": True, "sources": pack.sources,
                "warning": ("This pack is " + pack.status + ": " + pack.status_note) if pack.status_note else ""},
        "during": result.during,
        "after": result.after,
        "review": {"status": "not reviewed", "reviewer": None, "notes": None},
        **(extra or {}),
    }


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write JSON through a temporary file and a rename: never a half-written file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def audit_path(output: str | os.PathLike) -> Path:
    """``dance.bvh`` -> ``dance.audit.json``."""
    p = Path(output)
    return p.with_name(p.stem + ".audit.json")
