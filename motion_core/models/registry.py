"""Motion models by kind: a weights file names its kind, the registry finds the class.

Each exported ``.npz`` holds a JSON ``meta`` whose ``model`` key names the kind (files written
before kinds existed are ``phase-mdn``). A kind is one class with a fixed interface
(:class:`motion_core.models.generate.MotionGenerator`) and a ``REQUIRED`` tuple of arrays; adding a
model means adding one entry to :data:`KINDS`, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .ar_mdn import ARModel
from .generate import ModelError, MotionGenerator
from .mdn import PhaseMDN

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
#: the model the product ships and uses when none is named: the autoregressive MDN-LSTM (issue #10)
SHIPPED = WEIGHTS / "motion_ar.npz"
LEGACY_KIND = "phase-mdn"
KINDS: dict[str, Any] = {cls.kind: cls for cls in (ARModel, PhaseMDN)}


def load_model(path: str | Path | None = None) -> MotionGenerator:
    """Load exported weights (default: :data:`SHIPPED`) as the class their metadata names.

    Raises ModelError with one line naming the file and what to do when it is missing, corrupt,
    of an unknown kind or lacks an array its kind needs. Nothing else is ever loaded in its place.
    """
    path = Path(path) if path else SHIPPED
    if not path.exists():
        raise ModelError(f"motion model weights not found at {path}; choose an exported model file "
                         "(python -m training.export_ar writes one), or reinstall the add-on for the shipped one")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "meta" not in z.files:
                raise ModelError(f"{path} is not a Heritage Motion model: it has no metadata")
            meta = json.loads(str(z["meta"]))
    except ModelError:
        raise
    except Exception as e:  # zip, pickle and decode errors all mean a corrupt file
        raise ModelError(f"motion model weights at {path} are unreadable ({type(e).__name__}: {e})") from None
    kind = meta.get("model", LEGACY_KIND) if isinstance(meta, dict) else None
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ModelError(f"{path}: model kind {kind!r} is unknown to this version (knows "
                         f"{', '.join(sorted(KINDS))}); update Heritage Motion or export the model again")
    model: MotionGenerator = cls.load(path)
    return model
