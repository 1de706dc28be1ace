"""Time of one restoration by the shipped model (motion_core/patterns/restore.py, numpy) on ONE core.

* 256 x 256 without and with a mask (goal <= 1 s), a 200 x 300 image (padded to 208 x 304), and a
  1024 x 768 scan (tiled: 256 px tiles overlapping by 32 px). Load time of the weights too.

    python bench/bench_restore.py

The thread count of numpy's BLAS is set to 1 before numpy is imported (OMP/MKL/OPENBLAS_NUM_THREADS).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.timing import best_and_median  # noqa: E402
from motion_core.patterns.restore import load_restorer  # noqa: E402


def main() -> int:
    t = time.perf_counter()
    r = load_restorer()
    print(f"load weights: {time.perf_counter() - t:.3f} s  ({r.provenance.get('model')}, steps {r.provenance.get('steps')})")
    rng = np.random.default_rng(0)
    img = rng.random((256, 256, 3), dtype=np.float32)
    mask = rng.random((256, 256)) < 0.1
    for label, fn, rep in (("256x256, no mask", lambda: r.restore(img), 10),
                           ("256x256, mask", lambda: r.restore(img, mask), 10),
                           ("200x300 (padded)", lambda: r.restore(img[:200, :256].repeat(2, 1)[:, :300]), 5),
                           ("1024x768 (tiled)", lambda: r.restore(rng.random((768, 1024, 3), dtype=np.float32)), 2)):
        best, med = best_and_median(fn, rep)
        goal = "  (goal <= 1 s)" if label.startswith("256") else ""
        print(f"{label:18s} best {best:.3f} s  median {med:.3f} s{goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
