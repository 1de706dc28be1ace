"""Export a training checkpoint to the numpy model file the add-on and CLI load.

    python -m training.export_model runs/full/checkpoint.pt [--out motion_core/weights/motion_mdn.npz] [--fp32]

Weights are stored in fp16 by default (the shipped file); statistics stay fp32.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from motion_core import __version__, config
from motion_core.models.registry import WEIGHTS

from .model import MotionMDN
from .runs import write_weights

#: the phase-conditioned baseline's file (the shipped model is the autoregressive one, motion_ar.npz)
PHASE_WEIGHTS = WEIGHTS / "motion_mdn.npz"


def export(checkpoint: Path, out: Path, fp16: bool = True, extra_meta: dict | None = None) -> Path:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)  # tensors and plain data only
    stats = {k: v.numpy() if torch.is_tensor(v) else np.asarray(v) for k, v in state["stats"].items()}
    meta = state["meta"]
    cfg = meta["config"]
    model = MotionMDN(stats["mean"], stats["std"], hidden=cfg["hidden"], layers=cfg["layers"])
    model.load_state_dict(state["model"])
    arrays = {}
    for k, v in model.state_dict().items():
        a = v.detach().numpy()
        arrays[k] = a.astype(np.float16) if fp16 and k not in ("mean", "std", "floor") else a.astype(np.float32)
    for k in ("prior_mean", "prior_std", "pair_emb", "tpose"):
        arrays[k] = np.asarray(stats[k], dtype=np.float32)
    info = {
        "format": 1, "k": config.MDN_COMPONENTS, "hidden": cfg["hidden"], "layers": cfg["layers"],
        "pairs": [list(p) for p in meta["pairs"]], "trained_steps": state["step"], "config": cfg,
        "motion_core_version": __version__, "fp16": fp16,
        "data": "Bandai-Namco-Research-Motiondataset 1 and 2 (Bandai Namco Research Inc.), CC BY-NC 4.0",
        "license": "CC BY-NC 4.0 (derived from the training data): non-commercial use only",
        **(extra_meta or {}),
    }
    return write_weights(out, arrays, info)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.export_model", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, default=PHASE_WEIGHTS)
    p.add_argument("--fp32", action="store_true")
    a = p.parse_args(argv)
    out = export(a.checkpoint, a.out, fp16=not a.fp32)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
