"""Fit the motion -> caption-space map behind h_sem(t) (motion_core/patterns/symbols.py).

    python -m training.patterns.motion_semantic [--cache ~/.cache/heritage-motion] [--out motion_core/weights/motion_semantic.npz]

Reads the motion training cache (``python -m training.build_dataset``): each clip's canonical
joint positions and its (content, style) captions. Windows of 1 s every 10 frames are paired with
the mean MiniLM embedding of the clip's captions; a ridge regression (closed form, numpy) maps the
standardised window features to that embedding. Reported on the validation clips (split by clip,
as the motion model's): R-precision top-1/top-3 of a window's h_sem among the 219 (content, style)
pairs' caption embeddings. Trained on Bandai-Namco data (CC BY-NC 4.0): the weights carry that licence.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from motion_core.files import save_atomic
from motion_core.patterns.encoder import l2n
from motion_core.patterns.symbols import WEIGHTS, window_features
from motion_core.skeleton.motion import Motion
from motion_core.text.encoder import load_text_encoder

STRIDE = 10
RIDGE = 10.0  # product choice (not tuned)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("HM_CACHE", Path.home() / ".cache" / "heritage-motion")))
    p.add_argument("--out", type=Path, default=WEIGHTS)
    p.add_argument("--ridge", type=float, default=RIDGE)
    a = p.parse_args(argv)
    t0 = time.time()
    index = json.loads((a.cache / "clips" / "index.json").read_text())
    text = load_text_encoder()
    pairs = sorted({(c["content"], c["style"]) for c in index["clips"]})
    pair_caps = {}
    for c in index["clips"]:
        pair_caps.setdefault((c["content"], c["style"]), set()).update(c["captions"][:4])
    pair_emb = {k: l2n(text.encode(sorted(v)).mean(0)) for k, v in pair_caps.items()}
    xs = {"train": [], "val": []}
    ys = {"train": [], "val": []}
    ls = {"train": [], "val": []}
    for c in index["clips"]:
        z = np.load(a.cache / "clips" / c["file"], allow_pickle=False)
        mot = Motion(z["rotations"], z["root"], z["tpose"], z["present"], float(z["fps"]))
        f = window_features(mot.positions(), mot.fps)[::STRIDE]
        side = "val" if c["split"] != "train" else "train"
        xs[side].append(f)
        ys[side].append(np.repeat(pair_emb[(c["content"], c["style"])][None], len(f), 0))
        ls[side] += [pairs.index((c["content"], c["style"]))] * len(f)
    x, y = np.concatenate(xs["train"]), np.concatenate(ys["train"])
    mean, std = x.mean(0), x.std(0) + 1e-6
    xn = (x - mean) / std
    b = y.mean(0)
    w = np.linalg.solve(xn.T @ xn + a.ridge * len(xn) / 1000 * np.eye(xn.shape[1]), xn.T @ (y - b))
    xv = (np.concatenate(xs["val"]) - mean) / std
    h = l2n(xv @ w + b)
    table = np.stack([pair_emb[k] for k in pairs])
    rank = np.argsort(-(h @ table.T), axis=1)
    lv = np.array(ls["val"])
    r1 = float((rank[:, 0] == lv).mean())
    r3 = float((rank[:, :3] == lv[:, None]).any(1).mean())
    content = [k[0] for k in pairs]
    c1 = float(np.mean([content[rank[i, 0]] == content[lv[i]] for i in range(len(lv))]))
    meta = {"train_windows": len(x), "val_windows": len(xv), "pairs": len(pairs), "r_precision_top1": round(r1, 4),
            "r_precision_top3": round(r3, 4), "content_top1": round(c1, 4), "ridge": a.ridge,
            "licence": "trained on Bandai-Namco-Research-Motiondataset (CC BY-NC 4.0)", "seconds": round(time.time() - t0, 1)}
    save_atomic(a.out, lambda tmp: np.savez(tmp, mean=mean.astype(np.float32), std=std.astype(np.float32),
                                            w=w.astype(np.float16), b=b.astype(np.float32), meta=np.array(json.dumps(meta))))
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
