"""Evaluate the pattern classifiers on the held-out split (issue #14; figures in docs/classifier.md).

    python -m training.patterns.evaluate_classifier
        reads runs/classifier-research-crossfit{,-concat,-noaug}/classifier.npz and the shipped
        motion_core/weights/patterns/classifier.npz (all cross-fitted: trained on train + validation);
        writes docs/classifier_eval.json and docs/classifier_reliability.png

Per model, on the test split (never trained on, never used for calibration): accuracy, mAP (macro
over the classes present in the test, one-vs-rest average precision), macro F1 (same classes),
culture-level accuracy; with the full text (culture phrase, source type, masked blazon), with the
culture phrase only, and image only (empty text). Ablations: text only (a linear classifier on the
frozen mean MiniLM token state, trained on the same train + validation images), no cross-attention (the concat
model), no augmentation (the model trained without damage and standard augmentation). Damaged
inputs: the test images through ``damage(img, seed, DamageParams())``. Calibration: ECE over 15
bins before and after the temperature (fitted on out-of-fold predictions of train + validation). Unknown (kamon
model): the calibrated threshold on the kamon test (coverage, accuracy when answered) and on
out-of-set images: the batik and decor test images, plain noise and gradients (rejection rate).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from motion_core.patterns.layers import softmax

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "runs"
DOCS = REPO / "docs"


def load_torch(path: Path):
    import torch

    from training.patterns.classifier_model import PatternClassifier

    z = np.load(path, allow_pickle=False)
    meta = json.loads(str(z["meta_json"]))
    c = meta["config"]
    m = PatternClassifier(c["n_classes"], c["dim"], c["depth"], c["heads"], c["mlp"], c["fusion"])
    skip = ("meta_json", "ood_bank")
    m.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files if k not in skip and not k.startswith("feat.")})
    return m.eval(), meta


def average_precision(score: np.ndarray, pos: np.ndarray) -> float:
    order = np.argsort(-score, kind="stable")
    p = pos[order]
    hits = np.cumsum(p)
    prec = hits / np.arange(1, len(p) + 1)
    return float((prec * p).sum() / max(p.sum(), 1))


def metrics(prob: np.ndarray, y: np.ndarray, cultures: np.ndarray, groups: np.ndarray | None = None) -> dict:
    """``groups`` (N,): the source group of each image (a kamon blazon; a batik/decor image is its own
    group): adds the group-balanced accuracy, each group weighing the same (a test of 112 kamon images
    holds 47 blazons, one of them with 20 prints)."""
    pred = prob.argmax(1)
    present = np.unique(y)
    aps, f1s = [], []
    for c in present:
        aps.append(average_precision(prob[:, c], y == c))
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        f1s.append(2 * tp / max(2 * tp + fp + fn, 1))
    cprob = np.stack([prob[:, cultures == k].sum(1) for k in range(cultures.max() + 1)], 1)
    extra = {}
    if groups is not None:
        _, inv, cnt = np.unique(groups, return_inverse=True, return_counts=True)
        w = 1.0 / cnt[inv]
        extra = {"group_balanced_accuracy": round(float(((pred == y) * w).sum() / w.sum()), 4), "groups": int(len(cnt))}
    return {**extra, "accuracy": round(float((pred == y).mean()), 4), "mAP": round(float(np.mean(aps)), 4),
            "macro_F1": round(float(np.mean(f1s)), 4),
            "culture_accuracy": round(float((cprob.argmax(1) == cultures[y]).mean()), 4),
            "top3_accuracy": round(float(np.mean([y[i] in np.argsort(-prob[i])[:3] for i in range(len(y))])), 4),
            "images": int(len(y)), "classes": int(len(present))}


def ece(prob: np.ndarray, y: np.ndarray, bins: int = 15) -> tuple[float, list]:
    conf, pred = prob.max(1), prob.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    total, curve = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            acc, c = float((pred[m] == y[m]).mean()), float(conf[m].mean())
            total += m.mean() * abs(acc - c)
            curve.append([round(c, 4), round(acc, 4), int(m.sum())])
    return round(float(total), 4), curve


def text_only(cs, states, tr: np.ndarray, te: np.ndarray, seed: int = 0) -> np.ndarray:
    """Probabilities of a linear classifier on the mean MiniLM token state of the full text."""
    import torch

    torch.manual_seed(seed)

    def feats(idx):
        return torch.from_numpy(np.stack([states[cs.text[i]].astype(np.float32).mean(0) for i in idx]))

    xtr, xte = feats(tr), feats(te)
    ytr = torch.from_numpy(cs.y[tr])
    lin = torch.nn.Linear(xtr.shape[1], len(cs.classes))
    opt = torch.optim.Adam(lin.parameters(), 1e-2, weight_decay=1e-4)
    for _ in range(300):
        loss = torch.nn.functional.cross_entropy(lin(xtr), ytr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return torch.softmax(lin(xte), 1).numpy()


def damaged(images: np.ndarray, seed: int = 1234) -> np.ndarray:
    from motion_core.patterns.damage import DamageParams, damage

    rng = np.random.default_rng(seed)
    return np.stack([np.clip(damage(im.astype(np.float32) / 255, rng, DamageParams()) * 255 + 0.5, 0, 255)
                     .astype(np.uint8) for im in images])


def evaluate_model(path: Path, cs, states, full: bool = True, part: str = "test") -> dict:
    """Figures of one weights file on the test part (``part="val"``: the validation part instead,
    for choices made on validation). The ViT + MiniLM model alone (at its temperature:
    seed 003's design) under "full_text", "image_only", ...; when the file holds a feature branch,
    the branch alone ("features_only", image only by construction) and the fused predictor (the
    runtime's: softmax(a * log p_features + b * model logits)) under "fused"."""
    from training.patterns.train_classifier import logits_for

    model, meta = load_torch(path)
    te = np.flatnonzero(cs.part == part)
    y, t = cs.y[te], meta["temperature"]
    groups = np.array([cs.meta[i].get("description") or cs.path[i] for i in te])

    def cul_metrics(prob: np.ndarray, yy: np.ndarray, cultures: np.ndarray) -> dict:
        return metrics(prob, yy, cultures, groups)

    cul = cs.cultures
    out: dict = {"weights": str(path.relative_to(REPO)), "temperature": t, "threshold": meta["threshold"],
                 "config": meta["config"], "steps": meta.get("steps"), "augment": meta.get("augment")}
    modes = {"full_text": 2, "image_only": 0, "culture_phrase_only_text": 1} if full else {"full_text": 2}
    z = {name: logits_for(model, cs, te, states, m) for name, m in modes.items()}
    for name in modes:
        out[name] = cul_metrics(softmax(z[name] / t), y, cul)
    if not full:
        return out
    dm = cs.images.copy()
    dm[te] = damaged(cs.images[te])
    saved, cs.images = cs.images, dm
    try:
        for name, m in (("damaged_full_text", 2), ("damaged_image_only", 0)):
            z[name] = logits_for(model, cs, te, states, m)
            out[name] = cul_metrics(softmax(z[name] / t), y, cul)
    finally:
        cs.images = saved
    e_raw, _ = ece(softmax(z["full_text"]), y)
    e_cal, curve = ece(softmax(z["full_text"] / t), y)
    e_img, curve_img = ece(softmax(z["image_only"] / t), y)
    out["calibration"] = {"ece_full_text_T1": e_raw, "ece_full_text_calibrated": e_cal,
                          "ece_image_only_calibrated": e_img, "ece_image_only_T1": ece(softmax(z["image_only"]), y)[0],
                          "reliability_full_text": curve, "reliability_image_only": curve_img}
    fm = meta.get("features")
    if fm:
        from motion_core.patterns.classifier import load_classifier
        from training.patterns.classifier_features import branch_log_probs

        branch = load_classifier(path).branch
        lp = {"clean": branch_log_probs(branch, cs.images[te]), "damaged": branch_log_probs(branch, dm[te])}
        out["features_only"] = {"image_only": cul_metrics(np.exp(lp["clean"]), y, cul),
                                "damaged_image_only": cul_metrics(np.exp(lp["damaged"]), y, cul),
                                "ece_image_only": ece(np.exp(lp["clean"]), y)[0]}
        fused: dict = {"fusion_weights": fm["fusion"], "threshold": meta["threshold"]}
        probs = {}
        for name in ("full_text", "image_only", "culture_phrase_only_text", "damaged_full_text", "damaged_image_only"):
            a, b = fm["fusion"]["image_only" if name.endswith("image_only") else "with_text"]
            probs[name] = softmax(a * lp["damaged" if name.startswith("damaged") else "clean"] + b * z[name])
            fused[name] = cul_metrics(probs[name], y, cul)
        e_f, curve_f = ece(probs["full_text"], y)
        e_i, curve_i = ece(probs["image_only"], y)
        fused["calibration"] = {"ece_full_text": e_f, "ece_image_only": e_i, "reliability_full_text": curve_f,
                                "reliability_image_only": curve_i}
        out["fused"] = fused
    return out


def fused_probs(path: Path, cs, idx: np.ndarray, states, mode: int) -> np.ndarray:
    """The runtime's calibrated probabilities of a weights file (fused when it holds a feature branch,
    else the model over its temperature) for cs's images ``idx``; mode 0 no text, 1 culture, 2 full."""
    from training.patterns.train_classifier import logits_for

    model, meta = load_torch(path)
    z = logits_for(model, cs, idx, states, mode)
    fm = meta.get("features")
    if not fm:
        return softmax(z / meta["temperature"])
    from motion_core.patterns.classifier import load_classifier
    from training.patterns.classifier_features import branch_log_probs

    a, b = fm["fusion"]["image_only" if mode == 0 else "with_text"]
    return softmax(a * branch_log_probs(load_classifier(path).branch, cs.images[idx]) + b * z)


def unknown_figures(path: Path, kamon_cs, research_cs, states) -> dict:
    """The kamon model's abstention (max softmax below its threshold, or image statistics unlike the
    training images) on in-set (kamon test) and out-of-set images, each rule alone and both."""
    from motion_core.patterns.classifier import image_statistics
    from training.patterns.train_classifier import knn_similarity

    _, meta = load_torch(path)
    bank = np.load(path)["ood_bank"]
    cal = meta["calibration"]
    thr, othr = meta["threshold"], cal["ood_threshold"]

    class _S:  # a minimal set for logits_for: images, no text
        def __init__(self, im):
            self.images, self.text, self.culture_text = im, [""] * len(im), [""] * len(im)

    def rules(images, y=None, cs=None, idx=None, mode=0):
        p = fused_probs(path, cs or _S(images), idx if idx is not None else np.arange(len(images)), states, mode)
        low = p.max(1) < thr
        far = knn_similarity(image_statistics(images), bank, cal["ood_k"]) < othr
        out = {"images": int(len(images)), "low_confidence": round(float(low.mean()), 4),
               "unlike_training_images": round(float(far.mean()), 4), "unknown": round(float((low | far).mean()), 4)}
        if y is not None:
            ans = ~(low | far)
            out["coverage"] = round(float(ans.mean()), 4)
            out["accuracy_when_answered"] = round(float((p.argmax(1) == y)[ans].mean()) if ans.any() else 0.0, 4)
            out["accuracy_all"] = round(float((p.argmax(1) == y).mean()), 4)
        return out

    te = np.flatnonzero(kamon_cs.part == "test")
    res = {"threshold": thr, "ood_threshold": othr, "ood_k": cal["ood_k"],
           "in_set_image_only": rules(kamon_cs.images[te], kamon_cs.y[te], kamon_cs, te, 0),
           "in_set_full_text": rules(kamon_cs.images[te], kamon_cs.y[te], kamon_cs, te, 2)}
    for d in ("batik", "decor"):
        oos = np.flatnonzero((research_cs.part == "test") & (np.array(research_cs.dataset) == d))
        res[f"out_of_set_{d}_image_only"] = rules(research_cs.images[oos], None, research_cs, oos, 0)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (10, 64, 64, 3), dtype=np.uint8)
    ramp = np.linspace(0, 1, 64)[None, :, None]
    grads = np.stack([(255 * (a + (b - a) * ramp)).repeat(64, 0).astype(np.uint8)
                      for a, b in zip(rng.uniform(0, 1, (10, 3)), rng.uniform(0, 1, (10, 3)), strict=True)])
    flats = np.stack([np.tile((rng.uniform(0, 1, 3) * 255).astype(np.uint8), (64, 64, 1)) for _ in range(10)])
    res["out_of_set_noise"] = rules(noise)
    res["out_of_set_gradients"] = rules(grads)
    res["out_of_set_flat_colours"] = rules(flats)
    return res


def plot_reliability(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=100)
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect")
    for name, curve in curves.items():
        if curve:
            c = np.array(curve)
            ax.plot(c[:, 0], c[:, 1], "o-", ms=3, label=name)
    ax.set_xlabel("confidence (bin mean)")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability on the test split (15 bins)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def examples_sheet(kamon_cs, research_cs, path: Path, n: int = 9) -> None:
    """Held-out crests (every 12th kamon test image), three batik/decor images and noise through the
    shipped model's numpy identify(), image only, each titled with its suggestion and the truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from motion_core.patterns.classifier import identify, load_classifier

    clf = load_classifier()
    te = np.flatnonzero(kamon_cs.part == "test")[::12][:n]
    items = [(kamon_cs.images[i], kamon_cs.classes[kamon_cs.y[i]]) for i in te]
    for d in ("batik", "decor"):
        idx = np.flatnonzero((research_cs.part == "test") & (np.array(research_cs.dataset) == d))
        items += [(research_cs.images[i], research_cs.classes[research_cs.y[i]]) for i in idx[:2 if d == "batik" else 1]]
    items.append((np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), "noise"))
    cols = 7
    rows = int(np.ceil(len(items) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.1, rows * 2.5), dpi=80)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (im, truth) in zip(axes.ravel(), items, strict=False):
        r = identify(im.astype(np.float32) / 255, None, clf, evidence=0)
        ax.imshow(im)
        sug = "unknown" if r.unknown else f"{r.top3[0][0].split(':')[-1]} {r.top3[0][1]:.0%}"
        ok = r.top3[0][0] == truth and not r.unknown
        ax.set_title(f"suggested: {sug}\ntrue: {truth.split(':')[-1][:16]}", fontsize=7,
                     color="green" if ok or (r.unknown and not truth.startswith("kamon")) else "black")
    fig.suptitle("Shipped kamon classifier, image only, held-out images (green: right, or rightly unknown)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Evaluate the pattern classifiers (docs/classifier.md)")
    ap.add_argument("--out", type=Path, default=DOCS / "classifier_eval.json")
    ap.add_argument("--plot", type=Path, default=DOCS / "classifier_reliability.png")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from training.patterns.classifier_data import build
    from training.patterns.data import load
    from training.patterns.train_classifier import SHIPPED, all_states

    s = load()
    research, kamon = build(("kamon", "batik", "decor"), s), build(("kamon",), s)
    states = {**all_states(research), **all_states(kamon)}
    res: dict = {"split": {"research": {p: int((research.part == p).sum()) for p in ("train", "val", "test")},
                           "kamon": {p: int((kamon.part == p).sum()) for p in ("train", "val", "test")},
                           "leak_report_research": research.leak_report, "leak_report_kamon": kamon.leak_report},
                 "seed_003": {"accuracy": 0.92, "mAP": 0.85, "macro_F1": 0.88, "ablation_drop_points": "5-9"}}
    before = DOCS / "classifier_eval_before.json"  # the figures before the feature branch (ViT + MiniLM alone)
    if before.exists():
        res["before"] = json.loads(before.read_text())
    holdout = DOCS / "classifier_eval_holdout.json"  # the same models with a held-out validation part (no cross-fitting)
    if holdout.exists():
        res["holdout_recipe"] = {k: v for k, v in json.loads(holdout.read_text()).items() if k != "before"}
    curves = {}
    for name, cs, path in (("research", research, RUNS / "classifier-research-crossfit" / "classifier.npz"),
                           ("kamon_shipped", kamon, SHIPPED)):
        if not path.exists():
            print(f"skipping {name}: {path} not found")
            continue
        r = evaluate_model(path, cs, states)
        tr, te = np.flatnonzero(cs.part != "test"), np.flatnonzero(cs.part == "test")  # train + validation, as the models
        groups = np.array([cs.meta[i].get("description") or cs.path[i] for i in te])
        r["text_only"] = metrics(text_only(cs, states, tr, te), cs.y[te], cs.cultures, groups)
        if name == "research":
            for abl, run in (("no_cross_attention", "classifier-research-crossfit-concat"),
                             ("no_augmentation", "classifier-research-crossfit-noaug")):
                p = RUNS / run / "classifier.npz"
                if p.exists():
                    ev = evaluate_model(p, cs, states, full=True)
                    r[abl] = {k: ev[k] for k in ("full_text", "image_only", "damaged_full_text", "damaged_image_only",
                                                 "features_only", "fused") if k in ev}
            sub = {}
            te_ds = np.array(cs.dataset)[te]
            for mode, mname in ((2, "full_text"), (0, "image_only")):
                p = fused_probs(path, cs, te, states, mode)  # the fused predictor (the model alone if none)
                for d in ("kamon", "batik", "decor"):
                    m = te_ds == d
                    sub[f"{d}_{mname}"] = metrics(p[m], cs.y[te][m], cs.cultures, groups[m])
            r["per_dataset"] = sub
        else:
            r["unknown"] = unknown_figures(path, cs, research, states)
        res[name] = r
        curves[f"{name}: model alone, calibrated, text"] = r["calibration"]["reliability_full_text"]
        curves[f"{name}: model alone, calibrated, image only"] = r["calibration"]["reliability_image_only"]
        if "fused" in r:
            curves[f"{name}: fused, text"] = r["fused"]["calibration"]["reliability_full_text"]
            curves[f"{name}: fused, image only"] = r["fused"]["calibration"]["reliability_image_only"]
        print(name, json.dumps({k: v for k, v in r.items() if k in ("full_text", "image_only", "text_only")}))
        if "fused" in r:
            print(name, "fused", json.dumps({k: r["fused"][k] for k in ("full_text", "image_only")}),
                  "features", json.dumps(r["features_only"]["image_only"]))
    a.out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    plot_reliability({k: v for k, v in curves.items() if v}, a.plot)
    examples_sheet(kamon, research, a.plot.with_name("classifier_examples.png"))
    print(f"wrote {a.out} and {a.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
