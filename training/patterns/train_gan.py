"""The GAN of seed 001, all of it, in one resumable command (issue #13):

    python -m training.patterns.train_gan --out runs/gan-all [--parts restore,variants] [--export]

Runs, in order, the restoration GAN (``training.patterns.train_restore``: U-Net generator with
self-attention, spectral-norm patch discriminator) and the pattern GAN with its animation
(``training.patterns.train_gan_variants``: Table 2/3 DCGAN with self-attention, trajectory LSTM and
BiLSTM temporal discriminator), each in its own sub-folder of OUT with its checkpoints, progress
lines and loss plots. Run it again to resume: each part continues from its checkpoint. ``--export``
writes the add-on's weights (``motion_core/weights/patterns/restore.npz``, ``gan_variants.npz``).
One thread per part, and the two parts side by side (``--jobs 2``, the default: the restoration GAN
in a child process logging to OUT/restore/log.txt), so a 2-core machine runs both in the time of the
longer one: the shipped runs took 44.5 + 40.3 min (restoration's two stages; 62 min on a quieter core,
rebuilt bit for bit from scratch) and 86 + 10 min (pattern GAN, its animation networks) of one shared
core each, under the issue's 2 hours.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

PARTS = ("restore", "variants")
WEIGHTS = Path(__file__).resolve().parents[2] / "motion_core" / "weights" / "patterns"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.patterns.train_gan", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/gan-all"))
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--restore-steps", type=int, default=4000, help="the shipped run's count (stage 1)")
    p.add_argument("--restore-stage2-steps", type=int, default=6000,
                   help="the restoration's second stage (warm start, kinds of wear left out; 0: none)")
    p.add_argument("--variant-steps", type=int, default=9000)
    p.add_argument("--minutes", type=float, default=100.0,
                   help="time box of the restoration part, both stages (resumable after it)")
    p.add_argument("--variant-minutes", type=float, default=86.0,
                   help="time box of the pattern GAN's stage 1 (its two animation networks: 5 min each)")
    p.add_argument("--mode-seeking-from", type=int, default=2850,
                   help="the pattern GAN's first step with the mode-seeking term (the shipped run's: 2850)")
    p.add_argument("--jobs", type=int, choices=[1, 2], default=2, help="parts side by side (default 2)")
    p.add_argument("--export", action="store_true", help="write the add-on's weights when a part finishes")
    a = p.parse_args(argv)
    parts = [s.strip() for s in a.parts.split(",") if s.strip()]
    unknown = [s for s in parts if s not in PARTS]
    if unknown or not parts:
        p.error(f"--parts: {', '.join(unknown) or 'none given'}; choose from {', '.join(PARTS)}")
    child = None
    if "restore" in parts and "variants" in parts and a.jobs == 2:
        (a.out / "restore").mkdir(parents=True, exist_ok=True)
        log = a.out / "restore" / "log.txt"
        print(f"== restoration GAN (side by side; progress in {log})", flush=True)
        with open(log, "a", encoding="utf-8") as f:
            child = subprocess.Popen([sys.executable, "-m", "training.patterns.train_restore", "--out",
                                      str((a.out / "restore").resolve()), "--steps", str(a.restore_steps),
                                      "--stage2-steps", str(a.restore_stage2_steps), "--seed",
                                      str(a.seed), "--max-minutes", str(a.minutes)], stdout=f, stderr=subprocess.STDOUT,
                                     cwd=WEIGHTS.parents[2])  # the repository: the child imports training.*
    elif "restore" in parts:
        from training.patterns import train_restore
        print("== restoration GAN", flush=True)
        try:
            train_restore.train_stages(a.out / "restore", a.restore_steps, a.restore_stage2_steps, a.seed,
                                       time_limit_s=a.minutes * 60)
        except FileNotFoundError as e:  # the shared data set is missing
            print(f"error: {e}", file=sys.stderr)
            return 1
    if "variants" in parts:
        from training.patterns import train_gan_variants
        print("== pattern GAN and its animation", flush=True)
        try:
            train_gan_variants.train(a.out / "variants", a.variant_steps, a.seed, minutes=a.variant_minutes,
                                     anim_minutes=5.0, export_to=WEIGHTS if a.export else None,
                                     mode_seeking_from=a.mode_seeking_from)
        except BaseException:
            if child is not None:
                child.terminate()  # it resumes from its checkpoint next time
            raise
    if child is not None and child.wait() != 0:
        print(f"error: the restoration GAN stopped with exit code {child.returncode}; see "
              f"{a.out / 'restore' / 'log.txt'}", file=sys.stderr)
        return 1
    if "restore" in parts and a.export:
        from training.patterns import export_restore
        run = a.out / "restore" / "stage2"
        if not (run / "ckpt.pt").exists():
            run = a.out / "restore"
        print(f"wrote {export_restore.export(run, WEIGHTS / 'restore.npz')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
