"""Contact sheet of the damage simulator beside real worn Edo prints.

    python -m training.patterns.contact_sheet [--out docs/patterns_damage.png]

Rows 1-3: a clean crest (Wikimedia, public domain or CC BY-SA per kamon/wiki_licenses.csv), then each
kind of simulated wear alone and two full draws. Row 4: real Ansei Bukan woodblock prints from
kamon/edo (CC BY-SA 4.0, Kamon data set), chosen as the most worn of the set by the share of
non-paper, non-ink pixels. Images: Kamon data set (Sakana AI; CODH; Wikimedia), CC BY-SA 4.0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motion_core.files import save_atomic
from motion_core.patterns.damage import DamageParams, damage, fade, insect_holes, mould, occlude
from training.patterns.data import DATA, REPO, load_image

CLEAN = ["wiki/Family_crest_Tosa_Kiri.jpg", "wiki/Kiri_chō_inverted.jpg",
         "wiki/家紋_黒田藤巴-kuroda-fujitomoe.jpg"]


def _pick_clean(n: int) -> list[Path]:
    """Black-on-white Wikimedia crests (like the prints), the named ones first."""
    wiki = [DATA / "kamon" / c for c in CLEAN] + sorted((DATA / "kamon" / "wiki").glob("*.jpg"))
    out = []
    for w in wiki:
        if w.exists() and w not in out and "manji" not in w.name.lower() and load_image(w, 32).mean() > 150:
            out.append(w)
    return out[:n]


def _worn_edo(n: int) -> list[Path]:
    edo = sorted((DATA / "kamon" / "edo").glob("*.jpg"))[::5]
    scores = []
    for p in edo:
        g = load_image(p, 96).mean(2) / 255
        scores.append(((g > 0.25) & (g < 0.7)).mean())  # mid-tones: stains, fading, abrasion
    return [edo[i] for i in np.argsort(scores)[::-1][:n]]


def main(argv: list[str] | None = None) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "docs" / "patterns_damage.png")
    p.add_argument("--size", type=int, default=160)
    a = p.parse_args(argv)
    cols = ["clean", "fading", "curl + abrasion", "insect holes", "mould", "all (seed 1)", "all (seed 2)"]
    fig, axes = plt.subplots(4, 7, figsize=(14, 8.6))
    for r, path in enumerate(_pick_clean(3)):
        x = load_image(path, a.size).astype(np.float32) / 255
        rngs = [np.random.default_rng(100 * r + k) for k in range(5)]
        tiles = [x, fade(x, rngs[1], 1.2, 0.8), occlude(x, rngs[2], 1.0, 0.45), insect_holes(x, rngs[3], 6),
                 mould(x, rngs[4], 0.8), damage(x, 1 + 10 * r, DamageParams(occlusion=0.9, holes=4, mould=0.5)),
                 damage(x, 2 + 10 * r, DamageParams(fade_dose=1.2, occlusion=0.6, holes=2, mould=0.7))]
        for c, t in enumerate(tiles):
            axes[r, c].imshow(np.clip(t, 0, 1))
            if r == 0:
                axes[r, c].set_title(cols[c], fontsize=10)
    for c, path in enumerate(_worn_edo(7)):
        axes[3, c].imshow(load_image(path, a.size))
        axes[3, c].set_title(f"real: {path.name[:-4]}", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle("Simulated wear (rows 1-3, motion_core/patterns/damage.py) vs real worn Ansei Bukan prints (row 4). "
                 "Images: Kamon data set (Sakana AI, CODH, Wikimedia), CC BY-SA 4.0", fontsize=10)
    fig.tight_layout()
    save_atomic(a.out, lambda tmp: fig.savefig(tmp, dpi=80))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
