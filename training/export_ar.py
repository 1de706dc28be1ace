"""Export an autoregressive-model checkpoint to the numpy file the runtime loads.

    python -m training.export_ar runs/ar/checkpoint.pt [--out motion_core/weights/motion_ar.npz] [--fp32]

Weights are stored in fp16 by default (statistics and priors stay fp32). The file carries a
``meta`` JSON with ``format`` = ``heritage-motion/ar-mdn`` and ``model`` = ``ar-mdn-lstm``, so a
registry can tell it from the phase-conditioned ``motion_mdn.npz``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from motion_core import __version__, config
from motion_core.models.ar_mdn import FORMAT, FORMAT_VERSION, SHIPPED

from .ar_model import SIGMA_FLOOR, ARMotionMDN
from .runs import write_weights

FP32_KEYS = ("mean", "std", "prior_mean", "prior_std", "pair_emb", "tpose")


def load_checkpoint(checkpoint: Path) -> tuple[ARMotionMDN, dict]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    stats, cfg = state["stats"], state["meta"]["config"]
    model = ARMotionMDN(stats["mean"].numpy(), stats["std"].numpy(), hidden=cfg["hidden"], layers=cfg["layers"])
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def export(checkpoint: Path, out: Path, fp16: bool = True, extra_meta: dict | None = None) -> Path:
    model, state = load_checkpoint(checkpoint)
    stats, cfg = state["stats"], state["meta"]["config"]
    arrays = {}
    for k, v in model.state_dict().items():
        a = v.detach().numpy()
        arrays[k] = a.astype(np.float16) if fp16 and k not in FP32_KEYS else a.astype(np.float32)
    for k in FP32_KEYS[2:]:
        arrays[k] = stats[k].numpy().astype(np.float32)
    info = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "model": "ar-mdn-lstm",
        "k": config.MDN_COMPONENTS, "hidden": cfg["hidden"], "layers": cfg["layers"], "sigma_floor": SIGMA_FLOOR,
        "pairs": stats["pairs"], "trained_steps": int(state["step"]), "config": cfg, "fp16": fp16,
        "motion_core_version": __version__,
        "data": ["Bandai-Namco-Research-Motiondataset 1 and 2 (Bandai Namco Research Inc.), CC BY-NC 4.0",
                 "CMU Graphics Lab Motion Capture Database: Indian dance, salsa, martial arts (training takes). "
                 "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with "
                 "funding from NSF EIA-0196217."],
        "not_trained_on": "SFU dance clips (terms unverified; evaluation only)",
        "captions": "dance captions authored by the Heritage Motion project (training/dance_data.json)",
        "license": "CC BY-NC 4.0 (derived from the Bandai-Namco training data): non-commercial use only",
        **(extra_meta or {}),
    }
    return write_weights(out, arrays, info)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.export_ar", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, default=SHIPPED)
    p.add_argument("--fp32", action="store_true")
    a = p.parse_args(argv)
    if not a.checkpoint.exists():
        print(f"error: {a.checkpoint} not found", file=sys.stderr)
        return 1
    out = export(a.checkpoint, a.out, fp16=not a.fp32)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
