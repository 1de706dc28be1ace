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

from .generate import ModelError, MotionGenerator
from .mdn import PhaseMDN

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
#: the model the product ships and uses when none is named
SHIPPED = WEIGHTS / "motion_mdn.npz"
LEGACY_KIND = "phase-mdn"
KINDS: dict[str, Any] = {cls.kind: cls for cls in (PhaseMDN,)}


def load_model(path: str | Path | None = None) -> MotionGenerator:
    """Load exported weights (default: :data:`SHIPPED`) as the class their metadata names.

    Raises ModelError with one line naming the file and what to do when it is missing, corrupt,
    of an unknown kind or lacks an array its kind needs. Nothing else is ever loaded in its place.
    """
    path = Path(path) if path else SHIPPED
    if not path.exists():
        raise ModelError(f"motion model weights not found at {path}; "
                         "train and export one (python -m training.train, python -m training.export_model)")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "meta" not in z.files:
                raise ModelError(f"{path} is not a Heritage Motion model: it has no metadata")
            meta = json.loads(str(z["meta"]))
            kind = meta.get("model", LEGACY_KIND)
            cls = KINDS.get(kind)
            if cls is None:
                raise ModelError(f"{path}: model kind {kind!r} is unknown to this version (knows "
                                 f"{', '.join(sorted(KINDS))}); update Heritage Motion or export the model again")
            missing = [k for k in cls.REQUIRED if k not in z.files]
            if missing:
                raise ModelError(f"{path} is not a Heritage Motion {kind} model: it lacks {', '.join(missing)}")
            params = {k: z[k].astype(np.float32) for k in z.files if k != "meta" and z[k].dtype.kind == "f"}
            params.update({k: z[k] for k in z.files if k != "meta" and z[k].dtype.kind != "f"})
    except ModelError:
        raise
    except Exception as e:  # zip, pickle and decode errors all mean a corrupt file
        raise ModelError(f"motion model weights at {path} are unreadable ({type(e).__name__}: {e})") from None
    for k, v in params.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise ModelError(f"{path}: parameter {k} holds NaN or infinite values")
    model: MotionGenerator = cls(params, meta, str(path))
    return model
