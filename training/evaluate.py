"""Evaluate motion models against real clips.

    python -m training.evaluate --checkpoint MODEL [--checkpoint BASELINE ...] --data DIR --out report.json

``MODEL`` is an exported ``.npz`` or a training ``checkpoint.pt``; ``DIR`` is any folder in the
Bandai-Namco layout (it is cached like the training set). Writes ``report.json`` and ``report.md``.

Metrics (validation split of DIR):

* recognition: a judge (content and style classifiers on pose statistics, trained on DIR's training
  clips only) labels each generated clip; accuracy for the prompt's labels, against real clips'
  (an R-precision analogue);
* FID on the judge's penultimate features, generated vs real;
* diversity (mean feature distance of random pairs) and multimodality (mean distance between samples
  of one prompt in diverse mode), as in text-to-motion papers;
* foot skating ratio (contact frames whose foot slides > 2.5 cm/frame... see ``foot_skating``), jerk
  (m/s^3), bone-length error (m);
* DTW similarity to the nearest real clip with the same labels: 1 - d_same / d_other, where d is the
  mean per-joint distance along the DTW path and d_other the median to clips of other labels;
* compliance: share of generated frames within every joint limit (canonical.MAX_ROTATION_DEG) and
  inside the 95% region of the pair's pose prior;
* the same recognition on ``training/unseen_prompts.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import linalg, stats

from motion_core import config
from motion_core.models import pose_vector as pv
from motion_core.models.generate import generate
from motion_core.models.registry import load_model
from motion_core.skeleton import canonical
from motion_core.skeleton.motion import Motion
from motion_core.text.encoder import load_text_encoder

from .build_dataset import build

UNSEEN = Path(__file__).with_name("unseen_prompts.json")
SKATE_HEIGHT_M = 0.05
SKATE_SPEED_M_PER_FRAME = 0.025


# --------------------------------------------------------------------------------------------
# Clip statistics


def clip_features(vec: np.ndarray) -> np.ndarray:
    """(T, 130) pose vectors -> (650,): per dimension the mean, std, 10th and 90th percentiles and
    mean absolute velocity (what a style shows: posture, range, tempo)."""
    vel = np.abs(np.diff(vec, axis=0)).mean(0) * config.FPS if len(vec) > 1 else np.zeros(vec.shape[1])
    lo, hi = np.percentile(vec, [10, 90], axis=0)
    return np.concatenate([vec.mean(0), vec.std(0), lo, hi, vel]).astype(np.float32)


def foot_skating(pos: np.ndarray) -> float:
    """Share of foot-contact frames (toe within 5 cm of the clip's floor) where the toe slides more
    than 2.5 cm in the ground plane in one frame (at 25 fps: 0.625 m/s)."""
    toes = pos[:, [canonical.INDEX["l_toe"], canonical.INDEX["r_toe"]]]
    floor = np.percentile(toes[..., 2], 2)
    contact = toes[1:, :, 2] - floor < SKATE_HEIGHT_M
    slide = np.linalg.norm(np.diff(toes[..., :2], axis=0), axis=-1) > SKATE_SPEED_M_PER_FRAME
    return float((contact & slide).sum() / max(1, contact.sum()))


def jerk(pos: np.ndarray) -> float:
    """Mean magnitude of the third derivative of joint positions, m/s^3."""
    if len(pos) < 4:
        return 0.0
    return float(np.linalg.norm(np.diff(pos, 3, axis=0), axis=-1).mean() * config.FPS ** 3)


def bone_length_error(m: Motion) -> float:
    pos = m.positions()
    err = 0.0
    for j, p in enumerate(canonical.PARENTS):
        if p >= 0:
            want = np.linalg.norm(m.tpose[j] - m.tpose[p])
            err = max(err, float(np.abs(np.linalg.norm(pos[:, j] - pos[:, p], axis=-1) - want).max()))
    return err


def joint_angles(m: Motion) -> np.ndarray:
    g = m.global_matrices()
    local = g.copy()
    for j, p in enumerate(canonical.PARENTS):
        if p >= 0:
            local[:, j] = np.swapaxes(g[:, p], -1, -2) @ g[:, j]
    tr = np.trace(local, axis1=-2, axis2=-1)
    return np.degrees(np.arccos(np.clip((tr - 1) / 2, -1, 1)))


def compliance(m: Motion, prior_mean: np.ndarray, prior_std: np.ndarray, mean: np.ndarray,
               std: np.ndarray) -> tuple[float, float, float]:
    """(share within limits, share inside the prior's 95% region, share with both)."""
    within = (joint_angles(m) <= canonical.MAX_ROTATION_DEG).all(1)
    z = ((pv.motion_to_vector(m)[:, : pv.ROT_DIMS] - mean[: pv.ROT_DIMS]) / std[: pv.ROT_DIMS] - prior_mean) / prior_std
    inside = (z ** 2).sum(1) <= stats.chi2.ppf(0.95, pv.ROT_DIMS)
    return float(within.mean()), float(inside.mean()), float((within & inside).mean())


def dtw(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-joint distance (m) along the DTW path between (T, J, 3) sequences."""
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1).mean(-1)
    n, k = cost.shape
    acc = np.full((n + 1, k + 1), np.inf)
    steps = np.zeros((n + 1, k + 1))
    acc[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, k + 1):
            choices = (acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
            c = int(np.argmin(choices))
            prev = ((i - 1, j), (i, j - 1), (i - 1, j - 1))[c]
            acc[i, j] = cost[i - 1, j - 1] + choices[c]
            steps[i, j] = steps[prev] + 1
    return float(acc[n, k] / steps[n, k])


def local_pose(m: Motion, stride: int = 2, max_frames: int = 60) -> np.ndarray:
    """Root-relative joint positions (heading removed), subsampled, for DTW."""
    vec = pv.motion_to_vector(m)
    vec[:, pv.VEL] = 0
    vec[:, pv.YAW_RATE] = 0
    flat = pv.vector_to_motion(vec, m.tpose, m.fps).positions()
    flat = flat - flat[:, :1] * np.array([1, 1, 0])
    return flat[::stride][:max_frames]


# --------------------------------------------------------------------------------------------
# Judge


class Judge(torch.nn.Module):
    def __init__(self, d_in: int, n_content: int, n_style: int, hidden: int = 256):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                        torch.nn.Linear(hidden, hidden), torch.nn.ReLU())
        self.content = torch.nn.Linear(hidden, n_content)
        self.style = torch.nn.Linear(hidden, n_style)

    def forward(self, x):
        h = self.body(x)
        return self.content(h), self.style(h), h


def train_judge(x: np.ndarray, yc: np.ndarray, ys: np.ndarray, nc: int, ns: int, seed: int = 0):
    torch.manual_seed(seed)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    judge = Judge(x.shape[1], nc, ns)
    opt = torch.optim.Adam(judge.parameters(), lr=1e-3, weight_decay=1e-4)
    xt = torch.tensor((x - mu) / sd)
    yct, yst = torch.tensor(yc), torch.tensor(ys)
    rng = np.random.default_rng(seed)
    for _ in range(1500):
        idx = torch.tensor(rng.choice(len(x), size=min(256, len(x)), replace=False))
        c, s, _ = judge(xt[idx])
        loss = torch.nn.functional.cross_entropy(c, yct[idx]) + torch.nn.functional.cross_entropy(s, yst[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    judge.eval()

    def apply(feats: np.ndarray):
        with torch.no_grad():
            c, s, h = judge(torch.tensor((feats - mu) / sd))
        return c.argmax(1).numpy(), s.argmax(1).numpy(), h.numpy()

    return apply


def fid(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(ca @ cb).real
    return float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * covmean))


# --------------------------------------------------------------------------------------------


def _load_any(path: Path, tmp: Path):
    if path.suffix == ".pt":
        from .export_model import export
        path = export(path, tmp / (path.parent.name + ".npz"), fp16=False)
    return load_model(path)


def _motion(z) -> Motion:
    return Motion(z["rotations"], z["root"], z["tpose"], z["present"], float(z["fps"]))


def evaluate(models: list[Path], data: Path, out: Path, cache: Path | None = None, limit: int | None = None,
             mm_prompts: int = 10, mm_samples: int = 10, mode: str = "canonical") -> dict:
    t0 = time.monotonic()
    cache = cache or out.parent / "eval-cache"
    index = build(data, cache, progress=False)
    clips = index["clips"]
    contents = sorted({c["content"] for c in clips})
    styles = sorted({c["style"] for c in clips})
    real = {}
    for c in clips:
        with np.load(cache / "clips" / c["file"]) as z:
            real[c["name"]] = _motion(z)
    train_c = [c for c in clips if c["split"] == "train"]
    val_c = [c for c in clips if c["split"] == "val"]
    if limit:
        val_c = val_c[:limit]
    feats = {n: clip_features(pv.motion_to_vector(m)) for n, m in real.items()}
    judge = train_judge(np.stack([feats[c["name"]] for c in train_c]),
                        np.array([contents.index(c["content"]) for c in train_c]),
                        np.array([styles.index(c["style"]) for c in train_c]), len(contents), len(styles))

    def recog(f, cs, ss):
        pc, ps, h = judge(np.stack(f))
        return float((pc == np.array(cs)).mean()), float((ps == np.array(ss)).mean()), float(
            ((pc == np.array(cs)) & (ps == np.array(ss))).mean()), h

    real_val = [real[c["name"]] for c in val_c]
    cs = [contents.index(c["content"]) for c in val_c]
    ss = [styles.index(c["style"]) for c in val_c]
    rc, rs, rb, real_h = recog([feats[c["name"]] for c in val_c], cs, ss)
    real_pos = [m.positions() for m in real_val]
    local_real = {n: local_pose(m) for n, m in real.items()}
    enc = load_text_encoder()
    unseen = json.loads(UNSEEN.read_text())["prompts"]
    report = {"data": str(data), "mode": mode, "val_clips": len(val_c), "train_clips": len(train_c),
              "real": {"recognition_content": rc, "recognition_style": rs, "recognition_both": rb,
                       "foot_skating": float(np.mean([foot_skating(p) for p in real_pos])),
                       "jerk": float(np.mean([jerk(p) for p in real_pos]))},
              "models": {}}
    tmp = out.parent
    for mpath in models:
        model = _load_any(Path(mpath), tmp)
        p = model.params
        gen, gen_feats, skate, jerks, bones, comp, dtw_sim = [], [], [], [], [], [], []
        for i, c in enumerate(val_c):
            seconds = float(np.clip(real[c["name"]].duration, config.MIN_SECONDS, config.MAX_SECONDS))
            g = generate(c["captions"][i % len(c["captions"])], seconds, i, model, enc, mode)
            m = g.motion
            gen.append(m)
            gen_feats.append(clip_features(pv.motion_to_vector(m)))
            pos = m.positions()
            skate.append(foot_skating(pos))
            jerks.append(jerk(pos))
            bones.append(bone_length_error(m))
            key = [c["content"], c["style"]]
            if key in model.meta["pairs"]:
                pair = model.meta["pairs"].index(key)
            else:  # a pair the model never saw: the prior nearest to its caption, as generation does
                pair = int(np.argmax(p["pair_emb"] @ enc.encode(c["captions"][0])[0]))
            comp.append(compliance(m, p["prior_mean"][pair], p["prior_std"][pair], p["mean"], p["std"]))
            same = [o["name"] for o in train_c if (o["content"], o["style"]) == (c["content"], c["style"])][:8]
            other = [o["name"] for o in train_c if (o["content"], o["style"]) != (c["content"], c["style"])][i % 50::50][:4]
            if same and other:
                lp = local_pose(m)
                d_same = min(dtw(lp, local_real[n]) for n in same)
                d_other = float(np.median([dtw(lp, local_real[n]) for n in other]))
                dtw_sim.append(1 - d_same / d_other)
        gc, gs, gb, gen_h = recog(gen_feats, cs, ss)
        rng = np.random.default_rng(0)
        pairs_idx = rng.integers(0, len(gen_h), size=(300, 2))
        diversity = float(np.linalg.norm(gen_h[pairs_idx[:, 0]] - gen_h[pairs_idx[:, 1]], axis=1).mean())
        real_div = float(np.linalg.norm(real_h[pairs_idx[:, 0] % len(real_h)] - real_h[pairs_idx[:, 1] % len(real_h)],
                                        axis=1).mean())
        mm, jerk_div = [], []
        for c in val_c[:mm_prompts]:
            div = [generate(c["captions"][0], 4, s, model, enc, "diverse").motion for s in range(mm_samples)]
            jerk_div += [jerk(d.positions()) for d in div]
            samples = [clip_features(pv.motion_to_vector(d)) for d in div]
            _, _, h = judge(np.stack(samples))
            mm.append(float(np.mean([np.linalg.norm(h[a] - h[b]) for a in range(len(h)) for b in range(a + 1, len(h))])))
        un_feats = [clip_features(pv.motion_to_vector(generate(u["prompt"], 4, 0, model, enc, mode).motion))
                    for u in unseen]
        uc = [contents.index(u["content"]) if u["content"] in contents else -1 for u in unseen]
        us = [styles.index(u["style"]) if u["style"] in styles else -1 for u in unseen]
        u_c, u_s, u_b, _ = recog(un_feats, uc, us)
        comp_a = np.array(comp)
        report["models"][str(mpath)] = {
            "trained_steps": model.meta.get("trained_steps"), "cultural_loss": model.meta["config"].get("cultural"),
            "recognition_content": gc, "recognition_style": gs, "recognition_both": gb,
            "recognition_ratio_to_real": gb / rb if rb else None,
            "fid": fid(gen_h, real_h), "diversity": diversity, "real_diversity": real_div,
            "multimodality": float(np.mean(mm)),
            "foot_skating": float(np.mean(skate)),
            "foot_skating_ratio_to_real": float(np.mean(skate)) / max(1e-9, report["real"]["foot_skating"]),
            "jerk": float(np.mean(jerks)), "jerk_diverse": float(np.mean(jerk_div)),
            "bone_length_error_m": float(np.max(bones)),
            "dtw_similarity": float(np.mean(dtw_sim)) if dtw_sim else None,
            "compliance_limits": float(comp_a[:, 0].mean()), "compliance_prior95": float(comp_a[:, 1].mean()),
            "compliance": float(comp_a[:, 2].mean()),
            "unseen_prompts": {"n": len(unseen), "recognition_content": u_c, "recognition_style": u_s,
                               "recognition_both": u_b},
        }
    real_comp = []
    first = _load_any(Path(models[0]), tmp)
    for c, m in zip(val_c, real_val, strict=True):
        key = [c["content"], c["style"]]
        if key in first.meta["pairs"]:
            k = first.meta["pairs"].index(key)
            real_comp.append(compliance(m, first.params["prior_mean"][k], first.params["prior_std"][k],
                                        first.params["mean"], first.params["std"]))
    if real_comp:
        report["real"]["compliance"] = float(np.array(real_comp)[:, 2].mean())
    report["seconds"] = round(time.monotonic() - t0, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(markdown(report))
    return report


def markdown(r: dict) -> str:
    names = list(r["models"])
    rows = [("recognition, content and style (real: %.3f)" % r["real"]["recognition_both"], "recognition_both", "%.3f"),
            ("  ratio to real clips (target >= 0.9)", "recognition_ratio_to_real", "%.2f"),
            ("recognition, content only (real: %.3f)" % r["real"]["recognition_content"], "recognition_content", "%.3f"),
            ("recognition, style only (real: %.3f)" % r["real"]["recognition_style"], "recognition_style", "%.3f"),
            ("FID (judge features)", "fid", "%.2f"),
            ("diversity (real: %.2f)" % r["models"][names[0]]["real_diversity"], "diversity", "%.2f"),
            ("multimodality", "multimodality", "%.2f"),
            ("foot skating (real: %.3f)" % r["real"]["foot_skating"], "foot_skating", "%.3f"),
            ("  ratio to real (target <= 1.5)", "foot_skating_ratio_to_real", "%.2f"),
            ("jerk, m/s^3 (real: %.1f)" % r["real"]["jerk"], "jerk", "%.1f"),
            ("jerk in diverse mode, m/s^3", "jerk_diverse", "%.1f"),
            ("bone-length error, m", "bone_length_error_m", "%.2g"),
            ("DTW similarity to nearest same-label clip", "dtw_similarity", "%.3f"),
            ("compliance: joint limits", "compliance_limits", "%.3f"),
            ("compliance: inside prior 95%", "compliance_prior95", "%.3f"),
            ("compliance: both (target >= 0.95; real: %s)" % (
                "%.3f" % r["real"]["compliance"] if "compliance" in r["real"] else "n/a"), "compliance", "%.3f")]
    head = "| metric | " + " | ".join(f"{Path(n).parent.name or n} (L_cul {'on' if r['models'][n]['cultural_loss'] else 'off'})"
                                       for n in names) + " |"
    lines = [head, "|---|" + "---|" * len(names)]
    for label, key, fmt in rows:
        vals = []
        for n in names:
            v = r["models"][n].get(key)
            vals.append(fmt % v if isinstance(v, (int, float)) else "n/a")
        lines.append(f"| {label} | " + " | ".join(vals) + " |")
    un = ["%.3f / %.3f" % (r["models"][n]["unseen_prompts"]["recognition_content"],
                           r["models"][n]["unseen_prompts"]["recognition_style"]) for n in names]
    lines.append(f"| unseen prompts ({r['models'][names[0]]['unseen_prompts']['n']}): content / style recognised | "
                 + " | ".join(un) + " |")
    return (f"Evaluation ({r.get('mode', 'canonical')} mode) on {r['val_clips']} validation clips of {r['data']} "
            f"(judge trained on {r['train_clips']} training clips).\n\n" + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", required=True, type=Path,
                   help="model .npz or checkpoint.pt (repeat to compare)")
    p.add_argument("--data", required=True, type=Path, help="folder in the Bandai-Namco layout")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cache", type=Path, default=None)
    p.add_argument("--limit", type=int, default=None, help="evaluate on the first N validation clips only")
    p.add_argument("--mode", choices=["canonical", "diverse"], default="canonical", help="generation mode to evaluate")
    a = p.parse_args(argv)
    for c in a.checkpoint:
        if not c.exists():
            print(f"error: {c} not found", file=sys.stderr)
            return 1
    if not a.data.exists():
        print(f"error: {a.data} not found", file=sys.stderr)
        return 1
    r = evaluate(a.checkpoint, a.data, a.out, a.cache, a.limit, mode=a.mode)
    print(markdown(r))
    print(f"wrote {a.out} and {a.out.with_suffix('.md')} in {r['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
