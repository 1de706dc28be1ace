"""Evaluate the autoregressive model (and compare it with the phase-conditioned one) on the validation split.

    python -m training.evaluate_ar --model motion_core/weights/motion_ar.npz [--model runs/ar-nocul.npz]
        [--model motion_core/weights/motion_mdn.npz] --out runs/eval_ar/report.json

A ``--model`` is an exported ``.npz`` of either kind (told apart by its metadata) or an AR
``checkpoint.pt``. Reads the cache of ``training.build_dataset`` and ``training.build_dance``.

Validation units: the Bandai-Namco validation clips (split by clip name, as in training) and the CMU
validation takes cut into 10 s segments (split by take); the two SFU clips (never trained on) are
references for the per-genre speed ratio only. Each unit is generated from one of its own captions,
for its own duration (1 to 60 s), seed = unit index, in canonical mode (``--mode diverse``: the other).

Metrics:

* **speed ratios**: mean joint speed relative to the pelvis, and root (pelvis ground) speed, as
  generated / real, per content and per dance genre (each unit against its own real clip, summed);
* **energy over 60 s**: mean joint speed of the last 10 s over the first 10 s of 60 s generations
  (8 prompts, 2 seeds each), and the largest joint distance from the pelvis (explosion check);
* **foot skating** (``training.evaluate.foot_skating``), jerk, bone-length error;
* recognition, FID, diversity, multimodality, DTW similarity and compliance as in
  ``training.evaluate`` (the judge now has the CMU genres as contents of their own, trained on
  training clips and training takes cut into 10 s segments); DTW runs on a fixed subset of units
  (``--dtw-units``, the dance units always included) because it is quadratic in Python.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats as sstats

from motion_core import config
from motion_core.models import pose_vector as pv
from motion_core.skeleton import canonical
from motion_core.skeleton.motion import Motion
from motion_core.text.encoder import load_text_encoder

from .build_dataset import default_cache
from .evaluate import UNSEEN, bone_length_error, clip_features, fid, foot_skating, jerk, joint_angles, local_pose, train_judge

SEGMENT_S = 10.0
ENERGY_PROMPTS = ("a fast salsa dance", "a slow Indian dance with quiet arms", "a martial arts routine",
                  "a feminine dance, slow and graceful", "an energetic dance", "walk forward happily",
                  "someone performing a steady traditional Indian dance", "a person who runs")
DANCE_GENRES = ("dance-short", "indian-dance", "salsa", "martial-arts", "chinese-dance", "xinjiang-dance")


# --------------------------------------------------------------------------------------------
# Models of either kind behind one interface


class Generator:
    def __init__(self, path: Path, enc, tmp: Path):
        self.path, self.enc = path, enc
        if path.suffix == ".pt":
            from .export_ar import export
            path = export(path, tmp / (path.parent.name + ".npz"), fp16=False)
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
        from motion_core.models import ar_mdn
        self.kind = "ar" if meta.get("format") == ar_mdn.FORMAT else "phase"
        if self.kind == "ar":
            self.model = ar_mdn.load_ar_model(path)
        else:
            from motion_core.models.mdn import load_model
            self.model = load_model(path)
        self.meta, self.params = self.model.meta, self.model.params
        self.pairs = [list(p) for p in self.meta["pairs"]]

    @property
    def label(self) -> str:
        cul = self.meta.get("config", {}).get("cultural")
        return f"{self.path} ({self.kind}, L_cul {'on' if cul else 'off'})"

    def motion(self, prompt: str, seconds: float, seed: int, mode: str = "canonical") -> Motion:
        if self.kind == "ar":
            from motion_core.models.ar_mdn import generate_prompt, to_motion
            return to_motion(self.model, generate_prompt(self.model, self.enc, prompt, seconds, seed, mode).vectors)
        from motion_core.models.generate import generate
        return generate(prompt, seconds, seed, self.model, self.enc, mode).motion

    def pair_for(self, content: str, style: str, caption: str) -> int:
        if [content, style] in self.pairs:
            return self.pairs.index([content, style])
        return int(np.argmax(self.params["pair_emb"] @ self.enc.encode(caption)[0]))


# --------------------------------------------------------------------------------------------
# Measurements


def speeds(m: Motion) -> tuple[float, float]:
    """(mean joint speed relative to the pelvis, mean pelvis ground speed), m/s."""
    pos = m.positions()
    rel = pos - pos[:, :1]
    js = float(np.linalg.norm(np.diff(rel, axis=0), axis=-1)[:, 1:].mean() * m.fps)
    rs = float(np.linalg.norm(np.diff(pos[:, 0, :2], axis=0), axis=-1).mean() * m.fps)
    return js, rs


def joint_speed_series(m: Motion) -> np.ndarray:
    pos = m.positions()
    rel = pos - pos[:, :1]
    return np.linalg.norm(np.diff(rel, axis=0), axis=-1)[:, 1:].mean(1) * m.fps


def compliance(m: Motion, g: Generator, pair: int) -> tuple[float, float, float]:
    p = g.params
    within = (joint_angles(m) <= canonical.MAX_ROTATION_DEG).all(1)
    z = ((pv.motion_to_vector(m)[:, :pv.ROT_DIMS] - p["mean"][:pv.ROT_DIMS]) / p["std"][:pv.ROT_DIMS]
         - p["prior_mean"][pair]) / p["prior_std"][pair]
    inside = (z ** 2).sum(1) <= sstats.chi2.ppf(0.95, pv.ROT_DIMS)
    return float(within.mean()), float(inside.mean()), float((within & inside).mean())


def dtw(a: np.ndarray, b: np.ndarray) -> float:
    """``training.evaluate.dtw`` (mean per-joint distance along the DTW path), by anti-diagonals."""
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1).mean(-1)
    n, k = cost.shape
    acc = np.full((n + 1, k + 1), np.inf)
    steps = np.zeros((n + 1, k + 1))
    acc[0, 0] = 0
    for d in range(2, n + k + 1):
        i = np.arange(max(1, d - k), min(n, d - 1) + 1)
        j = d - i
        choices = np.stack([acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1]])
        c = np.argmin(choices, 0)
        pi = np.where(c == 1, i, i - 1)
        pj = np.where(c == 0, j, j - 1)
        acc[i, j] = cost[i - 1, j - 1] + choices[c, np.arange(len(i))]
        steps[i, j] = steps[pi, pj] + 1
    return float(acc[n, k] / steps[n, k])


# --------------------------------------------------------------------------------------------
# Data


def _motion(path: Path) -> Motion:
    with np.load(path) as z:
        return Motion(z["rotations"], z["root"], z["tpose"], z["present"], float(z["fps"]))


def units(cache: Path, split: str) -> list[dict]:
    """Evaluation units of a split: Bandai clips whole, CMU (and SFU) takes in 10 s segments."""
    clips = cache / "clips"
    out = []
    for e in json.loads((clips / "index.json").read_text())["clips"]:
        if e["split"] == split:
            out.append({**e, "genre": "dance-short" if e["content"] == "dance-short" else "",
                        "motion": _motion(clips / e["file"])})
    for e in json.loads((clips / "dance_index.json").read_text())["clips"]:
        if e["split"] != split:
            continue
        m = _motion(clips / e["file"])
        seg = int(SEGMENT_S * m.fps)
        for s in range(0, max(1, m.num_frames - seg // 2), seg):
            part = m.slice(s, min(m.num_frames, s + seg))
            if part.num_frames >= seg // 2:
                out.append({**e, "name": f"{e['name']}@{s}", "motion": part})
    return out


# --------------------------------------------------------------------------------------------


def evaluate(model_paths: list[Path], out: Path, cache: Path, dtw_units: int = 60, mm_prompts: int = 10,
             mm_samples: int = 10, limit: int | None = None, mode: str = "canonical") -> dict:
    t0 = time.monotonic()
    enc = load_text_encoder()
    train_u, val_u, eval_u = units(cache, "train"), units(cache, "val"), units(cache, "eval")
    if limit:  # a quick check: the dance units and every n-th other
        rest = [u for u in val_u if not u.get("genre")]
        val_u = [u for u in val_u if u.get("genre")] + rest[:: max(1, len(rest) // limit)][:limit]
    contents = sorted({u["content"] for u in train_u + val_u})
    styles = sorted({u["style"] for u in train_u + val_u})
    feats = lambda m: clip_features(pv.motion_to_vector(m))  # noqa: E731
    judge = train_judge(np.stack([feats(u["motion"]) for u in train_u]),
                        np.array([contents.index(u["content"]) for u in train_u]),
                        np.array([styles.index(u["style"]) for u in train_u]), len(contents), len(styles))
    cs = np.array([contents.index(u["content"]) for u in val_u])
    ss = np.array([styles.index(u["style"]) for u in val_u])

    def recog(f, c_, s_):
        pc, ps, h = judge(np.stack(f))
        return float((pc == c_).mean()), float((ps == s_).mean()), float(((pc == c_) & (ps == s_)).mean()), h

    real_feats = [feats(u["motion"]) for u in val_u]
    rc, rs, rb, real_h = recog(real_feats, cs, ss)
    real_speed = [speeds(u["motion"]) for u in val_u]
    eval_speed = [speeds(u["motion"]) for u in eval_u]
    real_pos = [u["motion"].positions() for u in val_u]
    dance_idx = [i for i, u in enumerate(val_u) if u.get("genre")]
    others = [i for i in range(len(val_u)) if i not in dance_idx]
    dtw_idx = sorted(dance_idx + others[:: max(1, len(others) // max(1, dtw_units - len(dance_idx)))][
        : max(0, dtw_units - len(dance_idx))])
    local_train = {}
    report = {"cache": str(cache), "mode": mode, "val_units": len(val_u), "train_units": len(train_u),
              "val_units_by_source": {s: sum(u["dataset"] == s for u in val_u) for s in ("dataset-1", "dataset-2", "cmu")},
              "eval_only_units": len(eval_u), "dtw_units": len(dtw_idx),
              "real": {"recognition_content": rc, "recognition_style": rs, "recognition_both": rb,
                       "foot_skating": float(np.mean([foot_skating(p) for p in real_pos])),
                       "jerk": float(np.mean([jerk(p) for p in real_pos]))},
              "models": {}}
    unseen = json.loads(UNSEEN.read_text())["prompts"]
    with tempfile.TemporaryDirectory() as tmpd:
        for path in model_paths:
            g = Generator(Path(path), enc, Path(tmpd))
            tm = time.monotonic()
            gen, gfeats, gspeed, skate, jerks, bones, comp, dtw_sim = [], [], [], [], [], [], [], []
            for i, u in enumerate(val_u):
                cap = u["captions"][i % len(u["captions"])]
                seconds = float(np.clip(u["motion"].duration, config.MIN_SECONDS, config.MAX_SECONDS))
                m = g.motion(cap, seconds, i, mode)
                gen.append(m)
                gfeats.append(feats(m))
                gspeed.append(speeds(m))
                pos = m.positions()
                skate.append(foot_skating(pos))
                jerks.append(jerk(pos))
                bones.append(bone_length_error(m))
                comp.append(compliance(m, g, g.pair_for(u["content"], u["style"], u["captions"][0])))
                if i in dtw_idx:
                    same = [o for o in train_u if (o["content"], o["style"]) == (u["content"], u["style"])][:8]
                    other = [o for o in train_u if (o["content"], o["style"]) != (u["content"], u["style"])][i % 50::50][:4]
                    if same and other:
                        for o in same + other:
                            if o["name"] not in local_train:
                                local_train[o["name"]] = local_pose(o["motion"])
                        lp = local_pose(m)
                        d_same = min(dtw(lp, local_train[o["name"]]) for o in same)
                        d_other = float(np.median([dtw(lp, local_train[o["name"]]) for o in other]))
                        dtw_sim.append(1 - d_same / d_other)
            gc, gs, gb, gen_h = recog(gfeats, cs, ss)
            # speed ratios per content and per dance genre
            by: dict[str, list[int]] = {}
            for i, u in enumerate(val_u):
                by.setdefault(u["content"], []).append(i)
            ratio = {}
            for key, idx in sorted(by.items()):
                gj, gr = np.sum([gspeed[i] for i in idx], 0)
                rj, rr = np.sum([real_speed[i] for i in idx], 0)
                ratio[key] = {"units": len(idx), "joint_speed_gen": round(gj / len(idx), 3),
                              "joint_speed_real": round(rj / len(idx), 3), "joint_speed_ratio": round(gj / rj, 3),
                              "root_speed_gen": round(gr / len(idx), 3), "root_speed_real": round(rr / len(idx), 3),
                              "root_speed_ratio": round(gr / rr, 3) if rr > 1e-6 else None}
            genre = {k: ratio[k] | {"reference": "validation split"} for k in DANCE_GENRES if k in ratio}
            for k in ("chinese-dance", "xinjiang-dance"):
                idx = [i for i, u in enumerate(eval_u) if u["genre"] == k]
                if not idx:
                    continue
                gsp = [speeds(g.motion(eval_u[i]["captions"][j % len(eval_u[i]["captions"])], SEGMENT_S, 1000 + j, mode))
                       for j, i in enumerate(idx)]
                gj, gr = np.mean(gsp, 0)
                rj, rr = np.mean([eval_speed[i] for i in idx], 0)
                genre[k] = {"units": len(idx), "joint_speed_gen": round(gj, 3), "joint_speed_real": round(rj, 3),
                            "joint_speed_ratio": round(gj / rj, 3), "root_speed_gen": round(gr, 3),
                            "root_speed_real": round(rr, 3), "root_speed_ratio": round(gr / rr, 3),
                            "reference": "SFU clip (evaluation only, never trained on)"}
            # 60 s energy
            energy = []
            for prompt in ENERGY_PROMPTS:
                for seed in (0, 1):
                    m = g.motion(prompt, 60.0, seed, mode)
                    s = joint_speed_series(m)
                    pos = m.positions()
                    energy.append({"prompt": prompt, "seed": seed,
                                   "ratio": round(float(s[-250:].mean() / max(s[:250].mean(), 1e-9)), 3),
                                   "first_10s": round(float(s[:250].mean()), 3), "last_10s": round(float(s[-250:].mean()), 3),
                                   "max_joint_from_pelvis_m": round(float(np.linalg.norm(pos - pos[:, :1], axis=-1).max()), 3),
                                   "finite": bool(np.isfinite(pos).all())})
            # diversity, multimodality
            rng = np.random.default_rng(0)
            pidx = rng.integers(0, len(gen_h), size=(300, 2))
            diversity = float(np.linalg.norm(gen_h[pidx[:, 0]] - gen_h[pidx[:, 1]], axis=1).mean())
            real_div = float(np.linalg.norm(real_h[pidx[:, 0]] - real_h[pidx[:, 1]], axis=1).mean())
            mm, jerk_div = [], []
            pick = dance_idx[:3] + others[:: max(1, len(others) // (mm_prompts - 3))][: mm_prompts - 3]
            for i in pick:
                div = [g.motion(val_u[i]["captions"][0], 4, s, "diverse") for s in range(mm_samples)]
                jerk_div += [jerk(d.positions()) for d in div]
                _, _, h = judge(np.stack([feats(d) for d in div]))
                mm.append(float(np.mean([np.linalg.norm(h[a] - h[b]) for a in range(len(h)) for b in range(a + 1, len(h))])))
            un = [feats(g.motion(u["prompt"], 4, 0, mode)) for u in unseen]
            uc = np.array([contents.index(u["content"]) if u["content"] in contents else -1 for u in unseen])
            us = np.array([styles.index(u["style"]) if u["style"] in styles else -1 for u in unseen])
            u_c, u_s, u_b, _ = recog(un, uc, us)
            comp_a = np.array(comp)
            jr = [r["joint_speed_ratio"] for r in ratio.values()]
            report["models"][g.label] = {
                "kind": g.kind, "file": str(path), "trained_steps": g.meta.get("trained_steps"),
                "cultural_loss": g.meta.get("config", {}).get("cultural"),
                "speed_ratio_by_content": ratio, "speed_ratio_by_genre": genre,
                "joint_speed_ratio_overall": round(float(np.sum([x[0] for x in gspeed]) / np.sum([x[0] for x in real_speed])), 3),
                "root_speed_ratio_overall": round(float(np.sum([x[1] for x in gspeed]) / np.sum([x[1] for x in real_speed])), 3),
                "contents_in_0.7_1.3": f"{sum(0.7 <= r <= 1.3 for r in jr)}/{len(jr)}",
                "energy_60s": energy,
                "energy_ratio_60s_min": min(e["ratio"] for e in energy),
                "energy_ratio_60s_median": float(np.median([e["ratio"] for e in energy])),
                "recognition_content": gc, "recognition_style": gs, "recognition_both": gb,
                "recognition_ratio_to_real": gb / rb if rb else None,
                "recognition_content_ratio_to_real": gc / rc if rc else None,
                "recognition_style_ratio_to_real": gs / rs if rs else None,
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
                "seconds": round(time.monotonic() - tm, 1),
            }
            print(f"  {g.label}: {report['models'][g.label]['seconds']} s", file=sys.stderr, flush=True)
            if g.kind == "ar" and "compliance" not in report["real"]:
                rcmp = [compliance(u["motion"], g, g.pair_for(u["content"], u["style"], u["captions"][0])) for u in val_u]
                report["real"]["compliance"] = float(np.array(rcmp)[:, 2].mean())
                report["real"]["compliance_prior_of"] = g.label
    report["seconds"] = round(time.monotonic() - t0, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(markdown(report))
    return report


def markdown(r: dict) -> str:
    names = list(r["models"])
    short = [f"{Path(r['models'][n]['file']).name} ({r['models'][n]['kind']}, L_cul "
             f"{'on' if r['models'][n]['cultural_loss'] else 'off'})" for n in names]
    real = r["real"]
    rows = [
        ("joint speed ratio, all validation units", "joint_speed_ratio_overall", "%.2f"),
        ("root speed ratio, all validation units", "root_speed_ratio_overall", "%.2f"),
        ("contents with joint-speed ratio in 0.7-1.3", "contents_in_0.7_1.3", "%s"),
        ("60 s energy ratio, min over 16 runs (target >= 0.7)", "energy_ratio_60s_min", "%.2f"),
        ("60 s energy ratio, median", "energy_ratio_60s_median", "%.2f"),
        ("recognition, content and style (real: %.3f)" % real["recognition_both"], "recognition_both", "%.3f"),
        ("  ratio to real (target >= 0.9)", "recognition_ratio_to_real", "%.2f"),
        ("recognition, content only (real: %.3f)" % real["recognition_content"], "recognition_content", "%.3f"),
        ("recognition, style only (real: %.3f)" % real["recognition_style"], "recognition_style", "%.3f"),
        ("FID (judge features)", "fid", "%.1f"),
        ("diversity (real: %.2f)" % r["models"][names[0]]["real_diversity"], "diversity", "%.2f"),
        ("multimodality", "multimodality", "%.2f"),
        ("foot skating (real: %.3f)" % real["foot_skating"], "foot_skating", "%.3f"),
        ("  ratio to real (target <= 1.5)", "foot_skating_ratio_to_real", "%.2f"),
        ("jerk, m/s^3 (real: %.1f)" % real["jerk"], "jerk", "%.1f"),
        ("jerk in diverse mode, m/s^3", "jerk_diverse", "%.1f"),
        ("bone-length error, m", "bone_length_error_m", "%.2g"),
        ("DTW similarity (%d units; target >= 0.853)" % r["dtw_units"], "dtw_similarity", "%.3f"),
        ("compliance: joint limits", "compliance_limits", "%.3f"),
        ("compliance: inside prior 95%", "compliance_prior95", "%.3f"),
        ("compliance: both (target >= 0.95; real: %s)" % ("%.3f" % real["compliance"] if "compliance" in real else "n/a"),
         "compliance", "%.3f"),
    ]
    lines = ["| metric | " + " | ".join(short) + " |", "|---|" + "---|" * len(names)]
    for label, key, fmt in rows:
        vals = []
        for n in names:
            v = r["models"][n].get(key)
            vals.append(fmt % v if v is not None else "n/a")
        lines.append(f"| {label} | " + " | ".join(vals) + " |")
    lines.append("| unseen prompts (%d): content / style recognised | " % r["models"][names[0]]["unseen_prompts"]["n"]
                 + " | ".join("%.3f / %.3f" % (r["models"][n]["unseen_prompts"]["recognition_content"],
                                               r["models"][n]["unseen_prompts"]["recognition_style"]) for n in names) + " |")
    text = [f"Mode: {r['mode']}. Validation: {r['val_units']} units ({r['val_units_by_source']}); judge trained on "
            f"{r['train_units']} "
            f"training units.\n", "\n".join(lines), ""]
    for title, key in (("Joint-speed / root-speed ratio (generated / real) per content", "speed_ratio_by_content"),
                       ("Per dance genre", "speed_ratio_by_genre")):
        keys = sorted({k for n in names for k in r["models"][n][key]})
        text.append(f"\n{title} (real joint speed in m/s in brackets):\n")
        text.append("| content | units | " + " | ".join(short) + " |")
        text.append("|---|---|" + "---|" * len(names))
        for k in keys:
            first = next(r["models"][n][key][k] for n in names if k in r["models"][n][key])
            cells = []
            for n in names:
                x = r["models"][n][key].get(k)
                cells.append("n/a" if x is None else "%.2f / %s" % (
                    x["joint_speed_ratio"], "%.2f" % x["root_speed_ratio"] if x["root_speed_ratio"] is not None else "n/a"))
            text.append(f"| {k} ({first['joint_speed_real']:.2f}) | {first['units']} | " + " | ".join(cells) + " |")
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.evaluate_ar", description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True, type=Path, help="repeat to compare")
    p.add_argument("--out", type=Path, default=Path("runs/eval_ar/report.json"))
    p.add_argument("--cache", type=Path, default=None)
    p.add_argument("--dtw-units", type=int, default=60)
    p.add_argument("--limit", type=int, default=None, help="quick check: dance units plus N others")
    p.add_argument("--mode", choices=["canonical", "diverse"], default="canonical")
    a = p.parse_args(argv)
    for m in a.model:
        if not m.exists():
            print(f"error: {m} not found", file=sys.stderr)
            return 1
    r = evaluate(a.model, a.out, a.cache or default_cache(), a.dtw_units, limit=a.limit, mode=a.mode)
    print(markdown(r))
    print(f"wrote {a.out} and {a.out.with_suffix('.md')} in {r['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
