"""Train the restoration GAN (seed 001 section 3.3, issue #13), resumable, on one CPU thread.

    python -m training.patterns.train_restore --out runs/restore --stage2-steps 6000   # the shipped recipe
    python -m training.patterns.export_restore --run runs/restore/stage2   # -> motion_core/weights/patterns/restore.npz

Stage 1 (``--steps``, 4000) wears every view by every kind; stage 2 (OUT/stage2) continues from stage 1's
generator with a fresh D and leaves kinds of wear out of views (RESTORE_KIND_OFF_SHARE), so the model also
sees unfaded prints and one kind of wear alone (stage 1 alone re-toned intact paper: see docs/restoration.md).

Data: the kamon set's Ansei Bukan prints only (``kamon/edo`` train split and ``kamon/edo-undescribed``,
CC BY-SA 4.0, the only images the shipped weights may learn from); the Wikimedia kamon images (several
licences) and batik/decor (no licence) are never trained on, only evaluated. Images are loaded at
256 px (training/patterns/data.py ``load_image``); the split is data.py's, by source before any
damage, so no damaged view of a test image is trained on. 24 ``edo-undescribed`` images are held out
of training as a validation set for the SSIM curve.

Each step draws a batch of source images, damages each at 256 px with a random strength
(motion_core.patterns.damage: ``random_params`` + ``damage_with_mask``), flips/rotates it, and cuts
one CROP x CROP crop; the mask is given to the generator for RESTORE_MASK_GIVEN_SHARE of the views.
The step's random numbers come from ``default_rng([seed, step])``, so a resumed run draws the same
batches as an uninterrupted one. One D step (eq. 8) then one G step (non-saturating eq. 8 + L1 +
(1 - SSIM)) per batch; Adam as in the seed.

Writes OUT/ckpt.pt (every 100 steps and at the end, atomically; found again on restart: the run
resumes), OUT/log.jsonl (one line per 25 steps), OUT/losses.png, OUT/train_log.json at the end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from motion_core import config
from motion_core.files import save_atomic, write_json_atomic
from motion_core.patterns.damage import DamageParams, damage_with_mask, random_params
from training.patterns import data as pdata
from training.patterns.restore_model import Discriminator, Generator, make_input, ssim

SIZE = 256  # px: the side images are loaded and damaged at (the data set's own size)
CROP = 128  # px: training crop
BATCH = 4
VAL_N = 24
EDO_LICENCE = "CC BY-SA 4.0 (Kamon data set, Sakana AI; Ansei Bukan, CODH)"
DATA_NOTE = ("Kamon data set (Sakana AI): Ansei Bukan Edo-period woodblock prints (CODH), kamon/edo train split "
             "and kamon/edo-undescribed; CC BY-SA 4.0")


def source_images(dataset: str, split: str, sources: tuple[str, ...] | None = None,
                  size: int = SIZE) -> tuple[np.ndarray, list[str], list[str]]:
    """(images (N, size, size, 3) uint8, paths relative to the data folder, licences) of one data set's
    split, by data.py's split (``sources``: kamon image sources to keep, e.g. ("edo", "edo-undescribed")).
    Cached in out/restore/. Raises FileNotFoundError naming the data folder when it is missing."""
    if not pdata.DATA.exists():
        raise FileNotFoundError(f"{pdata.DATA} not found (the shared data set beside the checkout)")
    entries = [e for e in pdata._entries() if e["dataset"] == dataset and e["split"] == split
               and (sources is None or e["meta"]["source"] in sources)]
    paths = [e["path"] for e in entries]
    cache = pdata.REPO / "out" / "restore" / f"{dataset}_{split}_{'-'.join(sources or ('all',))}_{size}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        if list(z["paths"]) == paths:
            return z["images"], paths, [e["meta"]["licence"] for e in entries]
    images = np.stack([pdata.load_image(pdata.DATA / p, size) for p in paths])
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(cache, lambda p: np.savez(p, images=images, paths=np.array(paths)))
    return images, paths, [e["meta"]["licence"] for e in entries]


def training_images() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(train images, validation images, train paths): CC BY-SA Edo prints of the train split."""
    imgs, paths, _ = source_images("kamon", "train", ("edo", "edo-undescribed"))
    val = [i for i, p in enumerate(paths) if "edo-undescribed" in p][:VAL_N]
    keep = np.setdiff1d(np.arange(len(paths)), val)
    return imgs[keep], imgs[val], [paths[i] for i in keep]


def make_batch(images: np.ndarray, rng: np.random.Generator, batch: int = BATCH, crop: int = CROP,
               mask_share: float = config.RESTORE_MASK_GIVEN_SHARE, kind_off_share: float = 0.0):
    """One batch: (damaged (B, 3, c, c), mask (B, 1, c, c), given (B,) bool, clean (B, 3, c, c)), [0, 1].
    ``kind_off_share``: see damage.random_params (0 draws exactly what the first shipped stage drew)."""
    dmg, msk, cln = [], [], []
    for _ in range(batch):
        img = images[rng.integers(len(images))].astype(np.float32) / 255.0
        k = int(rng.integers(4))
        img = np.rot90(img, k)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        img = np.ascontiguousarray(img)
        d, m = damage_with_mask(img, rng, random_params(rng, kind_off_share))
        y, x = rng.integers(0, img.shape[0] - crop + 1), rng.integers(0, img.shape[1] - crop + 1)
        sl = (slice(y, y + crop), slice(x, x + crop))
        dmg.append(d[sl])
        msk.append(m[sl])
        cln.append(img[sl])
    t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float()  # noqa: E731
    given = torch.from_numpy(rng.random(batch) < mask_share)
    return t(dmg), torch.from_numpy(np.stack(msk))[:, None].float(), given, t(cln)


#: Insect holes alone (no fading): the one kind of wear where the first stage tied Telea.
HOLES_ONLY = DamageParams(occlusion=0.0, abrasion=0.0, fade_dose=0.0, yellowing=0.0, holes=3, mould=0.0)


def validation_set(val: np.ndarray, seed: int = 12345,
                   params: DamageParams | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fixed damaged validation views at full size: (damaged, mask, clean), (N, C, 256, 256).
    ``params``: the wear (default: moderate wear of every kind)."""
    rng = np.random.default_rng(seed)
    p = params or DamageParams()
    d, m = zip(*(damage_with_mask(v.astype(np.float32) / 255, rng, p) for v in val), strict=True)
    t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float()  # noqa: E731
    return t(d), torch.from_numpy(np.stack(m))[:, None].float(), t(val.astype(np.float32) / 255)


@torch.no_grad()
def validate(g: Generator, val: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
             holes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None) -> dict[str, float]:
    """Validation SSIM: moderate wear of every kind (damaged input, G with and without the mask) and,
    when ``holes`` is given, insect holes alone with the mask."""
    g.eval()
    d, m, c = val
    out = {"damaged": float(ssim(d, c))}
    for name, inp in (("mask", make_input(d, m)), ("nomask", make_input(d, None))):
        out[name] = float(ssim((g(inp) + 1) / 2, c))
    if holes is not None:
        hd, hm, hc = holes
        out["holes_damaged"] = float(ssim(hd, hc))
        out["holes_mask"] = float(ssim((g(make_input(hd, hm)) + 1) / 2, hc))
    g.train()
    return out


def load_generator_npz(g: Generator, path: Path) -> int:
    """Warm start: load an exported generator (export_restore's .npz) into ``g``; returns the steps it
    was trained for (its meta's ``steps_total`` or ``steps``; 0 when unknown)."""
    z = np.load(path, allow_pickle=False)
    sd = g.state_dict()
    missing = [k for k in sd if not k.endswith("num_batches_tracked") and k not in z.files]
    if missing:
        raise SystemExit(f"{path} is not a restoration generator: it lacks {missing[:3]}")
    g.load_state_dict({k: (torch.from_numpy(z[k]) if k in z.files else v) for k, v in sd.items()})
    meta = json.loads(str(z["meta_json"])) if "meta_json" in z.files else {}
    return int(meta.get("steps_total", meta.get("steps", 0)))


def plot(history: list[dict], vals: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    s = [h["step"] for h in history]
    ax[0].plot(s, [h["d"] for h in history], label="D (eq. 8, BCE)")
    ax[0].plot(s, [h["adv"] for h in history], label="G adversarial")
    ax[0].set_title("adversarial losses")
    ax[1].plot(s, [h["l1"] for h in history], label="L1 ([-1, 1])")
    ax[1].plot(s, [1 - h["ssim"] for h in history], label="1 - SSIM")
    ax[1].set_title("reconstruction (training crops)")
    if vals:
        names = {"damaged": "damaged input", "mask": "G, mask given", "nomask": "G, no mask",
                 "holes_damaged": "holes alone: input", "holes_mask": "holes alone: G, mask"}
        for k, label in names.items():
            pts = [(v["step"], v[k]) for v in vals if k in v]
            if pts:
                ax[2].plot(*zip(*pts, strict=True), marker="o", ms=3, label=label)
    ax[2].set_title(f"validation SSIM ({VAL_N} held-out Edo prints, 256 px)")
    for a in ax:
        a.set_xlabel("step")
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
    fig.tight_layout()
    save_atomic(path, lambda p: fig.savefig(p, dpi=80, format="png"))
    plt.close(fig)


def train(out: Path, steps: int, seed: int = 0, batch: int = BATCH, crop: int = CROP, resume: bool = True,
          log_every: int = 25, ckpt_every: int = 100, val_every: int = 250,
          time_limit_s: float | None = None, kind_off_share: float = 0.0, init_g: Path | None = None) -> Path:
    """Train (or resume) the restoration GAN for ``steps`` steps; returns OUT/ckpt.pt. One thread.
    ``time_limit_s``: stop (checkpointed, resumable) after this many seconds of this session even if
    ``steps`` is not reached; train_log.json records the steps done. ``kind_off_share``: see
    damage.random_params. ``init_g``: start G from an exported generator (.npz) and D afresh (ignored
    when resuming from OUT/ckpt.pt)."""
    torch.set_num_threads(1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    g, d = Generator(), Discriminator()
    og = torch.optim.Adam(g.parameters(), config.RESTORE_LR, betas=config.RESTORE_BETAS)
    od = torch.optim.Adam(d.parameters(), config.RESTORE_LR, betas=config.RESTORE_BETAS)
    ckpt = out / "ckpt.pt"
    step, history, vals, init_steps = 0, [], [], 0
    if resume and ckpt.exists():
        st = torch.load(ckpt, weights_only=True)  # tensors and plain data only
        if (st["seed"] != seed or st["batch"] != batch or st["crop"] != crop
                or st.get("kind_off_share", 0.0) != kind_off_share):
            raise SystemExit(f"{ckpt} was trained with seed {st['seed']}, batch {st['batch']}, crop {st['crop']}, "
                             f"kind-off share {st.get('kind_off_share', 0.0)}: use another --out or --fresh")
        init_g = st.get("init_g") and Path(st["init_g"])
        init_steps = st.get("init_steps", 0)
        g.load_state_dict(st["g"])
        d.load_state_dict(st["d"])
        og.load_state_dict(st["og"])
        od.load_state_dict(st["od"])
        step, history, vals = st["step"], st["history"], st["vals"]
        torch.set_rng_state(st["torch_rng"])
        print(f"resumed from {ckpt} at step {step}", flush=True)
    elif init_g is not None:
        init_steps = load_generator_npz(g, Path(init_g))
        print(f"generator warm-started from {init_g}; discriminator from scratch", flush=True)
    if step == 0 and (out / "log.jsonl").exists():
        (out / "log.jsonl").unlink()
    train_imgs, val_imgs, _ = training_images()
    val = validation_set(val_imgs)
    holes_val = validation_set(val_imgs, params=HOLES_ONLY)
    print(f"training on {len(train_imgs)} Edo prints (CC BY-SA 4.0), {VAL_N} held out for validation; "
          f"{steps} steps of {batch} crops of {crop} px, seed {seed}", flush=True)

    def save() -> None:
        st = {"g": g.state_dict(), "d": d.state_dict(), "og": og.state_dict(), "od": od.state_dict(), "step": step,
              "history": history, "vals": vals, "seed": seed, "batch": batch, "crop": crop,
              "torch_rng": torch.get_rng_state(),
              "kind_off_share": kind_off_share, "init_g": str(init_g) if init_g else None, "init_steps": init_steps}
        save_atomic(ckpt, lambda p: torch.save(st, p))
        plot(history, vals, out / "losses.png")

    t0, s0 = time.time(), step
    acc: dict[str, float] = {}
    while step < steps:
        rng = np.random.default_rng([seed, step])
        dmg, msk, given, clean = make_batch(train_imgs, rng, batch, crop, kind_off_share=kind_off_share)
        inp = make_input(dmg, msk, given)
        real = clean * 2 - 1
        fake = g(inp)
        # D: maximise eq. 8, log D(x_real) + log(1 - D(G(.))), as a BCE to minimise
        lr_, lf_ = d(inp, real), d(inp, fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(lr_, torch.ones_like(lr_))
                  + F.binary_cross_entropy_with_logits(lf_, torch.zeros_like(lf_)))
        od.zero_grad()
        loss_d.backward()
        od.step()
        # G: the non-saturating form of eq. 8, -log D(G(.)), plus reconstruction
        lg_ = d(inp, fake)
        adv = F.binary_cross_entropy_with_logits(lg_, torch.ones_like(lg_))
        l1 = (fake - real).abs().mean()
        s = ssim((fake + 1) / 2, clean)
        loss_g = config.RESTORE_ADV_WEIGHT * adv + config.RESTORE_L1_WEIGHT * l1 + config.RESTORE_SSIM_WEIGHT * (1 - s)
        og.zero_grad()
        loss_g.backward()
        og.step()
        step += 1
        for k, v in (("d", loss_d), ("adv", adv), ("l1", l1), ("ssim", s)):
            acc[k] = acc.get(k, 0.0) + v.item() / log_every
        if step % log_every == 0:
            el = time.time() - t0
            rate = el / max(step - s0, 1)
            history.append({"step": step, **acc})
            print(f"step {step}/{steps}  D {acc['d']:.3f}  G_adv {acc['adv']:.3f}  L1 {acc['l1']:.4f}  "
                  f"SSIM {acc['ssim']:.3f}  {rate:.2f} s/step  ETA {(steps - step) * rate / 60:.1f} min", flush=True)
            with open(out / "log.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(history[-1]) + "\n")
            acc = {}
        if step % val_every == 0 or (step == steps and val_every <= steps):
            vals.append({"step": step, **validate(g, val, holes_val)})
            v = vals[-1]
            print(f"  validation SSIM: damaged {v['damaged']:.3f}  G mask {v['mask']:.3f}  G no mask {v['nomask']:.3f}"
                  f"  holes alone: damaged {v['holes_damaged']:.3f}  G mask {v['holes_mask']:.3f}", flush=True)
        stop = time_limit_s is not None and time.time() - t0 > time_limit_s
        if stop and step % val_every and step != steps:
            vals.append({"step": step, **validate(g, val, holes_val)})
        if step % ckpt_every == 0 or step == steps or stop:
            save()
        if stop:
            print(f"time limit of {time_limit_s:.0f} s reached at step {step}: stopped (resumable)", flush=True)
            break
    write_json_atomic(out / "train_log.json", {
        "model": "restore-unet-sagan", "steps": step, "steps_planned": steps, "seed": seed, "batch": batch,
        "crop": crop, "size": SIZE,
        "train_images": len(train_imgs), "data": DATA_NOTE, "validation": vals[-1] if vals else None,
        "seconds_this_session": round(time.time() - t0, 1), "threads": torch.get_num_threads(),
        "kind_off_share": kind_off_share, "init_g": str(init_g) if init_g else None,
        "command": (f"python -m training.patterns.train_restore --out {out} --steps {steps} --seed {seed}"
                    f" --kind-off-share {kind_off_share}" + (f" --init-g {init_g}" if init_g else ""))})
    return ckpt


STAGE2_STEPS = 6000  # the shipped second stage


def train_stages(out: Path, steps: int, stage2_steps: int, seed: int = 0, batch: int = BATCH, crop: int = CROP,
                 resume: bool = True, time_limit_s: float | None = None) -> Path:
    """The shipped recipe in one resumable call: stage 1 in OUT (``steps``, every view worn by every
    kind), then, once it is complete, stage 2 in OUT/stage2 (``stage2_steps`` more, G warm-started from
    stage 1's export OUT/stage1.npz, D afresh, kinds of wear left out with RESTORE_KIND_OFF_SHARE).
    Returns the checkpoint to export (OUT/stage2/ckpt.pt, or OUT/ckpt.pt when ``stage2_steps`` is 0 or
    the time ran out in stage 1)."""
    t0 = time.time()
    init = Path(out) / "stage1.npz"
    if resume and stage2_steps > 0 and init.exists():  # refuse before stage 1 trains any further
        done = json.loads(str(np.load(init, allow_pickle=False)["meta_json"]))["steps"]
        if done != steps:
            raise SystemExit(f"{Path(out) / 'stage2'} began from stage 1 at step {done}, not {steps}: "
                             f"give --steps {done}, or use another --out")
    ckpt = train(out, steps, seed, batch, crop, resume, time_limit_s=time_limit_s)
    if stage2_steps <= 0 or torch.load(ckpt, weights_only=True)["step"] < steps:
        return ckpt
    from training.patterns.export_restore import export

    if not init.exists() or not resume:
        export(Path(out), init)
    left = None if time_limit_s is None else time_limit_s - (time.time() - t0)
    if left is not None and left <= 0:
        print("time limit reached after stage 1: run again to do stage 2", flush=True)
        return ckpt
    return train(Path(out) / "stage2", stage2_steps, seed, batch, crop, resume, time_limit_s=left,
                 kind_off_share=config.RESTORE_KIND_OFF_SHARE, init_g=init)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/restore"))
    ap.add_argument("--steps", type=int, default=4000)  # the shipped run
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--crop", type=int, default=CROP)
    ap.add_argument("--max-minutes", type=float, default=None, help="stop (resumable) after this long")
    ap.add_argument("--fresh", action="store_true", help="ignore OUT/ckpt.pt and start again")
    ap.add_argument("--stage2-steps", type=int, default=None,
                    help=f"after --steps, a second stage in OUT/stage2 (G warm-started, kinds of wear left out "
                         f"with share {config.RESTORE_KIND_OFF_SHARE}); the shipped run: {STAGE2_STEPS}")
    ap.add_argument("--kind-off-share", type=float, default=0.0,
                    help="probability that each kind of wear is left out of a view (the second stage: "
                         f"{config.RESTORE_KIND_OFF_SHARE})")
    ap.add_argument("--init-g", type=Path, default=None,
                    help="warm-start the generator from an exported restore .npz (the second stage)")
    a = ap.parse_args(argv)
    if not 0 <= a.kind_off_share < 1:
        ap.error("--kind-off-share must be in [0, 1)")
    if a.init_g is not None and not a.init_g.is_file():
        ap.error(f"--init-g {a.init_g}: no such file")
    if a.crop % 16 or not 16 <= a.crop <= SIZE:
        ap.error(f"--crop must be a multiple of 16 between 16 and {SIZE}")
    try:
        if a.stage2_steps is not None:
            if a.init_g is not None or a.kind_off_share:
                ap.error("--stage2-steps sets the second stage itself: give it without --init-g/--kind-off-share")
            train_stages(a.out, a.steps, a.stage2_steps, a.seed, a.batch, a.crop, resume=not a.fresh,
                         time_limit_s=a.max_minutes * 60 if a.max_minutes else None)
            return 0
        train(a.out, a.steps, a.seed, a.batch, a.crop, resume=not a.fresh,
              time_limit_s=a.max_minutes * 60 if a.max_minutes else None, kind_off_share=a.kind_off_share,
              init_g=a.init_g)
    except FileNotFoundError as e:
        print(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
