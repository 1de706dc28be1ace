"""The GAN-augmentation ablation of the pattern classifier (issue #14; docs/classifier.md).

    python -m training.patterns.evaluate_gan_augment
        reads the runs below (those present), evaluates each on the
        validation part (where the choices are made) and on the test split, the same way as
        evaluate_classifier (model alone, feature branch, fused; full text, image only, culture
        phrase; damaged inputs; per image and blazon-balanced), and writes
        docs/classifier_eval_gan_aug.json (docs/classifier_eval.json is left alone) and the sheet
        docs/classifier_gan_aug_views.png (real training prints beside the GAN views of their class).

Runs (``train_classifier ... --crossfit 0``: the validation part held out, because the choices are made
on it; see docs/classifier.md for the commands):
    runs/classifier-kamon-holdout      no GAN, seed 0 (the file shipped before cross-fitting)
    runs/classifier-kamon-gan          --extra training.patterns.gan_augment:augment        (share 0.25)
    runs/classifier-kamon-gan-light    --extra training.patterns.gan_augment:augment_light  (share 0.10)
    runs/classifier-kamon-seed1        no GAN, --seed 1 (how far a seed alone moves the figures)
    runs/classifier-kamon-gan-seed1    share 0.25, --seed 1
    runs/classifier-research-gan       --set research --steps 600, share 0.25
    runs/classifier-research           --set research --steps 600 (the research model of the same recipe)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.patterns.evaluate_classifier import DOCS, REPO, RUNS, evaluate_model

KAMON_RUNS = {
    "no_gan_shipped_seed0": "classifier-kamon-holdout",  # shipped until cross-fitting, which trains on validation
    "gan_0.25_seed0": "classifier-kamon-gan",
    "gan_0.10_seed0": "classifier-kamon-gan-light",
    "no_gan_seed1": "classifier-kamon-seed1",
    "gan_0.25_seed1": "classifier-kamon-gan-seed1",
}
RESEARCH_RUNS = {"no_gan_seed0": "classifier-research", "gan_0.25_seed0": "classifier-research-gan"}
ROWS = [("model alone, image only", ("image_only",)), ("model alone, full text", ("full_text",)),
        ("feature branch alone", ("features_only", "image_only")), ("fused, image only", ("fused", "image_only")),
        ("fused, full text", ("fused", "full_text")), ("damaged: model alone, image only", ("damaged_image_only",)),
        ("damaged: fused, image only", ("fused", "damaged_image_only")),
        ("damaged: fused, full text", ("fused", "damaged_full_text"))]


def _get(d: dict, keys: tuple[str, ...]) -> dict | None:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None  # type: ignore[assignment]
    return d


def summary(res: dict) -> str:
    """Markdown lines: per model and part, accuracy / blazon-balanced accuracy / mAP / macro F1."""
    lines = []
    for set_name, models in res["models"].items():
        for part in ("val", "test"):
            lines.append(f"\n{set_name}, {part}: accuracy / group-balanced acc. / mAP / macro F1")
            for row, keys in ROWS:
                cells = []
                for name, r in models.items():
                    m = _get(r[part], keys)
                    cells.append(f"{name} {m['accuracy']:.2f}/{m.get('group_balanced_accuracy', float('nan')):.2f}/"
                                 f"{m['mAP']:.2f}/{m['macro_F1']:.2f}" if m else f"{name} -")
                lines.append(f"  {row:34s} " + " | ".join(cells))
    return "\n".join(lines)


def views_sheet(cs, path: Path, families=("aoi", "kiri", "tomoe", "kuyo", "katabami", "tsuru"), n: int = 7) -> None:
    """For each family: two real training prints, then ``n`` GAN views as the hook makes them (share 1,
    rng seed 0), i.e. what a replaced training view of that class looks like."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.patterns.gan_augment import gan_augment

    fig, axes = plt.subplots(len(families), n + 2, figsize=((n + 2) * 1.1, len(families) * 1.2), dpi=80)
    for r, fam in enumerate(families):
        k = cs.classes.index(f"kamon:{fam}")
        idx = np.flatnonzero((cs.y == k) & (cs.part == "train"))
        real = cs.images[idx[:2]]
        views, _ = gan_augment(np.repeat(real[:1].astype(np.float32) / 255, n, 0), np.full(n, k),
                               np.random.default_rng(r), cs.classes, 1.0)
        for c, im in enumerate([*real, *(np.clip(views * 255 + 0.5, 0, 255).astype(np.uint8))]):
            ax = axes[r, c]
            ax.imshow(im)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(fam, fontsize=8)
            if r == 0:
                ax.set_title("real" if c < 2 else "GAN view", fontsize=7)
    fig.suptitle("Kamon training views: two real prints, then GAN v2 views of the class (training/patterns/gan_augment.py)",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="The GAN-augmentation ablation of the pattern classifier")
    ap.add_argument("--out", type=Path, default=DOCS / "classifier_eval_gan_aug.json")
    ap.add_argument("--sheet-only", action="store_true", help="only draw docs/classifier_gan_aug_views.png")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from training.patterns.classifier_data import build
    from training.patterns.data import load
    from training.patterns.train_classifier import all_states

    s = load()
    sets = {"kamon": build(("kamon",), s), "research": build(("kamon", "batik", "decor"), s)}
    views_sheet(sets["kamon"], DOCS / "classifier_gan_aug_views.png")
    if a.sheet_only:
        return 0
    states = {**all_states(sets["research"]), **all_states(sets["kamon"])}
    res: dict = {"command": "python -m training.patterns.evaluate_gan_augment", "models": {}}
    for set_name, runs in (("kamon", KAMON_RUNS), ("research", RESEARCH_RUNS)):
        cs = sets[set_name]
        out = {}
        for name, run in runs.items():
            path = RUNS / run / "classifier.npz"
            if not path.exists():
                print(f"skipping {set_name} {name}: {path} not found", flush=True)
                continue
            meta = json.loads(str(np.load(path)["meta_json"]))
            out[name] = {"weights": str(path.relative_to(REPO)), "extra_augment": meta.get("extra_augment"),
                         "seed": meta.get("seed"), "steps": meta.get("steps"),
                         "val": evaluate_model(path, cs, states, part="val"),
                         "test": evaluate_model(path, cs, states, part="test")}
            print(set_name, name, "done", flush=True)
        res["models"][set_name] = out
    a.out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    print(summary(res))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
