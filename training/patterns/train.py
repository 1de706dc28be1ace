"""Train the pattern encoder (seed 002 eqs. 3-4) and build its memory bank, in one command.

    python -m training.patterns.train --data kamon --out motion_core/weights/patterns   # the shipped model
    python -m training.patterns.train --data all --out runs/patterns-eval                 # evaluation only

``--data kamon`` trains on the kamon set only (CC BY-SA 4.0: the only set that may ship);
``--data all`` adds batik-ragam and traditional-decor (evaluation only: never ship what it writes).
Only the train split is trained on (training/patterns/data.py: split by source before damage).

Each step draws a batch of source images and makes two views of each: a lightly cropped clean view
and a damaged one (motion_core.patterns.damage). L_vis (eq. 3, gamma 0.07): positives are the other
view of the same image and, for labelled images, the batch's images of the same class. L_sem
(eq. 4): the image's semantic embedding against its class caption's MiniLM embedding (positive)
and the hardest other caption (negative), margin 1.2 for classes marked sacred, 0.8 otherwise.
L = L_vis + L_sem (alpha = beta = 1, product choice).

Writes OUT/pattern_encoder.npz (fp16), OUT/pattern_bank.npz + .json (built over the whole
kamon set for --data kamon, over the train split for --data all) and OUT/train_log.json; for
--data kamon also OUT/textures/ and the licence notice (export_textures.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from motion_core import config
from motion_core.files import save_atomic, write_json_atomic
from motion_core.patterns.bank import PatternBank
from motion_core.patterns.damage import _resize_bilinear, damage, random_params
from motion_core.patterns.encoder import PatternEncoder
from motion_core.text.encoder import load_text_encoder
from training.patterns import data as pdata
from training.patterns.concepts import BATIK, DECOR, kamon_classes
from training.patterns.model import PatternNet, loss_sem, loss_vis

KAMON_NOTICE = ("Pattern encoder and bank trained on the Kamon data set (Sakana AI): Edo-period Ansei Bukan woodblock "
                "prints (Center for Open Data in the Humanities) and Wikimedia images, CC BY-SA 4.0. This model and its "
                "bank are shared under CC BY-SA 4.0: see PATTERNS_NOTICE.md.")


def concepts_for(datasets: set[str]) -> list[dict]:
    out = []
    if "kamon" in datasets:
        for label, (train, query, sacred) in kamon_classes().items():
            out.append({"label": label, "dataset": "kamon", "caption": train, "query": query, "sacredness": sacred})
    if "batik" in datasets:
        for cls, (train, query, sacred) in BATIK.items():
            out.append({"label": "batik:" + cls, "dataset": "batik", "caption": train, "query": query, "sacredness": sacred})
    if "decor" in datasets:
        for _code, (label, train, query, sacred) in DECOR.items():
            out.append({"label": "decor:" + label, "dataset": "decor", "caption": train, "query": query,
                        "sacredness": sacred})
    for c in out:
        c["margin"] = config.MARGIN_SACRED if c["sacredness"] == "sacred" else config.MARGIN_DECORATIVE
        c["caption_author"] = "Heritage Motion engineer (written for this project; illustrative)"
    return out


def crop_view(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random crop of 80-100 % of the side, resized back (float [0, 1])."""
    h = img.shape[0]
    s = int(round(h * rng.uniform(0.8, 1.0)))
    y, x = rng.integers(0, h - s + 1, 2)
    c = img[y:y + s, x:x + s]
    return np.stack([_resize_bilinear(c[..., k], h, h) for k in range(3)], -1)


def views(images: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = images.astype(np.float32) / 255.0
    clean = np.stack([crop_view(im, rng) for im in x])
    dam = np.stack([damage(crop_view(im, rng), rng, random_params(rng)) for im in x])
    return clean, dam


def encoder_from_torch(net: PatternNet, fp16: bool = True) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().astype(np.float16 if fp16 else np.float32) for k, v in net.state_dict().items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=["kamon", "all"], default="kamon")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--bank-only", action="store_true", help="keep OUT/pattern_encoder.npz; rebuild the bank")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    t0 = time.time()

    full = pdata.load()
    datasets = {"kamon"} if a.data == "kamon" else {"kamon", "batik", "decor"}
    s = full.select([d in datasets for d in full.dataset])
    concepts = concepts_for(datasets)
    label_index = {c["label"]: i for i, c in enumerate(concepts)}
    text = load_text_encoder()
    captions = text.encode([c["caption"] for c in concepts])
    cap_t = torch.from_numpy(captions)
    margin_t = torch.tensor([c["margin"] for c in concepts], dtype=torch.float32)

    train_idx = np.array([i for i in range(len(s.images)) if s.split[i] == "train"])
    labelled = np.array([i for i in train_idx if s.label[i] in label_index])
    unlabelled = np.array([i for i in train_idx if s.label[i] not in label_index])
    print(f"train: {len(train_idx)} images ({len(labelled)} labelled, {len(concepts)} concepts); "
          f"test held out: {sum(1 for x in s.split if x == 'test')}", flush=True)

    if a.bank_only:
        z = np.load(a.out / "pattern_encoder.npz")
        weights = {k: z[k] for k in z.files if not k.startswith("meta_")}
        a.steps = int(z["meta_steps"])
        build_bank(a, s, weights, concepts, captions, label_index, train_idx, full, [], t0)
        return 0
    net = PatternNet()
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.steps, pct_start=0.1)
    log = []
    for step in range(a.steps):
        n_lab = a.batch // 2 if len(unlabelled) else a.batch
        idx = np.concatenate([rng.choice(labelled, n_lab, replace=False),
                              rng.choice(unlabelled, a.batch - n_lab, replace=False) if a.batch > n_lab else []]).astype(int)
        clean, dam = views(s.images[idx], rng)
        x = torch.from_numpy(np.concatenate([clean, dam]))
        f, sem = net(x)
        lab = np.array([label_index.get(s.label[i], -1) for i in idx] * 2)
        grp = np.array([s.group[i] for i in idx] * 2)
        same_img = torch.from_numpy(grp[:, None] == grp[None, :])
        same_lab = torch.from_numpy((lab[:, None] == lab[None, :]) & (lab[:, None] >= 0))
        lv = loss_vis(f, same_img | same_lab)
        m = torch.from_numpy(lab >= 0)
        ls = loss_sem(sem[m], torch.from_numpy(lab[lab >= 0]), cap_t, margin_t)
        loss = lv + ls
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == a.steps - 1:
            log.append({"step": step, "l_vis": round(lv.item(), 4), "l_sem": round(ls.item(), 4),
                        "elapsed_s": round(time.time() - t0, 1)})
            print(log[-1], flush=True)

    a.out.mkdir(parents=True, exist_ok=True)
    weights = encoder_from_torch(net)
    meta = {"meta_data": np.array(a.data), "meta_steps": np.array(a.steps)}
    save_atomic(a.out / "pattern_encoder.npz", lambda tmp: np.savez(tmp, **weights, **meta))
    build_bank(a, s, weights, concepts, captions, label_index, train_idx, full, log, t0)
    return 0


def build_bank(a, s, weights, concepts, captions, label_index, train_idx, full, log, t0) -> None:
    enc = PatternEncoder(weights)

    # The bank: the whole kamon set for the shipped model (every image may ship); train split only
    # for the evaluation model (evaluate.py queries it with the test split).
    bank_idx = np.arange(len(s.images)) if a.data == "kamon" else train_idx
    vis, sem = enc.encode(s.images[bank_idx])
    items = [{"path": s.path[i], "label": s.label[i] if s.label[i] in label_index else None, "dataset": s.dataset[i],
              "split": s.split[i], **s.meta[i]} for i in bank_idx]
    medoid_ok = np.array([it.get("source") in ("edo", "edo-undescribed") for it in items])  # CC BY-SA 4.0 prints
    info = {"encoder": "pattern_encoder.npz", "data": a.data, "steps": a.steps, "gamma": config.GAMMA_TEMPERATURE,
            "notice": KAMON_NOTICE if a.data == "kamon" else "EVALUATION ONLY: trained on batik-ragam and "
            "traditional-decor (no licence stated upstream). Never ship.",
            "text_encoder": "all-MiniLM-L6-v2 (motion_core/text/encoder.py)"}
    bank = PatternBank.build(vis, sem, items, concepts, captions, info=info, medoid_ok=medoid_ok)
    bank.save(a.out / "pattern_bank.npz")
    if not log and (a.out / "train_log.json").exists():  # --bank-only: keep the training log
        import json
        log = json.loads((a.out / "train_log.json").read_text())["log"]
    write_json_atomic(a.out / "train_log.json", {"args": {k: str(v) for k, v in vars(a).items()}, "log": log,
                                                 "seconds": round(time.time() - t0, 1),
                                                 "dedupe": getattr(full, "dedupe_report", None)})
    if a.data == "kamon":
        from training.patterns.export_textures import export
        export(a.out)
    print(f"wrote {a.out}/pattern_encoder.npz and pattern_bank.npz ({len(items)} items) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
