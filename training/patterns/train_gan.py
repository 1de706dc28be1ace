"""The GAN of seed 001, all of it, in one resumable command (issue #13):

    python -m training.patterns.train_gan --out runs/gan-all [--parts restore,variants] [--export]

Runs, in order, the restoration GAN (``training.patterns.train_restore``: U-Net generator with
self-attention, spectral-norm patch discriminator) and the pattern GAN with its animation
(``training.patterns.train_gan_variants``: Table 2/3 DCGAN with self-attention, trajectory LSTM and
BiLSTM temporal discriminator), each in its own sub-folder of OUT with its checkpoints, progress
lines and loss plots. Run it again to resume: each part continues from its checkpoint. ``--export``
writes the add-on's weights (``motion_core/weights/patterns/restore.npz``, ``gan_variants.npz``).
One thread per part; the shipped runs took 44.5 min and about 40 min on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PARTS = ("restore", "variants")
WEIGHTS = Path(__file__).resolve().parents[2] / "motion_core" / "weights" / "patterns"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.patterns.train_gan", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/gan-all"))
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--restore-steps", type=int, default=4000, help="the shipped run's count")
    p.add_argument("--variant-steps", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=45.0, help="time box of each part (resumable after it)")
    p.add_argument("--export", action="store_true", help="write the add-on's weights when a part finishes")
    a = p.parse_args(argv)
    parts = [s.strip() for s in a.parts.split(",") if s.strip()]
    unknown = [s for s in parts if s not in PARTS]
    if unknown or not parts:
        p.error(f"--parts: {', '.join(unknown) or 'none given'}; choose from {', '.join(PARTS)}")
    if "restore" in parts:
        from training.patterns import export_restore, train_restore
        print("== restoration GAN", flush=True)
        try:
            train_restore.train(a.out / "restore", a.restore_steps, a.seed, time_limit_s=a.minutes * 60)
        except FileNotFoundError as e:  # the shared data set is missing
            print(f"error: {e}", file=sys.stderr)
            return 1
        if a.export:
            print(f"wrote {export_restore.export(a.out / 'restore', WEIGHTS / 'restore.npz')}", flush=True)
    if "variants" in parts:
        from training.patterns import train_gan_variants
        print("== pattern GAN and its animation", flush=True)
        train_gan_variants.train(a.out / "variants", a.variant_steps, a.seed, minutes=a.minutes * 0.7,
                                 anim_minutes=a.minutes * 0.15, export_to=WEIGHTS if a.export else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
