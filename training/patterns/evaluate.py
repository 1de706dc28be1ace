"""Measure the pattern memory on the test split that no training saw (docs/patterns.md).

    python -m training.patterns.evaluate --model runs/patterns-eval --data all --out docs/patterns_eval.json
    python -m training.patterns.evaluate --model motion_core/weights/patterns --data kamon --out docs/patterns_eval_shipped.json

Per data set (kamon, batik, decor), on test images (clean, and damaged with fixed seeds):

- purity (docs/patterns.md): the test images are assigned to the nearest of the bank's K prototypes
  (built from training items only) and purity is the share of each prototype's assigned test images
  that carry its majority label, weighted by size. Visual: prototypes over the visual embeddings;
  semantic: prototypes (K-means++, same K) over the semantic embeddings; fused: over both, each
  scaled by the gate. Also at K = number of classes, where purity is not inflated by many small
  clusters, and for an untrained encoder (the floor).
- image -> pattern retrieval top-1/top-5: a test image against the training gallery, by label,
  image-only (visual), semantic-only (the image's psi) and fused (gated).
- text -> pattern retrieval top-1/top-5: each class's *query* caption (worded apart from the
  training caption) ranks the test images by cos(MiniLM(query), psi(image)); also with the
  training caption, which the semantic head was fitted to (an upper bound, not a result).
- drop on damaged inputs, and time per query (retrieval over the bank, numpy, one query).

For the shipped kamon model the bank holds every kamon image, so its test images are in its
gallery: evaluate it with --data kamon, where the gallery is rebuilt from train-split items only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from motion_core.files import write_json_atomic
from motion_core.patterns.bank import PatternBank, kmeans_pp, purity
from motion_core.patterns.damage import DamageParams, damage
from motion_core.patterns.encoder import PatternEncoder, l2n, load_encoder
from motion_core.text.encoder import load_text_encoder
from training.patterns import data as pdata


def _topk(scores: np.ndarray, gallery_labels: list, query_labels: list, ks=(1, 5)) -> dict[str, float]:
    order = np.argsort(-scores, axis=1)
    g = np.array(gallery_labels, dtype=object)
    out = {}
    for k in ks:
        hit = [(g[order[i, :k]] == q).any() for i, q in enumerate(query_labels)]
        out[f"top{k}"] = round(float(np.mean(hit)), 4)
    return out


def _damaged(images: np.ndarray, seed: int = 1234) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([(damage(im.astype(np.float32) / 255, rng, DamageParams()) * 255).round().astype(np.uint8)
                     for im in images])


def _purities(train_f, train_s, test_f, test_s, test_labels, gate, k, seed=0) -> dict[str, float]:
    pv, _ = kmeans_pp(train_f, k, seed)
    ps, _ = kmeans_pp(train_s, k, seed)
    g = float(np.mean(gate))
    tr_fu = l2n(np.concatenate([np.sqrt(g) * train_f, np.sqrt(1 - g) * train_s], 1))
    te_fu = l2n(np.concatenate([np.sqrt(g) * test_f, np.sqrt(1 - g) * test_s], 1))
    pf, _ = kmeans_pp(tr_fu, k, seed)
    return {"visual": round(purity((test_f @ pv.T).argmax(1), test_labels), 4),
            "semantic": round(purity((test_s @ ps.T).argmax(1), test_labels), 4),
            "fused": round(purity((te_fu @ pf.T).argmax(1), test_labels), 4)}


def evaluate_dataset(enc: PatternEncoder, bank: PatternBank, s: pdata.ImageSet, dataset: str, text) -> dict:
    tr = [i for i in range(len(s.images)) if s.dataset[i] == dataset and s.split[i] == "train" and s.label[i]]
    te = [i for i in range(len(s.images)) if s.dataset[i] == dataset and s.split[i] == "test" and s.label[i]]
    concepts = [c for c in bank.concepts if c.get("dataset", dataset) == dataset]
    known = {c["label"] for c in concepts}
    te = [i for i in te if s.label[i] in known]
    tr_f, tr_s = enc.encode(s.images[tr])
    tr_lab = [s.label[i] for i in tr]
    te_lab = [s.label[i] for i in te]
    out: dict = {"train_images": len(tr), "test_images": len(te), "classes": len(known),
                 "test_classes": len(set(te_lab))}
    # A gallery of this data set's training items (the bank's items, re-encoded the same way).
    gal = PatternBank.build(tr_f, tr_s, [{"label": lab} for lab in tr_lab], bank.concepts, bank.captions,
                            k=min(128, len(tr)))
    for cond, imgs in (("clean", s.images[te]), ("damaged", _damaged(s.images[te]))):
        f, sem = enc.encode(imgs)
        gate = gal.gate(f, sem)
        res = {"image_only": _topk(f @ tr_f.T, tr_lab, te_lab), "semantic_only": _topk(sem @ tr_s.T, tr_lab, te_lab),
               "fused": _topk(gal.scores(f, sem), tr_lab, te_lab), "mean_gate_visual": round(float(gate.mean()), 3),
               "purity_k128": _purities(tr_f, tr_s, f, sem, te_lab, gate, min(128, len(tr))),
               "purity_k_classes": _purities(tr_f, tr_s, f, sem, te_lab, gate, len(known))}
        out[cond] = res
    out["drop_points"] = {m: round(100 * (out["clean"][m]["top1"] - out["damaged"][m]["top1"]), 2)
                          for m in ("image_only", "semantic_only", "fused")}
    # Text -> pattern over the unseen test images.
    te_f, te_s = enc.encode(s.images[te])
    present = [c for c in concepts if c["label"] in set(te_lab)]
    for key in ("query", "caption"):
        q = text.encode([c[key] for c in present])
        out[f"text_to_pattern_{'query_caption' if key == 'query' else 'training_caption_upper_bound'}"] = {
            **_topk(q @ te_s.T, te_lab, [c["label"] for c in present]),
            "queries": len(present),
            "fused_with_visual_prototype": _topk(_text_fused(q, te_f, te_s, gal), te_lab, [c["label"] for c in present])}
    # Time per query: retrieval over the shipped-size bank (one query, after encoding).
    big = bank
    qf, qs = te_f[:1], te_s[:1]
    t0 = time.perf_counter()
    n = 200
    for _ in range(n):
        big.retrieve(qf, qs, k=5)
    out["retrieval_ms_per_query"] = {"fused_over_bank": round(1000 * (time.perf_counter() - t0) / n, 3),
                                     "bank_items": len(big.items)}
    t0 = time.perf_counter()
    for _ in range(n):
        big.retrieve(None, qs, k=5)
    out["retrieval_ms_per_query"]["text_over_bank"] = round(1000 * (time.perf_counter() - t0) / n, 3)
    t0 = time.perf_counter()
    enc.encode(s.images[te[:32]])
    out["encode_ms_per_image"] = round(1000 * (time.perf_counter() - t0) / min(32, len(te)), 3)
    return out


def _text_fused(q_sem: np.ndarray, te_f: np.ndarray, te_s: np.ndarray, gal: PatternBank) -> np.ndarray:
    """Text query, fused: the text picks its best gallery items semantically; their mean visual
    embedding is the visual half of the query (a pseudo image), gated with the text."""
    top = gal.retrieve(None, q_sem, k=5)
    f = l2n(gal.vis[top].mean(1))
    g = gal.gate(f, q_sem)[:, None]
    return g * (f @ te_f.T) + (1 - g) * (q_sem @ te_s.T)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True, help="folder with pattern_encoder.npz and pattern_bank.npz")
    p.add_argument("--data", choices=["kamon", "all"], default="all")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--untrained", action="store_true", help="also measure an untrained encoder (the floor)")
    a = p.parse_args(argv)
    enc = load_encoder(a.model / "pattern_encoder.npz")
    bank = PatternBank.load(a.model / "pattern_bank.npz")
    s = pdata.load()
    text = load_text_encoder()
    sets = ["kamon"] if a.data == "kamon" else ["kamon", "batik", "decor"]
    report = {"model": str(a.model), "bank": bank.info, "dedupe_batik": getattr(s, "dedupe_report", None), "results": {}}
    for d in sets:
        print(f"evaluating {d} ...", flush=True)
        report["results"][d] = evaluate_dataset(enc, bank, s, d, text)
        print({k: v for k, v in report["results"][d].items() if k != "damaged"}, flush=True)
    if a.untrained:
        import torch

        from training.patterns.model import PatternNet
        torch.manual_seed(0)
        raw = PatternEncoder({k: v.numpy() for k, v in PatternNet().state_dict().items()})
        report["untrained_floor"] = {d: evaluate_dataset(raw, bank, s, d, text)["clean"] for d in sets}
    write_json_atomic(a.out, report)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
