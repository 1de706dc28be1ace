"""Evaluate the pattern GAN (variants) and its coherent animation; writes figures and a JSON.

    python -m training.patterns.evaluate_gan --weights motion_core/weights/patterns/gan_variants.npz \
        --out docs                                    # docs/pattern_gan_eval.json + the PNGs below

Variants, against the kamon *held-out* split (training/patterns/data.py: by blazon, never trained on):
- feature FID: the Frechet distance between Gaussians fitted to the shipped pattern encoder's pooled
  conv features (128-d, ``PatternEncoder.features``, before phi), every set the same size N (default
  500; the held-out set is all 165). Reference points: real train images vs held-out (the floor a
  perfect generator would reach at this N), the same train images damaged by the wear simulator (a
  weak ceiling: the encoder was trained to ignore damage), batik-ragam images (another pattern
  domain; evaluation only) and uniform noise (ceilings). Three draws each, mean and spread.
- copying: each sample's pixel L2 distance (64x64x3 in [0, 1]) to its nearest training image, against
  the held-out images' distance to theirs; docs/pattern_gan_nearest.png shows the closest pairs.
- conditioning: how often a class-conditioned sample's embedding is nearest its own class mean.
- docs/pattern_gan_samples.png: rows by class and by prototype (first column: a real example).

Animation (the shipped "temporal" trajectory network against the "ablation" without the temporal
discriminator), one frame per 1/25 s: flicker = mean absolute pixel change between consecutive
frames where the driver is still (0 by construction: the latent only steps with the driver);
response = the same where it moves; jitter = the mean absolute second difference (frame-to-frame
acceleration) while moving, and the jitter ratio = jitter / response (about 1.4 for independent
steps, 0 for a steady drift): the coherence figure compared with and without the temporal D. Drivers: a synthetic still/moving
schedule and, with the shared data, a CMU dance clip's joint speed. docs/pattern_animation.png (a
filmstrip) and docs/pattern_animation_consistency.png (per-frame change against the driver).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from motion_core.files import save_atomic, write_json_atomic
from motion_core.patterns import animate as anim
from motion_core.patterns import variants
from motion_core.patterns.damage import damage, random_params
from motion_core.patterns.encoder import load_encoder

REPO = Path(__file__).resolve().parents[2]
ENCODER = REPO / "motion_core" / "weights" / "patterns" / "pattern_encoder.npz"
TEXTURES = REPO / "motion_core" / "weights" / "patterns" / "textures"
CMU_CLIP = REPO.parent / "shared" / "data" / "cmu-dance" / "indian" / "04.bvh"


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (N, D), b (M, D)."""
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # sqrt of ca @ cb via the symmetric form sqrt(sqrt(ca) cb sqrt(ca)) (same trace)
    w, v = np.linalg.eigh(ca)
    sa = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    w2 = np.linalg.eigvalsh(sa @ cb @ sa)
    return float(((ma - mb) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.sqrt(np.clip(w2, 0, None)).sum())


def nearest(x: np.ndarray, ref: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per row of x (N, D): L2 distance to the nearest row of ref (M, D), and its index."""
    rn = (ref ** 2).sum(1)
    d, i = [], []
    for s in range(0, len(x), batch):
        q = x[s:s + batch]
        d2 = (q ** 2).sum(1)[:, None] + rn[None] - 2 * q @ ref.T
        i.append(d2.argmin(1))
        d.append(np.sqrt(np.maximum(d2.min(1), 0)))
    return np.concatenate(d), np.concatenate(i)


def _font():
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=11)
    except TypeError:
        return ImageFont.load_default()


def grid_png(rows: list[tuple[str, list[np.ndarray]]], path: Path, tile: int = 64, label_w: int = 110,
             header: str = "") -> Path:
    """Rows of (label, images (64, 64, 3) float) as one PNG with the labels on the left."""
    from PIL import Image, ImageDraw

    cols = max(len(r[1]) for r in rows)
    top = 16 if header else 0
    canvas = Image.new("RGB", (label_w + cols * (tile + 2), top + len(rows) * (tile + 2)), "white")
    draw = ImageDraw.Draw(canvas)
    font = _font()
    if header:
        draw.text((4, 2), header, fill="black", font=font)
    for r, (label, ims) in enumerate(rows):
        y = top + r * (tile + 2)
        for line_no, line in enumerate(label.split("\n")):
            draw.text((4, y + 4 + 13 * line_no), line, fill="black", font=font)
        for c, im in enumerate(ims):
            a = np.clip(np.asarray(im) * 255 + 0.5, 0, 255).astype(np.uint8)
            canvas.paste(Image.fromarray(a).resize((tile, tile), Image.NEAREST), (label_w + c * (tile + 2), y))
    # 256 colours: the grids stay under 1 MB (docs/ rule); crests are mostly ink on paper
    save_atomic(path, lambda tmp: canvas.quantize(256).save(tmp, format="PNG", optimize=True))
    return path


def _texture(j: int) -> np.ndarray:
    from PIL import Image

    p = TEXTURES / f"proto_{j:03d}.jpg"
    if not p.exists():
        return np.ones((64, 64, 3), np.float32)
    from motion_core.patterns.library import to_square

    return to_square(np.asarray(Image.open(p).convert("RGB"), np.float32) / 255.0, 64) / 255.0


def evaluate_variants(gan: variants.PatternGAN, out: Path, n: int, draws: int, sources: str | None = None) -> dict:
    """``sources``: the kamon images compared with (train and held-out), default the model's own."""
    from training.patterns import data as pdata
    from training.patterns.train_gan_variants import SOURCES

    enc = load_encoder(ENCODER)
    s = pdata.load()
    sources = sources or gan.meta.get("sources", "all")  # by default the medium G was trained on
    kam = [i for i, d in enumerate(s.dataset) if d == "kamon" and s.meta[i]["source"] in SOURCES[sources]]
    tr = np.array([i for i in kam if s.split[i] == "train"])
    te = np.array([i for i in kam if s.split[i] == "test"])
    train = s.images[tr].astype(np.float32) / 255.0
    test = s.images[te].astype(np.float32) / 255.0
    f_test = enc.features(test)
    protos = variants.load_prototypes()
    res: dict = {"n": n, "held_out": len(test), "train": len(train), "draws": draws, "sources": sources,
                 "features": "pattern encoder pooled conv features (128-d, before phi)"}

    def fid_of(make) -> dict:
        v = [frechet(enc.features(make(k)), f_test) for k in range(draws)]
        return {"mean": float(np.mean(v)), "sd": float(np.std(v)), "draws": v}

    def gen_protos(k: int) -> np.ndarray:
        rng = np.random.default_rng(100 + k)
        idx = rng.integers(len(protos), size=n)
        z = rng.standard_normal((n, gan.z_dim)).astype(np.float32)
        return gan.generate(z, protos[idx])

    def gen_classes(k: int) -> np.ndarray:
        """As the add-on samples a class: a member's embedding per sample (the mean in old weights)."""
        rng = np.random.default_rng(200 + k)
        idx = rng.integers(len(gan.classes), size=n)
        z = rng.standard_normal((n, gan.z_dim)).astype(np.float32)
        c = np.zeros((n, gan.w["cond_classes"].shape[1]), np.float32)
        for j, name in enumerate(gan.classes):
            at = np.flatnonzero(idx == j)
            if len(at):
                c[at] = gan.condition(name, seed=10_000 * k + j, n=len(at))
        return gan.generate(z, c)

    def real_train(k: int) -> np.ndarray:
        return train[np.random.default_rng(300 + k).choice(len(train), n, replace=False)]

    def damaged(k: int) -> np.ndarray:
        rng = np.random.default_rng(400 + k)
        return np.stack([damage(im, rng, random_params(rng)) for im in real_train(k)])

    batik = s.images[[i for i, d in enumerate(s.dataset) if d == "batik"]].astype(np.float32) / 255.0

    def other_domain(k: int) -> np.ndarray:
        return batik[np.random.default_rng(600 + k).choice(len(batik), min(n, len(batik)), replace=False)]

    def noise(k: int) -> np.ndarray:
        return np.random.default_rng(500 + k).random((n, 64, 64, 3)).astype(np.float32)

    res["fid"] = {"generated_prototype_conditions": fid_of(gen_protos),
                  "generated_class_conditions": fid_of(gen_classes),
                  "real_train_vs_held_out_floor": fid_of(real_train), "damaged_train": fid_of(damaged),
                  "batik_other_domain": fid_of(other_domain),
                  "uniform_noise": fid_of(noise)}
    print("FID", {k: round(v["mean"], 3) for k, v in res["fid"].items()}, flush=True)

    # copying: nearest training image in pixel space
    samples = gen_protos(0)
    flat_tr = train.reshape(len(train), -1)
    d_gen, i_gen = nearest(samples.reshape(n, -1), flat_tr)
    d_te, _ = nearest(test.reshape(len(test), -1), flat_tr)
    p5 = float(np.percentile(d_te, 5))
    res["nearest_train_l2"] = {
        "generated": {"min": float(d_gen.min()), "p5": float(np.percentile(d_gen, 5)), "median": float(np.median(d_gen))},
        "held_out_real": {"min": float(d_te.min()), "p5": p5, "median": float(np.median(d_te))},
        "generated_below_held_out_p5": float((d_gen < p5).mean()),
        "note": "L2 over 64x64x3 pixels in [0, 1]; 'below p5': samples closer to a training image than 95 % "
                "of held-out real crests are to theirs"}
    order = np.argsort(d_gen)[:8]
    grid_png([(f"d={d_gen[j]:.1f}", [samples[j], train[i_gen[j]]]) for j in order], out / "pattern_gan_nearest.png",
             label_w=60, header="sample | nearest train")
    print("nearest", res["nearest_train_l2"], flush=True)

    # conditioning accuracy
    hits, total = 0, 0
    means = gan.w["cond_classes"]
    for k, name in enumerate(gan.classes):
        vis, _ = enc.encode(gan.sample(name, seed=1000 + k, n=8))
        hits += int(((vis @ means.T).argmax(1) == k).sum())
        total += 8
    res["class_top1"] = {"rate": hits / total, "chance": 1 / len(gan.classes), "samples": total}
    # the condition's own pull: a sample's embedding nearest its own condition among M conditions
    if "cond_members" in gan.w:
        m = min(200, len(gan.w["cond_members"]))
        conds = variants.l2n(gan.w["cond_members"][np.random.default_rng(7).choice(len(gan.w["cond_members"]), m,
                                                                                    replace=False)])
        z = np.random.default_rng(8).standard_normal((m, gan.z_dim)).astype(np.float32)
        vis, _ = enc.encode(gan.generate(z, conds))
        res["condition_top1"] = {"rate": float(((vis @ conds.T).argmax(1) == np.arange(m)).mean()),
                                 "chance": 1 / m, "samples": m,
                                 "note": "sample's embedding nearest its own condition among the M member conditions"}

    # sample grid: by class (a real train example first), by prototype (its texture first)
    labels = [s.label[i] for i in tr]
    counts = {c: sum(1 for x in labels if x == c) for c in gan.classes}
    shown = sorted(gan.classes, key=lambda c: -counts[c])[:10]
    rows = []
    for c in shown:
        ex = train[[j for j, x in enumerate(labels) if x == c][0]]
        rows.append((f"class {c}\n({counts[c]} train)", [ex, *gan.sample(c, seed=7, n=8)]))
    for j in (0, 17, 42, 77, 101, 120):
        rows.append((f"prototype {j}", [_texture(j), *gan.sample(j, seed=7, n=8)]))
    grid_png(rows, out / "pattern_gan_samples.png",
             header="first column: a real crest of the class / the prototype's texture; then 8 seeds (64 px native)")
    res["grid"] = {"classes": shown, "prototypes": [0, 17, 42, 77, 101, 120], "seed": 7}
    return res


def cmu_driver() -> np.ndarray | None:
    if not CMU_CLIP.exists():
        return None
    from motion_core.rigs.bvh import read_bvh

    clip = read_bvh(CMU_CLIP)
    rots, trans = clip.local_transforms()
    parents = clip.skeleton.parents
    t, j = rots.shape[:2]
    g = np.zeros_like(rots)
    pos = np.zeros((t, j, 3))
    for k in range(j):
        p = parents[k]
        if p < 0:
            g[:, k], pos[:, k] = rots[:, k], trans[:, k]
        else:
            g[:, k] = g[:, p] @ rots[:, k]
            pos[:, k] = pos[:, p] + np.einsum("tij,tj->ti", g[:, p], trans[:, k])
    step = 1.0 / 25.0 / clip.frame_time
    idx = np.round(np.arange(0, t - 1, step)).astype(int)[:250]  # 10 s at 25 fps
    return anim.driver_energy(pos[idx].reshape(len(idx), -1))


def evaluate_animation(gan: variants.PatternGAN, out: Path, seeds: int) -> dict:
    e_syn = np.r_[np.zeros(25), np.full(25, 0.8), np.zeros(25), np.full(25, 0.4)].astype(np.float32)
    drivers = {"synthetic still/moving (100 frames)": e_syn}
    cmu = cmu_driver()
    if cmu is not None:
        drivers[f"CMU {CMU_CLIP.parent.name}/{CMU_CLIP.name} joint speed (10 s)"] = cmu
    res: dict = {"seeds": seeds, "conditions": gan.classes[:4], "fps": 25, "drivers": {}}
    # steady drivers at several energy levels, each frame's energy level x U(0.5, 1.5): a dancer
    # standing (0.02-0.1: breathing, sway; "nothing should change") up to dancing (0.8)
    levels: dict = {}
    rng = np.random.default_rng(0)
    for level in (0.02, 0.05, 0.1, 0.3, 0.8):
        acc: dict[str, list] = {"temporal": [], "ablation": []}
        for seed in range(seeds):
            for motif in gan.classes[:4]:
                e = (np.full(60, level) * (0.5 + rng.random(60))).astype(np.float32)
                for name in acc:
                    f = anim.animate(e, motif, seed, gan=gan, trajectory_name=name)
                    d1 = np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))
                    d2 = np.abs(np.diff(f, n=2, axis=0)).mean(axis=(1, 2, 3))
                    acc[name].append((d1.mean(), d2.mean(), d2.mean() / max(d1.mean(), 1e-12)))
        levels[str(level)] = {k: dict(zip(("change", "jitter", "jitter_ratio"), map(float, np.mean(v, 0)), strict=True))
                              for k, v in acc.items()}
        print(f"steady energy {level}", json.dumps(levels[str(level)]), flush=True)
    res["steady_levels"] = levels
    curves = {}
    for dname, e in drivers.items():
        row = {}
        for name in ("temporal", "ablation"):
            fl, per = [], []
            for seed in range(seeds):
                for c in gan.classes[:4]:
                    f = anim.animate(e, c, seed, gan=gan, trajectory_name=name)
                    m = anim.flicker(f, e)
                    d1 = np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))
                    d2 = np.abs(np.diff(f, n=2, axis=0)).mean(axis=(1, 2, 3))
                    mv = (e[2:] >= 0.05)
                    m["jitter_moving"] = float(d2[mv].mean()) if mv.any() else float("nan")
                    fl.append(m)
                    per.append(d1)
            row[name] = {k: float(np.nanmean([x[k] for x in fl])) for k in ("still", "moving", "jitter_moving")}
            row[name]["jitter_ratio"] = row[name]["jitter_moving"] / max(row[name]["moving"], 1e-12)
            curves[(dname, name)] = np.mean(per, 0)
        res["drivers"][dname] = row
        print(dname, json.dumps(row), flush=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(drivers), 1, figsize=(8, 2.6 * len(drivers)), squeeze=False)
    for ax, (dname, e) in zip(axes[:, 0], drivers.items(), strict=True):
        tt = np.arange(1, len(e)) / 25
        ax.plot(tt, curves[(dname, "temporal")], label="with temporal D", color="C0")
        ax.plot(tt, curves[(dname, "ablation")], label="without (ablation)", color="C3")
        ax2 = ax.twinx()
        ax2.fill_between(np.arange(len(e)) / 25, e, alpha=0.15, color="grey", step="mid")
        ax2.set_ylabel("driver energy")
        ax2.set_ylim(0, 1.05)
        ax.set_ylabel("mean |frame change|")
        ax.set_title(dname, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    save_atomic(out / "pattern_animation_consistency.png", lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    plt.close(fig)

    # filmstrip: every 8th frame of the synthetic driver, both networks, two motifs
    rows = []
    pick = list(range(0, 100, 8))
    for c in gan.classes[:2]:
        for name in ("temporal", "ablation"):
            f = anim.animate(e_syn, c, 0, gan=gan, trajectory_name=name)
            rows.append((f"{c}\n{name}", [f[i] for i in pick]))
    rows.append(("driver", [np.full((64, 64, 3), 1 - 0.8 * e_syn[i], np.float32) for i in pick]))
    grid_png(rows, out / "pattern_animation.png", label_w=80,
             header="frames " + ", ".join(str(i) for i in pick) + " at 25 fps (seed 0); driver: darker = more energy")
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, default=variants.WEIGHTS)
    p.add_argument("--out", type=Path, default=REPO / "docs")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--skip-variants", action="store_true")
    p.add_argument("--sources", choices=["edo", "all"], default=None,
                   help="kamon images to compare with (default: those the weights were trained on)")
    p.add_argument("--skip-animation", action="store_true")
    a = p.parse_args(argv)
    gan = variants.load_gan(a.weights)
    res = {"weights": str(a.weights), "meta": {k: v for k, v in gan.meta.items() if k != "notice"}}
    earlier = a.out / "pattern_gan_eval.json"
    if earlier.exists():  # a part skipped keeps its earlier figures (same weights: checked by the meta)
        old = json.loads(earlier.read_text(encoding="utf-8"))
        if old.get("meta") == res["meta"]:
            res.update({k: v for k, v in old.items() if k in ("variants", "animation")})
    if not a.skip_variants:
        res["variants"] = evaluate_variants(gan, a.out, a.n, a.draws, a.sources)
    if not a.skip_animation:
        res["animation"] = evaluate_animation(gan, a.out, a.seeds)
    write_json_atomic(a.out / "pattern_gan_eval.json", res)
    print(f"wrote {a.out / 'pattern_gan_eval.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
