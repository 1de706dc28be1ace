"""Train the pattern classifier (issue #14; model in classifier_model.py, numpy runtime in
motion_core/patterns/classifier.py).

    python -m training.patterns.train_classifier                      # the shipped model: kamon only
        -> runs/classifier-kamon/ (checkpoint, log, loss plot) and motion_core/weights/patterns/classifier.npz
    python -m training.patterns.train_classifier --set research --steps 600 --run runs/classifier-research-crossfit \
        --out runs/classifier-research-crossfit/classifier.npz
        (kamon + batik + decor: evaluation only, never shipped; ablations: --fusion concat, --augment none)
    python -m training.patterns.train_classifier --data FOLDER [--out FILE]
        a user's archive in the pattern library's format (FOLDER/captions.jsonl: image, caption, culture,
        licence; an optional "label" field is the class, else the caption is). Checked before any training;
        a bad folder is refused with one line and exit status 2.

Feature branch (``--features neighbours``, the default): fixed numpy descriptors of the training images
(motion_core/patterns/features.py) and a cosine k-nearest-neighbour vote over them
(training/patterns/classifier_features.py), fused with the model's logits by two weights fitted on the
held-out predictions (one pair for image-only input, one for image + text); the unknown threshold is then
set on the fused probabilities. ``--features none``: the ViT + MiniLM model alone (seed 003's design).

Cross-fitting (``--crossfit K``, default 5 for --set, 0 for --data): K fold models (ViT and feature
branch), each trained on the other folds of the training sources (train + validation, folds by source
group: a blazon's prints stay together), predict their fold; those out-of-fold predictions fit the fusion
weights, the temperature and the two unknown thresholds, and the final model and branch are trained on
every training source. ``--crossfit 0``: the validation part (15 % of the training sources) is held out
and fits them instead. The unknown threshold: fused confidence below it -> "unknown", chosen so that
``COVERAGE`` of the held-out images are answered.

Seeded (--seed), one thread per ViT (``--jobs N`` folds at once), resumable (each run folder's
checkpoint.pt, RUN/fold-<f>/ for the folds, is picked up unless --fresh), progress every 50 steps, loss
plot ``loss.png`` in the run folder. Augmentation: pad-and-crop, flip, brightness/contrast, and the damage simulator
(motion_core.patterns.damage, half of the views); ``--extra module:function`` is the hook for another
source (``augment(images, labels, rng) -> images``; a ``classes`` keyword gets the class names bound), e.g.
#13's GAN: --extra training.patterns.gan_augment:augment (measured, not used by the shipped model).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib
import inspect
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from motion_core.patterns.layers import softmax

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "motion_core" / "weights" / "patterns" / "classifier.npz"
COVERAGE = 0.9
OOD_K, OOD_COVERAGE = 5, 0.95  # image statistics' mean cosine to the 5 nearest training images; 95 % of validation kept
P_NO_TEXT, P_CULTURE_ONLY = 0.4, 0.2  # text dropout: 40 % no text, 20 % culture phrase only, 40 % full text
DAMAGE_VIEWS = 2
CROSSFIT_FOLDS = 5  # the shipped recipe's folds over the source groups (a blazon's prints stay together)

Augment = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def fail(msg: str) -> None:
    print(f"train_classifier: {msg}", file=sys.stderr)
    raise SystemExit(2)


# ----------------------------------------------------------------------------------------- data

def user_archive(folder: Path):
    """A ClassifierSet from a user's folder (library format); refuses with one line on any problem."""
    from motion_core.patterns.library import CAPTIONS, IMAGE_SUFFIXES, LibraryError, pil_reader, read_captions, to_square
    from training.patterns.classifier_data import ClassifierSet
    from training.patterns.data import _hash01

    entries, problems = read_captions(folder)
    listed = {e["image"] for e in entries}
    if folder.is_dir() and not problems:
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() in IMAGE_SUFFIXES and p.name not in listed:
                problems.append(f"{p.name} has no line in {CAPTIONS}")
    images = []
    for e in entries if not problems else []:
        p = folder / e["image"]
        if not p.is_file():
            problems.append(f"{e['image']} (line {e['line']}) not found")
            continue
        try:
            images.append(to_square(pil_reader(p)))
        except (LibraryError, Exception) as err:  # any decoder failure is the file's problem
            problems.append(f"{e['image']} is unreadable ({err})")
    labels = [str(e.get("label") or e["caption"]).strip() for e in entries]
    if not problems and len(set(labels)) < 2:
        problems.append("needs at least two different labels (the optional \"label\" field, else the caption)")
    if problems:
        fail(f"{folder}: cannot train on this folder ({len(problems)} problem(s), nothing written): "
             + "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else ""))
    classes = sorted(set(labels))
    part = np.array(["val" if _hash01("val:" + e["image"]) < 0.15 else "train" for e in entries])
    for c in classes:  # every class keeps at least one training image
        idx = [i for i, lab in enumerate(labels) if lab == c]
        if all(part[i] == "val" for i in idx):
            part[idx[0]] = "train"
    cultures = [e["culture"].strip() for e in entries]
    texts = [e.get("text", "").strip() or c for e, c in zip(entries, cultures, strict=True)]
    cs = ClassifierSet(images=np.stack(images), y=np.array([classes.index(lab) for lab in labels]), part=part,
                       dataset=["user"] * len(entries), text=texts, culture_text=cultures,
                       path=[e["image"] for e in entries],
                       meta=[{"licence": e["licence"], "source": str(folder)} for e in entries], classes=classes,
                       group=[e["image"] for e in entries])
    class_culture = {c: max(set(cu for lab, cu in zip(labels, cultures, strict=True) if lab == c),
                            key=lambda k, c=c: sum(1 for lab, cu in zip(labels, cultures, strict=True)
                                                   if lab == c and cu == k)) for c in classes}
    return cs, class_culture


# --------------------------------------------------------------------------------- augmentation

def standard_augment(x: np.ndarray, rng: np.random.Generator, rotate: np.ndarray | None = None) -> np.ndarray:
    """(N, 64, 64, 3) float [0, 1]: pad 6 px (edge) and crop back, flip, brightness/contrast; where
    ``rotate`` (N,) is true (crests: drawn to be seen from any quarter turn) also a random quarter turn."""
    n, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (6, 6), (6, 6), (0, 0)), mode="edge")
    out = np.empty_like(x)
    for i in range(n):
        dy, dx = rng.integers(0, 13, 2)
        v = xp[i, dy:dy + h, dx:dx + w]
        if rng.random() < 0.5:
            v = v[:, ::-1]
        if rotate is not None and rotate[i]:
            v = np.rot90(v, int(rng.integers(0, 4)))
        c, b = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
        out[i] = np.clip((v - 0.5) * c + 0.5 + b, 0, 1)
    return out


def damage_pool(images: np.ndarray, seed: int) -> np.ndarray:
    """DAMAGE_VIEWS damaged copies of each image (N, V, 64, 64, 3) uint8, seeded."""
    from motion_core.patterns.damage import damage, random_params

    rng = np.random.default_rng(seed + 7919)
    out = np.empty((len(images), DAMAGE_VIEWS, *images.shape[1:]), np.uint8)
    for i, im in enumerate(images):
        for v in range(DAMAGE_VIEWS):
            d = damage(im.astype(np.float32) / 255, rng, random_params(rng))
            out[i, v] = np.clip(d * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def load_extra(spec: str | None, classes: list[str] | None = None) -> Augment | None:
    """``module:function`` -> the function; one that takes a ``classes`` keyword (e.g.
    training.patterns.gan_augment:augment, which needs the class names the labels index) gets them bound."""
    if not spec:
        return None
    mod, _, name = spec.partition(":")
    fn = getattr(importlib.import_module(mod), name)
    if classes is not None and "classes" in inspect.signature(fn).parameters:
        fn = functools.update_wrapper(functools.partial(fn, classes=list(classes)), fn)
    return fn


# ------------------------------------------------------------------------------------- training

def batch_text(texts: list[str], cache_states: dict, idx: np.ndarray, mode: np.ndarray, culture_text: list[str]):
    from training.patterns.classifier_data import pad_states

    st = []
    for i, m in zip(idx, mode, strict=True):
        t = "" if m == 0 else (culture_text[i] if m == 1 else texts[i])
        st.append(cache_states.get(t) if t else None)
    return pad_states([None if s is None else s.astype(np.float32) for s in st])


def all_states(cs) -> dict:
    from training.patterns.classifier_data import TextCache

    return TextCache().get(list(cs.text) + list(cs.culture_text))


def logits_for(model, cs, idx: np.ndarray, states: dict, text_mode: int, batch: int = 128) -> np.ndarray:
    """Logits (len(idx), C) in eval mode; text_mode 0 none, 1 culture phrase, 2 full text."""
    import torch

    out = []
    model.eval()
    with torch.no_grad():
        for s in range(0, len(idx), batch):
            b = idx[s:s + batch]
            tx, pad = batch_text(cs.text, states, b, np.full(len(b), text_mode), cs.culture_text)
            im = torch.from_numpy(cs.images[b].astype(np.float32) / 255).permute(0, 3, 1, 2)
            out.append(model(im, torch.from_numpy(tx), torch.from_numpy(pad)).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(cs.classes)), np.float32)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising validation NLL (grid search in log space; 1.0 when no data)."""
    if len(y) == 0:
        return 1.0
    best, best_t = np.inf, 1.0
    for t in np.exp(np.linspace(np.log(0.25), np.log(8), 121)):
        z = logits / t
        z = z - z.max(1, keepdims=True)
        nll = -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean()
        if nll < best:
            best, best_t = nll, float(t)
    return best_t


def train(cs, run: Path, steps: int, batch: int, seed: int, fusion: str, augment: str, extra: Augment | None,
          fresh: bool, dim: int, depth: int, lr: float = 1e-3, balance: bool = False, rotate: bool = False,
          token_drop: float = 0.0, p_text: tuple[float, float] = (P_NO_TEXT, P_CULTURE_ONLY)) -> tuple:
    """Train (or resume) and return (model, text states). ``balance``: class-balanced sampling;
    ``rotate``: quarter turns of crest images; ``token_drop``: share of a full text's tokens hidden per
    view; ``p_text``: shares of views with no text and with the culture phrase only (the rest: full
    text). The defaults are the recipe of the reported models; the three options were tried on kamon and
    were worse on its validation part (docs/classifier.md)."""
    import torch
    from torch.nn import functional as F

    from training.patterns.classifier_model import PatternClassifier

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    run.mkdir(parents=True, exist_ok=True)
    states = all_states(cs)
    tr = np.flatnonzero(cs.part == "train")
    model = PatternClassifier(len(cs.classes), dim=dim, depth=depth, fusion=fusion)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    rng = np.random.default_rng(seed)
    # the training images belong to the recipe: a fold's checkpoint is never resumed on another fold
    recipe = {"balance": balance, "rotate": rotate, "token_drop": token_drop, "p_text": list(p_text),
              "augment": augment, "batch": batch, "seed": seed,
              "train_set": hashlib.sha1(tr.tobytes() + cs.y[tr].tobytes()).hexdigest()[:16]}
    step, history = 0, []
    ckpt = run / "checkpoint.pt"
    if ckpt.exists() and not fresh:
        c = torch.load(ckpt, weights_only=False)  # this run folder's own checkpoint: it holds numpy's RNG state
        if c["config"] == model.config and c["steps"] == steps and c.get("recipe", recipe) == recipe:
            model.load_state_dict(c["model"])
            opt.load_state_dict(c["opt"])
            step, history = c["step"], c["history"]
            rng.bit_generator.state = c["rng"]
            torch.set_rng_state(c["torch_rng"])
            print(f"resumed at step {step}/{steps}", flush=True)
        else:
            print("checkpoint is for another configuration: starting afresh", flush=True)
    pool = damage_pool(cs.images[tr], seed) if augment == "standard" else None
    # class-balanced sampling: each class drawn equally often (macro F1 and mAP weigh classes equally)
    counts = np.bincount(cs.y[tr], minlength=len(cs.classes)).astype(float)
    prob = 1.0 / counts[cs.y[tr]]
    prob /= prob.sum()
    crest = np.array([d in ("kamon", "user") for d in cs.dataset])
    t0 = time.time()
    warm = max(steps // 20, 1)
    while step < steps:
        lr_now = lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + np.cos(np.pi * step / steps))
        for g in opt.param_groups:
            g["lr"] = lr_now
        pick = rng.choice(len(tr), batch, p=prob) if balance else rng.integers(0, len(tr), batch)
        b = tr[pick]
        x = cs.images[b].astype(np.float32) / 255
        if augment == "standard":
            dmg = rng.random(batch) < 0.5
            x[dmg] = pool[pick[dmg], rng.integers(0, DAMAGE_VIEWS, int(dmg.sum()))].astype(np.float32) / 255
            x = standard_augment(x, rng, crest[b] if rotate else None)
        if extra is not None:
            x = np.ascontiguousarray(extra(x, cs.y[b], rng), np.float32)
            if x.shape != (len(b), *cs.images.shape[1:]):
                fail(f"--extra {extra.__name__} returned images of shape {x.shape}, expected {(len(b), *cs.images.shape[1:])}")
        u = rng.random(batch)
        mode = np.where(u < p_text[0], 0, np.where(u < p_text[0] + p_text[1], 1, 2))
        tx, pad = batch_text(cs.text, states, b, mode, cs.culture_text)
        if token_drop > 0:
            drop = (rng.random(pad.shape) < token_drop) & (mode == 2)[:, None]
            drop[:, 0] = False  # keep [CLS]: a full text never vanishes entirely
            pad = pad | drop
        model.train()
        logits = model(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(tx), torch.from_numpy(pad))
        loss = F.cross_entropy(logits, torch.from_numpy(cs.y[b]), label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        history.append(float(loss.detach()))
        if step % 50 == 0 or step == steps:
            el = time.time() - t0
            print(f"step {step}/{steps} loss {np.mean(history[-50:]):.3f} lr {lr_now:.2e} {el:.0f}s", flush=True)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "steps": steps,
                        "history": history, "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                        "config": model.config, "recipe": recipe}, run / "checkpoint.tmp")
            os.replace(run / "checkpoint.tmp", ckpt)
    plot_loss(history, run / "loss.png")
    return model, states


def plot_loss(history: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = np.array(history)
    k = 25
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    ax.plot(h, lw=0.5, alpha=0.4, label="batch")
    if len(h) > k:
        ax.plot(np.arange(k - 1, len(h)), np.convolve(h, np.ones(k) / k, "valid"), lw=1.5, label=f"mean of {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (label smoothing 0.1)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def image_features(model, images: np.ndarray, batch: int = 128) -> np.ndarray:
    """(N, D) unit image features: the [CLS] token after the image encoder (no text involved)."""
    import torch

    out = []
    model.eval()
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = torch.from_numpy(images[s:s + batch].astype(np.float32) / 255).permute(0, 3, 1, 2)
            out.append(model.image_tokens(x)[:, 0].numpy())
    f = np.concatenate(out)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-8)


def knn_similarity(f: np.ndarray, bank: np.ndarray, k: int = OOD_K, exclude_self: bool = False) -> np.ndarray:
    """(N,) mean cosine of each feature to its k nearest bank features."""
    sims = f @ bank.T
    if exclude_self:
        np.fill_diagonal(sims, -np.inf)
    k = min(k, bank.shape[0] - int(exclude_self))
    return np.sort(sims, axis=1)[:, -k:].mean(1)


def held_out(model, cs, states, features: bool) -> tuple[dict, dict | None, dict | None]:
    """What the fits after training need, predicted on the validation part (images the model and the
    branch were not fitted on): ``z0`` / ``z2`` the model's logits image only / with the full text,
    ``lp`` the log-probabilities of a feature branch fitted on the train part, ``sim`` the image
    statistics' kNN similarity to the train part, ``y``. With no validation part: the training images,
    each hidden from the branch's neighbours and from its own statistics (the model's logits are then
    in-sample). Returns (predictions, branch arrays, branch meta); no branch when ``features`` is false."""
    from motion_core.patterns.classifier import image_statistics
    from training.patterns.classifier_features import branch_from, branch_log_probs, fit_neighbour_branch

    tr, va = np.flatnonzero(cs.part == "train"), np.flatnonzero(cs.part == "val")
    stats = image_statistics(cs.images[tr])
    pred: dict = {"used": "validation part of train"}
    loo = len(va) == 0
    if not loo:
        pred["sim"] = knn_similarity(image_statistics(cs.images[va]), stats)
    else:
        va, pred["used"] = tr, "training images, each left out (no validation part)"
        pred["sim"] = knn_similarity(stats, stats, exclude_self=True)
    arrays = meta = None
    if features:
        arrays, meta = fit_neighbour_branch(cs.images[tr], cs.y[tr], len(cs.classes))
        branch = branch_from(arrays, meta, len(cs.classes))
        if not loo:
            pred["lp"] = branch_log_probs(branch, cs.images[va])
        else:  # leave-one-out: each image's own 8 views hidden from its neighbours
            own = np.tile(np.eye(len(tr), dtype=bool), (1, meta["views"]))
            pred["lp"] = np.mean([branch.vote(branch.embed(_views(cs.images[tr], v)), own)
                                  for v in range(meta["views"])], 0)
    pred["z0"], pred["z2"] = logits_for(model, cs, va, states, 0), logits_for(model, cs, va, states, 2)
    pred["y"], pred["idx"] = cs.y[va], va
    return pred, arrays, meta


def fit_calibration(pred: dict) -> tuple[float, float, dict]:
    """(temperature, threshold, report) of the model alone from held-out predictions, image only and
    with the full text pooled."""
    z = np.concatenate([pred["z0"], pred["z2"]])
    y = np.concatenate([pred["y"], pred["y"]])
    t = fit_temperature(z, y)
    thr = float(np.quantile(softmax(z / t).max(1), 1 - COVERAGE))
    return t, thr, {"calibrated_on": pred["used"], "images": int(len(pred["y"])), "temperature": t, "threshold": thr,
                    "target_coverage": COVERAGE,
                    "val_accuracy_image_only": float((pred["z0"].argmax(1) == pred["y"]).mean())}


def fit_ood(pred: dict, bank_images: int) -> tuple[float, dict]:
    """The out-of-set threshold on the image statistics' kNN similarity: the share OOD_COVERAGE of the
    held-out images lies above it. (The classifier's own [CLS] feature and the pattern encoder's phi were
    tried first and separate far worse: docs/classifier.md.)"""
    thr = float(np.quantile(pred["sim"], 1 - OOD_COVERAGE))
    return thr, {"ood_k": OOD_K, "ood_threshold": thr, "ood_target_coverage": OOD_COVERAGE,
                 "ood_descriptor": "image_statistics (grey histogram, saturation, gradient)",
                 "ood_bank_images": int(bank_images)}


def fit_fused(pred: dict, meta: dict) -> float:
    """The fusion weights (one pair image only, one with text) on held-out NLL, written into the branch's
    ``meta`` with the held-out accuracies; returns the unknown threshold on the fused confidences."""
    from training.patterns.classifier_features import fit_fusion, log_softmax

    lp, y = pred["lp"], pred["y"]
    fusion, fused = {}, []
    for key, name in (("z0", "image_only"), ("z2", "with_text")):
        a, b = fit_fusion(lp, pred[key], y)
        fusion[name] = [a, b]
        fused.append(a * lp + b * pred[key])
        meta[f"val_accuracy_{name}"] = {"features": round(float((lp.argmax(1) == y).mean()), 4),
                                        "model": round(float((pred[key].argmax(1) == y).mean()), 4),
                                        "fused": round(float((fused[-1].argmax(1) == y).mean()), 4)}
    thr = float(np.quantile(np.exp(log_softmax(np.concatenate(fused))).max(1), 1 - COVERAGE))
    meta.update({"fusion": fusion, "fusion_fitted_on": pred["used"], "threshold_fused": thr})
    return thr


# ---------------------------------------------------------------------------------- cross-fitting

def folds_of(cs, k: int) -> np.ndarray:
    """(N,) fold 0..k-1 of each non-test image by a hash of its source group (all prints of a blazon in
    one fold, so a fold's blazons are unseen by the rest); -1 for test images."""
    from training.patterns.data import _hash01

    groups = cs.group or cs.path
    fold = np.array([min(int(_hash01("fold:" + g) * k), k - 1) for g in groups])
    return np.where(cs.part == "test", -1, fold)


def with_part(cs, part: np.ndarray):
    import dataclasses

    return dataclasses.replace(cs, part=np.asarray(part))


def fold_set(cs, fold: np.ndarray, f: int):
    """cs with fold ``f`` as the validation part and the other non-test images as the train part."""
    return with_part(cs, np.where(fold < 0, "test", np.where(fold == f, "val", "train")))


def _fold_job(job: dict) -> dict:
    """One fold: train on the other folds (resumable run folder), predict the fold (``held_out``).
    One thread: ``train`` sets torch's."""
    cs = job["cs"]
    print(f"fold {job['fold']}: {int((cs.part == 'train').sum())} train / {int((cs.part == 'val').sum())} held out",
          flush=True)
    extra = load_extra(job["extra"], cs.classes)
    model, states = train(cs, job["run"], extra=extra, **job["train"])
    pred, _, _ = held_out(model, cs, states, job["features"])
    return pred


def crossfit(cs, k: int, run: Path, train_kw: dict, extra: str | None, features: bool, jobs: int) -> dict:
    """Out-of-fold predictions for every non-test image: k models (and feature branches), each trained on
    the other k - 1 folds (run folders RUN/fold-<f>, resumable), ``jobs`` at a time. Returns the
    predictions pooled in the format of ``held_out`` (``idx`` into cs)."""
    fold = folds_of(cs, k)
    todo = [{"cs": fold_set(cs, fold, f), "fold": f, "run": run / f"fold-{f}", "train": train_kw, "extra": extra,
             "features": features} for f in range(k)]
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
            preds = list(ex.map(_fold_job, todo))
    else:
        preds = [_fold_job(j) for j in todo]
    out = {key: np.concatenate([p[key] for p in preds]) for key in preds[0] if key != "used"}
    out["used"] = f"out-of-fold predictions, {k} folds over the source groups of train + validation " \
                  f"({len(out['y'])} images)"
    out["fold_accuracy"] = {f"fold_{f}": {"images": int(len(p["y"])),
                                          **({"features": round(float((p["lp"].argmax(1) == p["y"]).mean()), 4)}
                                             if "lp" in p else {}),
                                          "model_image_only": round(float((p["z0"].argmax(1) == p["y"]).mean()), 4)}
                            for f, p in enumerate(preds)}
    return out


def _views(images: np.ndarray, v: int) -> np.ndarray:
    from motion_core.patterns.features import dihedral

    return dihedral(images.astype(np.float32) / 255, v)


def export(model, cs, out: Path, class_culture: dict, temperature: float, threshold: float, info: dict,
           ood_bank: np.ndarray | None = None, class_display: dict | None = None,
           feature_arrays: dict[str, np.ndarray] | None = None, feature_meta: dict | None = None) -> None:
    from motion_core.files import atomic_path

    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    meta = {"format": "heritage-motion pattern classifier 1", "config": model.config, "classes": cs.classes,
            "class_culture": class_culture, "class_display": class_display or {}, "temperature": temperature,
            "threshold": threshold, **info}
    if feature_meta is not None:
        meta["features"] = feature_meta
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            extra = {} if ood_bank is None else {"ood_bank": ood_bank.astype(np.float32)}
            extra.update({f"feat.{k}": v for k, v in (feature_arrays or {}).items()})
            np.savez(f, meta_json=np.array(json.dumps(meta, ensure_ascii=False)), **extra, **sd)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("kamon", "research"), default="kamon",
                    help="the shared data: kamon (shipped model) or research (kamon + batik + decor, never shipped)")
    ap.add_argument("--data", type=Path, help="a user's archive folder (captions.jsonl format) instead of --set")
    ap.add_argument("--out", type=Path, help="weights file (default: the shipped path for --set kamon, "
                                             "RUN/classifier.npz otherwise)")
    ap.add_argument("--run", type=Path, help="run folder (checkpoint, log, loss plot); default runs/classifier-<set>")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--fusion", choices=("xattn", "concat"), default="xattn")
    ap.add_argument("--augment", choices=("standard", "none"), default="standard")
    ap.add_argument("--balance", action="store_true", help="class-balanced sampling (tried; worse on validation)")
    ap.add_argument("--rotate", action="store_true", help="quarter turns of crest images (tried; worse on validation)")
    ap.add_argument("--token-drop", type=float, default=0.0, help="share of a full text's tokens hidden per view")
    ap.add_argument("--p-text", default=f"{P_NO_TEXT},{P_CULTURE_ONLY}",
                    help="shares of training views with no text and with the culture phrase only")
    ap.add_argument("--features", choices=("neighbours", "none"), default="neighbours",
                    help="the feature branch fused with the model (default), or none: the model alone")
    ap.add_argument("--extra", help="module:function, an extra augmentation augment(images, labels, rng) -> images")
    ap.add_argument("--crossfit", type=int, default=None,
                    help=f"folds of cross-fitting: train the final model on train + validation and calibrate "
                         f"(fusion, temperature, thresholds) on out-of-fold predictions; 0: hold the validation "
                         f"part out instead (default {CROSSFIT_FOLDS} for --set, 0 for --data)")
    ap.add_argument("--jobs", type=int, default=1, help="folds trained at once (one CPU thread each)")
    ap.add_argument("--fresh", action="store_true", help="ignore a checkpoint in the run folder")
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from training.patterns.classifier_data import CULTURE_OF, build, culture_of, display_name

    if a.data is not None:
        if a.out is not None and a.out.suffix != ".npz":
            fail(f"--out {a.out}: the weights file must end in .npz")
        cs, class_culture = user_archive(a.data)
        run = a.run or REPO / "runs" / f"classifier-user-{a.data.resolve().name}"
        out = a.out or a.data / "classifier.npz"
        steps = a.steps or int(np.clip(20 * len(cs.y), 200, 1500))
        info = {"trained_on": f"user archive {a.data.resolve()}", "licence": "the archive owner's (per image in "
                "captions.jsonl)", "licences": sorted({m["licence"] for m in cs.meta}), "cultures": sorted(
                set(class_culture.values())), "text": "the culture field (or an optional 'text' field)"}
    else:
        datasets = ("kamon",) if a.set == "kamon" else ("kamon", "batik", "decor")
        cs = build(datasets)
        class_culture = {c: culture_of(c) for c in cs.classes}
        run = a.run or REPO / "runs" / f"classifier-{a.set}"
        out = a.out or (SHIPPED if a.set == "kamon" else run / "classifier.npz")
        steps = a.steps or 800
        from training.patterns.classifier_data import CULTURE_PHRASES

        info = {"trained_on": "Kamon data set (Sakana AI; Ansei Bukan prints from CODH, Wikimedia images)"
                if a.set == "kamon" else "kamon + batik-ragam + traditional-decor (evaluation only, not shippable)",
                "licence": "CC BY-SA 4.0 (see PATTERNS_NOTICE.md)" if a.set == "kamon" else "not for distribution",
                "cultures": sorted({CULTURE_OF[d] for d in datasets}),
                "culture_phrases": {k: v for k, v in CULTURE_PHRASES.items() if k in {CULTURE_OF[d] for d in datasets}},
                "leak_report": cs.leak_report}
    extra = load_extra(a.extra, cs.classes)
    print(f"{len(cs.classes)} classes, {int((cs.part == 'train').sum())} train / {int((cs.part == 'val').sum())} val"
          f" / {int((cs.part == 'test').sum())} test images; {steps} steps of {a.batch}", flush=True)
    t0 = time.time()
    try:
        p_text = tuple(float(v) for v in a.p_text.split(","))
        assert len(p_text) == 2 and min(p_text) >= 0 and sum(p_text) <= 1
    except (ValueError, AssertionError):
        fail(f"--p-text {a.p_text}: expected two shares such as 0.4,0.2")
    train_kw = dict(steps=steps, batch=a.batch, seed=a.seed, fusion=a.fusion, augment=a.augment, fresh=a.fresh,
                    dim=a.dim, depth=a.depth, balance=a.balance, rotate=a.rotate, token_drop=a.token_drop,
                    p_text=p_text)
    features = a.features == "neighbours"
    k = a.crossfit if a.crossfit is not None else (0 if a.data is not None else CROSSFIT_FOLDS)
    if k == 1 or k < 0:
        fail(f"--crossfit {k}: give 0 (a validation part) or at least 2 folds")
    if k:
        all_states(cs)  # every text's MiniLM states cached once, before the folds read the cache in parallel
        pred = crossfit(cs, k, run, train_kw, a.extra, features, a.jobs)
        cs = with_part(cs, np.where(cs.part == "test", "test", "train"))  # the final model: train + validation
        print(f"final model on all {int((cs.part == 'train').sum())} non-test images", flush=True)
    model, states = train(cs, run, extra=extra, **train_kw)  # type: ignore[arg-type]
    if not k:
        pred, f_arrays, f_meta = held_out(model, cs, states, features)
    else:
        from training.patterns.classifier_features import fit_neighbour_branch

        f_arrays, f_meta = fit_neighbour_branch(cs.images[cs.part == "train"], cs.y[cs.part == "train"],
                                                len(cs.classes)) if features else (None, None)
    temp, thr, rep = fit_calibration(pred)
    print(f"calibration: temperature {temp:.3f}, threshold {thr:.3f} ({rep['calibrated_on']})", flush=True)
    from motion_core.patterns.classifier import image_statistics

    bank = image_statistics(cs.images[cs.part == "train"])
    ood_thr, ood_rep = fit_ood(pred, len(bank))
    rep.update(ood_rep)
    if k:
        rep["crossfit"] = {"folds": k, "fold_accuracy": pred["fold_accuracy"]}
    print(f"out-of-set check: kNN similarity threshold {ood_thr:.3f}", flush=True)
    if f_meta is not None:
        thr = fit_fused(pred, f_meta)
        rep["threshold_model_alone"] = rep["threshold"]
        rep["threshold"] = thr
        print(f"feature branch: fusion {f_meta['fusion']}, fused threshold {thr:.3f}; held-out accuracy "
              f"{f_meta['val_accuracy_image_only']} (image only), {f_meta['val_accuracy_with_text']} (with text)",
              flush=True)
    info.update({"calibration": rep, "steps": steps, "batch": a.batch, "seed": a.seed, "augment": a.augment,
                 "crossfit_folds": k,
                 "balance": a.balance, "rotate": a.rotate, "token_drop": a.token_drop, "p_text": a.p_text,
                 "extra_augment": a.extra or None, "feature_branch": a.features,
                 "train_seconds_this_session": round(time.time() - t0, 1),
                 "text_encoder": "all-MiniLM-L6-v2 token states (frozen), motion_core/text/encoder.py"})
    (run / "train_info.json").write_text(json.dumps(info, indent=1, ensure_ascii=False))
    display = {} if a.data is not None else {c: display_name(c) for c in cs.classes}
    export(model, cs, out, class_culture, temp, thr, info, bank, display, f_arrays, f_meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
