"""Time of the pattern GAN at run time (numpy, one core): per sample and per animation frame.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/bench_pattern_gan.py [--weights PATH]

Prints the best and median of repeated calls (the best is the least disturbed by other work on a
shared machine): loading the weights; one variant (64 px); a batch of 16 variants (per sample);
a 100-frame animation (4 s at 25 fps: the trajectory LSTM and 100 generator passes; per frame);
the same upscaled x4 to 256 px.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from timing import best_and_median  # noqa: E402

from motion_core.patterns import animate, variants  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, default=variants.WEIGHTS)
    a = p.parse_args()
    b, m = best_and_median(lambda: variants.load_gan(a.weights), 5)
    print(f"load weights: best {b * 1e3:.0f} ms, median {m * 1e3:.0f} ms")
    gan = variants.load_gan(a.weights)
    b, m = best_and_median(lambda: gan.sample("kiku", 0, 1), 10)
    print(f"one variant (64 px): best {b * 1e3:.1f} ms, median {m * 1e3:.1f} ms")
    b, m = best_and_median(lambda: gan.sample("kiku", 0, 16), 5)
    print(f"16 variants: best {b * 1e3 / 16:.1f} ms per sample, median {m * 1e3 / 16:.1f} ms per sample")
    e = np.r_[np.zeros(50), np.full(50, 0.8)].astype(np.float32)
    b, m = best_and_median(lambda: animate.animate(e, "kiku", 0, gan=gan), 3)
    print(f"100-frame animation: best {b * 1e3 / 100:.1f} ms per frame ({b:.2f} s), median {m * 1e3 / 100:.1f} ms per frame")
    b, m = best_and_median(lambda: animate.animate(e, "kiku", 0, gan=gan, scale=4), 3)
    print(f"100 frames upscaled to 256 px: best {b * 1e3 / 100:.1f} ms per frame, median {m * 1e3 / 100:.1f} ms per frame")


if __name__ == "__main__":
    main()
