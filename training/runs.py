"""What every training command shares: its run options, atomic checkpoints and loss curves.

A run folder holds ``checkpoint.pt`` (model, optimiser, step, log: written atomically, so a kill
leaves the previous one), ``log.jsonl`` and ``loss.png``. ``--resume`` continues from the
checkpoint; ``--stop-at N`` stops at step N with a checkpoint, so a long run can be split.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from motion_core.files import save_atomic


def add_run_arguments(p: argparse.ArgumentParser, out: str, threads: int = 1,
                      threads_help: str = "CPU threads (default 1)") -> None:
    """--out, --steps, --batch, --seed, --resume, --stop-at, --checkpoint-every, --threads."""
    p.add_argument("--out", default=out, help=f"run folder (default {out})")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    p.add_argument("--stop-at", type=int, help="stop (with a checkpoint) at this step; --resume continues")
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--threads", type=int, default=threads, help=threads_help)


def save_checkpoint(obj: Any, path: Path) -> None:
    """torch.save, atomically: a kill mid-write leaves the previous checkpoint."""
    import torch

    save_atomic(path, lambda tmp: torch.save(obj, tmp))


def plot_curves(log: list[dict], path: Path,
                panels: Sequence[tuple[str, Sequence[str], bool]] = (
                    ("NLL", ("nll", "val_nll"), False), ("L_cul terms", ("kl", "ref", "limit"), True))) -> None:
    """One panel per (title, log keys, log scale); a key present only on some rows (validation)
    is drawn as points on those rows. Skipped with a message without matplotlib (log.jsonl holds
    the numbers)."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no loss plot (see log.jsonl)", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for ax, (title, keys, log_scale) in zip(axes[0], panels, strict=True):
        for key in keys:
            rows = [(r["step"], r[key]) for r in log if key in r]
            if not rows:
                continue
            sparse = len(rows) < len(log)
            ax.plot(*zip(*rows, strict=True), "o-" if sparse else "-", label=key, ms=3)
        if log_scale and any(np.isfinite(r.get(k, np.nan)) and r.get(k, 0) > 0 for r in log for k in keys):
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.tight_layout()
    save_atomic(path, lambda tmp: fig.savefig(tmp, dpi=80))
    plt.close(fig)


def write_weights(out: Path, arrays: dict[str, np.ndarray], info: dict[str, Any]) -> Path:
    """Exported weights: ``arrays`` plus ``info`` as the JSON ``meta`` array the add-on reads, written
    compressed and atomically (a kill leaves the previous file or none)."""
    import json

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {**arrays, "meta": np.array(json.dumps(info))}
    save_atomic(out, lambda tmp: np.savez_compressed(tmp, **payload))
    return out
