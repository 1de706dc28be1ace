"""Time per retrieval query over the shipped pattern bank (numpy), and per image encoded.

    python bench/pattern_retrieval.py [--bank motion_core/weights/patterns/pattern_bank.npz]

Reports the fastest of 30 rounds of 20 single queries each (the minimum is the least disturbed by
other work on a shared machine) for: text only (a MiniLM embedding against the items' semantic
vectors), image only, and fused (gate from eq. 1 over both banks); and the numpy encoder's time per
64 px image in a batch of 32. The query's own embedding (MiniLM, about 10 ms) is not included.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from motion_core.patterns.costume import SHIPPED_BANK, SHIPPED_DIR, load_bank  # noqa: E402
from motion_core.patterns.encoder import load_encoder  # noqa: E402


def best_ms(fn, rounds: int = 30, per: int = 20) -> float:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per):
            fn()
        out.append((time.perf_counter() - t0) / per)
    return round(1000 * min(out), 4)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank", type=Path, default=SHIPPED_BANK)
    a = p.parse_args()
    bank = load_bank(a.bank)
    f, s = bank.vis[:1].copy(), bank.sem[:1].copy()
    enc = load_encoder(SHIPPED_DIR / "pattern_encoder.npz")
    imgs = np.random.default_rng(0).integers(0, 256, (32, 64, 64, 3)).astype(np.uint8)
    res = {"bank_items": len(bank.items), "prototypes": len(bank.prototypes),
           "text_only_ms": best_ms(lambda: bank.retrieve(None, s, k=5)),
           "image_only_ms": best_ms(lambda: bank.retrieve(f, None, k=5)),
           "fused_ms": best_ms(lambda: bank.retrieve(f, s, k=5)),
           "prototypes_for_text_ms": best_ms(lambda: bank.prototypes_for_text(s[0], k=4)),
           "encode_ms_per_image": round(best_ms(lambda: enc.encode(imgs), rounds=5, per=1) / 32, 3)}
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
