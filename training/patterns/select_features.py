"""Choose the classifier's feature branch on the VALIDATION part (issue #14; docs/classifier.md).

    python -m training.patterns.select_features [--set kamon|research] [--out docs/classifier_feature_selection.json]
    python -m training.patterns.select_features --cv      # the chosen branch, 5-fold CV over the blazons
                                                          # of train + validation (still no test image)

Fits the branch (training part only) for each descriptor set, k, tau and PCA size and reports its
validation accuracy and NLL (image only; the test part is never read). Also a logistic regression on
the same descriptors (the linear alternative that was tried). ~5 min on one thread (kamon).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SETS = [["hog"], ["hog16"], ["polar"], ["lbp"], ["colour"], ["hog", "polar"], ["hog", "hog16", "polar"],
        ["hog", "hog16", "polar", "lbp", "colour"]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("kamon", "research"), default="kamon")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--cv", action="store_true", help="5-fold cross-validation of the chosen branch over the "
                    "source groups (kamon: blazons) of train + validation, instead of the sweep")
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if a.cv:
        return cross_validate(a.set)
    from motion_core.patterns.features import FEATURE_BLOCKS, NeighbourBranch
    from training.patterns.classifier_data import build
    from training.patterns.classifier_features import dihedral_features, fit_logreg, logreg_logprob

    cs = build(("kamon",) if a.set == "kamon" else ("kamon", "batik", "decor"))
    tr, va = np.flatnonzero(cs.part == "train"), np.flatnonzero(cs.part == "val")
    n_cls = len(cs.classes)
    t0 = time.time()
    names = list(FEATURE_BLOCKS)
    per = {b: dihedral_features(cs.images[np.r_[tr, va]], [b]) for b in names}
    print(f"descriptors of {len(tr)} + {len(va)} images x 8 views: {time.time() - t0:.0f} s", flush=True)
    ntr, ytr, yva = len(tr), cs.y[tr], cs.y[va]
    rows = []

    cache: dict = {}

    def branch_eval(blocks, k, tau, pca):
        f = np.concatenate([per[b] for b in blocks], -1)
        key = tuple(blocks)
        if key not in cache:  # standardisation and principal axes depend on the descriptors only
            x = f[:, :ntr].reshape(-1, f.shape[-1]).astype(np.float64)
            mean, scale = x.mean(0), x.std(0) + 1e-3
            xs = (x - mean) / scale
            cache.clear()
            cache[key] = (mean, scale, xs, np.linalg.eigh(xs.T @ xs / len(xs))[1])
        mean, scale, xs, vecs = cache[key]
        proj = vecs[:, ::-1][:, :min(pca, xs.shape[1])]
        z = xs @ proj
        bank = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-8)
        br = NeighbourBranch({"mean": mean, "scale": scale, "proj": proj, "bank": bank,
                              "bank_labels": np.tile(ytr, 8)}, blocks, n_cls, k, tau)
        lp = []
        for v in range(8):
            q = ((f[v, ntr:] - mean) / scale) @ proj
            lp.append(br.vote((q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-8)).astype(np.float32)))
        lp = np.mean(lp, 0)
        return float((lp.argmax(1) == yva).mean()), float(-lp[np.arange(len(yva)), yva].mean())

    for blocks in SETS:
        for k in (1, 3, 5, 10):
            for tau in (0.05, 0.1, 1.0):
                acc, nll = branch_eval(blocks, k, tau, 256)
                rows.append({"branch": "neighbours", "blocks": blocks, "k": k, "tau": tau, "pca": 256,
                             "val_accuracy": round(acc, 4), "val_nll": round(nll, 4)})
        print(blocks, max(r["val_accuracy"] for r in rows if r["blocks"] == blocks), flush=True)
    best = ["hog", "hog16", "polar", "lbp", "colour"]
    for pca in (64, 128, 512):
        acc, nll = branch_eval(best, 5, 0.1, pca)
        rows.append({"branch": "neighbours", "blocks": best, "k": 5, "tau": 0.1, "pca": pca,
                     "val_accuracy": round(acc, 4), "val_nll": round(nll, 4)})
    f = np.concatenate([per[b] for b in best], -1)
    for l2 in (0.1, 1.0):
        m, s, w, b = fit_logreg(f[:, :ntr].reshape(-1, f.shape[-1]), np.tile(ytr, 8), n_cls, l2)
        lp = logreg_logprob(f[:, ntr:], m, s, w, b)
        rows.append({"branch": "logistic regression", "blocks": best, "l2": l2,
                     "val_accuracy": round(float((lp.argmax(1) == yva).mean()), 4),
                     "val_nll": round(float(-lp[np.arange(len(yva)), yva].mean()), 4)})
    out = a.out or REPO / "docs" / f"classifier_feature_selection_{a.set}.json"
    out.write_text(json.dumps({"set": a.set, "train_images": int(ntr), "val_images": int(len(va)),
                               "majority_class_val_accuracy": round(float(np.mean(yva == np.bincount(ytr).argmax())), 4),
                               "rows": rows}, indent=0) + "\n")
    top = sorted(rows, key=lambda r: -r["val_accuracy"])[:8]
    for r in top:
        print(r)
    print(f"wrote {out} ({time.time() - t0:.0f} s)")
    return 0


def cross_validate(name: str, folds: int = 5) -> int:
    """The chosen branch (classifier_features' BLOCKS, K, TAU, PCA_DIM) fitted on 4/5 of the source
    groups of train + validation and scored on the rest, for each fifth (by a hash of the group)."""
    from training.patterns.classifier_data import build
    from training.patterns.classifier_features import BLOCKS, PCA_DIM, TAU, K, branch_from, branch_log_probs, fit_neighbour_branch
    from training.patterns.data import _hash01

    cs = build(("kamon",) if name == "kamon" else ("kamon", "batik", "decor"))
    fit = np.flatnonzero(cs.part != "test")
    groups = np.array([cs.meta[i].get("description") or cs.path[i] for i in fit])
    fold = np.array([int(_hash01("cv:" + g) * folds) for g in groups])
    y = cs.y[fit]
    hits = []
    for k in range(folds):
        tr, te = fit[fold != k], fit[fold == k]
        arrays, meta = fit_neighbour_branch(cs.images[tr], cs.y[tr], len(cs.classes), BLOCKS, K, TAU, PCA_DIM)
        pred = branch_log_probs(branch_from(arrays, meta, len(cs.classes)), cs.images[te]).argmax(1)
        h = pred == cs.y[te]
        hits.append(h)
        majority = float(np.mean(cs.y[te] == np.bincount(y[fold != k]).argmax()))
        print(f"fold {k}: {len(te)} images, {len(set(groups[fold == k]))} groups, accuracy {h.mean():.3f} "
              f"(most common family {majority:.3f})", flush=True)
    print(f"pooled: {np.concatenate(hits).mean():.3f} over {len(fit)} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
