"""Milliseconds per image of the pattern classifier's identify() on one core (numpy, threads = 1).

    OMP_NUM_THREADS=1 python bench/bench_classify.py [--weights motion_core/weights/patterns/classifier.npz]

A 600 x 450 RGB image (so the squaring and resizing count), after one warm-up call (loading the
weights, the text encoder and the bank is not timed). Reports the median and the fastest of 15 calls
for: image only; image + text (MiniLM on the text included); image + text + the nearest prototypes
as evidence (the operator's full call); and the feature branch alone when the weights hold one.
Goal (issue #14): <= 150 ms per image.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from motion_core.patterns.classifier import identify, load_classifier  # noqa: E402

TEXT = "a Japanese family crest, printed in an Edo-period heraldry book; blazon: 丸に違い?"


def times(fn, n: int = 15) -> tuple[float, float]:
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return float(np.median(out)), float(np.min(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=None)
    a = ap.parse_args()
    clf = load_classifier(a.weights)
    rng = np.random.default_rng(0)
    img = rng.random((450, 600, 3)).astype(np.float32)
    print(f"weights {clf.source} ({Path(clf.source).stat().st_size / 1e6:.2f} MB), "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    x64 = rng.random((1, 64, 64, 3)).astype(np.float32)
    branch = clf.branch
    if branch is not None:
        print(f"feature branch: {branch.views} flips/turns x {len(branch.blocks)} descriptor blocks, "
              f"bank {branch.bank.shape[0]} x {branch.bank.shape[1]}")
    for name, fn in ((("feature branch alone (64 x 64 input)", lambda: branch.log_probs(x64)),) if branch else ()) + (
                     ("image only", lambda: identify(img, None, clf, evidence=0)),
                     ("image + text", lambda: identify(img, TEXT, clf, evidence=0)),
                     ("image + text + 3 prototypes (operator)", lambda: identify(img, TEXT, clf, evidence=3))):
        med, best = times(fn)
        print(f"{name:40s} median {med:6.1f} ms   fastest {best:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
