"""Train the pattern GAN (variants) and the coherent-animation trajectory networks, in one command.

    python -m training.patterns.train_gan_variants --out runs/gan            # both stages, resumable
    python -m training.patterns.train_gan_variants --out runs/gan --export motion_core/weights/patterns

Data: the kamon set's train split only (training/patterns/data.py splits by blazon), by default its
Edo-period Ansei Bukan prints only (``--sources edo``: CC BY-SA 4.0 from CODH through the Kamon data
set, one medium, ink on paper; the Wikimedia drawings carry mixed licences, GFDL among them, and a
second look, white on black and coloured), 64x64, random horizontal flips. The unlabelled
edo-undescribed crests train too: every image is conditioned on its own visual embedding (phi of the
shipped pattern encoder, plus a little noise, renormalised), so no label is needed.

Stage 1 (GAN, seed 001 eq. 8): D maximises log D(x) + log(1 - D(G(z, c))), G minimises
-log D(G(z, c)) (the non-saturating form the seed writes); Adam 2e-4, (0.5, 0.999). Two additions
for a data set of about 1,800 images on one CPU thread (product choices, not in seed 001):
differentiable augmentation (Zhao et al. 2020, "DiffAugment": the same random translation, cutout
and brightness/contrast applied to real and generated images before D, so D cannot memorise the
few real images) and an exponential moving average of G's weights (the exported generator).
Stage 2 (animation): G and D frozen. Two trajectory networks from the same initialisation:
"temporal" is trained against the image D (each frame looks real) and the BiLSTM temporal D
(the sequence's changes match the driver, judged against proxy sequences of real crests),
"ablation" against the image D only. Proxy sequences: a real crest turned, scaled and its ink
tinted along the driver's cumulative energy (no video of crests exists; these are stand-ins).

Each stage stops at its step count or its time budget, checkpoints every 50 steps to OUT and
resumes from there; progress lines go to stdout, losses to OUT/log_*.jsonl and OUT/losses.png.
Writes OUT/gan_variants.npz (fp16 weights + class conditions + metadata) at the end.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from motion_core import config
from motion_core.files import save_atomic, write_json_atomic
from motion_core.patterns.encoder import PatternEncoder, l2n, load_encoder
from training.patterns.gan_model import (
    Discriminator,
    Generator,
    TemporalDiscriminator,
    TrajectoryNet,
    generator_state,
    recalibrate_bn,
)
from training.runs import save_checkpoint

REPO = Path(__file__).resolve().parents[2]
ENCODER = REPO / "motion_core" / "weights" / "patterns" / "pattern_encoder.npz"
VERSION = "2"  # 2: Edo prints only, DiffAugment, EMA generator, class members as conditions


def notice(sources: str) -> str:
    """The attribution that travels with the weights, for the images they were trained on."""
    what = ("Edo-period Ansei Bukan woodblock prints (Center for Open Data in the Humanities)" if sources == "edo"
            else "Edo-period Ansei Bukan woodblock prints (Center for Open Data in the Humanities) and Wikimedia "
                 "images (their own licences: kamon/wiki_licenses.csv)")
    return (f"Pattern GAN trained on the Kamon data set (Sakana AI): {what}, CC BY-SA 4.0; shared under "
            "CC BY-SA 4.0 (PATTERNS_NOTICE.md).")
QUANT_MIN = 100_000  # tensors this large are stored as int8 (the fc and the first two transposed convs)
COND_NOISE = 0.05  # product choice: training conditions jittered so nearby (class-mean) vectors work
EMA_DECAY = 0.999  # product choice: G's exported weights are this moving average (smoother than the last step)
MODE_SEEKING = 1.0  # weight of the mode-seeking term (Mao et al. 2019, MSGAN; their weight): z must matter
SOURCES = {"edo": ("edo", "edo-undescribed"), "all": ("edo", "edo-undescribed", "wiki")}


# -- data ----------------------------------------------------------------------------------------
def kamon_split(split: str, sources: str = "edo") -> tuple[np.ndarray, list[str | None]]:
    """The kamon ``split`` ("train" | "test") images (N, 64, 64, 3) uint8 and labels, of ``sources``
    ("edo": the Ansei Bukan prints, described and undescribed; "all": also the Wikimedia drawings)."""
    from training.patterns import data as pdata

    s = pdata.load()
    keep = SOURCES[sources]
    m = [d == "kamon" and sp == split and me["source"] in keep
         for d, sp, me in zip(s.dataset, s.split, s.meta, strict=True)]
    t = s.select(m)
    return t.images, t.label


def diff_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """DiffAugment (Zhao et al. 2020) for x (N, 3, H, W) in [-1, 1], differentiable in x: a brightness
    shift of up to +-0.25, a contrast factor 0.5-1.5, a translation by up to 1/8 of the size (padding
    0, mid-grey) and one mid-grey cutout square of half the size, drawn per image from ``gen``."""
    n, _, h, w = x.shape
    x = x + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.5
    m = x.mean((1, 2, 3), keepdim=True)
    x = (x - m) * (0.5 + torch.rand(n, 1, 1, 1, generator=gen)) + m
    s = h // 8
    dy = torch.randint(-s, s + 1, (n,), generator=gen)
    dx = torch.randint(-s, s + 1, (n,), generator=gen)
    yy = (torch.arange(h)[None, :] - dy[:, None])  # (N, H) source rows
    xx = (torch.arange(w)[None, :] - dx[:, None])
    vy = (yy >= 0) & (yy < h)
    vx = (xx >= 0) & (xx < w)
    idx_y = yy.clamp(0, h - 1)[:, None, :, None].expand(n, 3, h, w)
    idx_x = xx.clamp(0, w - 1)[:, None, None, :].expand(n, 3, h, w)
    x = x.gather(2, idx_y).gather(3, idx_x) * (vy[:, None, :, None] & vx[:, None, None, :])
    ch, cw = h // 2, w // 2
    cy = torch.randint(0, h - ch + 1, (n,), generator=gen)
    cx = torch.randint(0, w - cw + 1, (n,), generator=gen)
    ys, xs = torch.arange(h)[None, :], torch.arange(w)[None, :]
    in_y = (ys >= cy[:, None]) & (ys < cy[:, None] + ch)
    in_x = (xs >= cx[:, None]) & (xs < cx[:, None] + cw)
    return x * ~(in_y[:, None, :, None] & in_x[:, None, None, :])


def conditions(enc: PatternEncoder, images: np.ndarray, labels: list[str | None]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Per-image phi embeddings (N, 128) and per-class mean embeddings (K, 128), unit vectors."""
    vis, _ = enc.encode(images)
    names = sorted({lab for lab in labels if lab is not None})
    means = np.stack([l2n(vis[[i for i, lab in enumerate(labels) if lab == n]].mean(0)) for n in names])
    return vis.astype(np.float32), names, means.astype(np.float32)


class FeatureNet(torch.nn.Module):
    """The shipped pattern encoder's conv trunk, frozen: pooled 128-d features per frame."""

    def __init__(self, weights: dict[str, np.ndarray]):
        super().__init__()
        self.w = [(torch.from_numpy(weights[f"convs.{j}.weight"].astype(np.float32)),
                   torch.from_numpy(weights[f"convs.{j}.bias"].astype(np.float32))) for j in range(3)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, 64, 64) in [-1, 1] -> (N, 128)."""
        h = ((x + 1) / 2 - 0.5) / 0.25
        for w, b in self.w:
            h = F.elu(F.conv2d(h, w, b, stride=2, padding=1))
        return h.mean((2, 3))


def random_driver(b: int, t: int, gen: torch.Generator) -> torch.Tensor:
    """(b, t) energies in [0, 1]: a quarter all still, a quarter steady motion, half on/off segments."""
    out = torch.zeros(b, t)
    for i in range(b):
        r = torch.rand(1, generator=gen).item()
        level = 0.3 + 0.7 * torch.rand(1, generator=gen).item()
        if r < 0.25:
            continue
        if r < 0.5:
            out[i] = level
            continue
        a, bb = sorted(torch.randint(0, t + 1, (2,), generator=gen).tolist())
        if torch.rand(1, generator=gen).item() < 0.5:
            out[i, a:bb] = level
        else:
            out[i] = level
            out[i, a:bb] = 0
    return out


def proxy_sequences(x: torch.Tensor, e: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Real crests x (B, 3, 64, 64) in [-1, 1] moved along drivers e (B, T) -> (B, T, 3, 64, 64).
    Along u_t = cumsum(e) / fps (seconds at full energy): rotation omega u_t (omega 0.6-1.8 rad/s,
    either way), scale 1 + 0.08 sin(2 pi 0.4 u_t + phase), the ink (dark pixels) tinted towards a
    random colour by up to 35 %. Where e = 0 nothing changes."""
    b, t = e.shape
    u = torch.cumsum(e, 1) / config.FPS
    u = u - u[:, :1]
    omega = (0.6 + 1.2 * torch.rand(b, 1, generator=gen)) * torch.where(torch.rand(b, 1, generator=gen) < 0.5, -1.0, 1.0)
    phase = 2 * math.pi * torch.rand(b, 1, generator=gen)
    ang = omega * u
    scale = 1 + 0.08 * (torch.sin(2 * math.pi * 0.4 * u + phase) - torch.sin(phase))
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], -1),
                         torch.stack([sin, cos, torch.zeros_like(cos)], -1)], -2)  # (B, T, 2, 3)
    xs = x[:, None].expand(-1, t, -1, -1, -1).reshape(b * t, 3, 64, 64)
    grid = F.affine_grid(theta.reshape(b * t, 2, 3), [b * t, 3, 64, 64], align_corners=False)
    y = F.grid_sample(xs, grid, padding_mode="border", align_corners=False).view(b, t, 3, 64, 64)
    tint = torch.rand(b, 1, 3, 1, 1, generator=gen) * 2 - 1
    amount = 0.35 * (1 - torch.cos(2 * math.pi * 0.3 * u)) / 2  # (B, T)
    ink = (1 - (y.mean(2, keepdim=True) + 1) / 2).clamp(0, 1)
    return y + amount[..., None, None, None] * ink * (tint - y)


# -- checkpoints and logs --------------------------------------------------------------------------
def resume(ck: Path, parts: dict, gen: torch.Generator, what: str) -> int:
    """Load ``parts`` (modules and optimisers, by their checkpoint keys) and the batch generator from
    ``ck`` when it exists; returns the step to continue from (0 for a fresh run)."""
    if not ck.exists():
        return 0
    s = torch.load(ck, weights_only=True)  # tensors and plain data only
    for key, part in parts.items():
        part.load_state_dict(s[key])
    gen.set_state(s["gen"])
    print(f"resumed {what} at step {s['step']}", flush=True)
    return int(s["step"])


def log_line(path: Path, rec: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


def read_log(path: Path) -> list[dict]:
    return [json.loads(x) for x in open(path, encoding="utf-8")] if path.exists() else []


def plot_losses(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    g = read_log(out / "log_gan.jsonl")
    if g:
        st = [r["step"] for r in g]
        seek = [MODE_SEEKING / (r["ms"] + 1e-5) if r.get("ms") else 0.0 for r in g]
        ax[0].plot(st, [r["d"] for r in g], label="D loss (eq. 8)")
        ax[0].plot(st, [r["g"] - m for r, m in zip(g, seek, strict=True)], label="G loss (eq. 8)")
        if any(seek):
            ax[0].plot(st, seek, label="G mode-seeking term", alpha=0.7)
        ax[0].set_title("stage 1: image GAN")
        ax[0].set_xlabel("step")
        ax[0].legend()
    for name in ("temporal", "ablation"):
        a = read_log(out / f"log_anim_{name}.jsonl")
        if a:
            ax[1].plot([r["step"] for r in a], [r["img"] for r in a], label=f"{name}: image D term")
            if name == "temporal":
                ax[1].plot([r["step"] for r in a], [r["tg"] for r in a], label="temporal: temporal D term")
                ax[1].plot([r["step"] for r in a], [r["td"] for r in a], label="temporal D loss")
    ax[1].set_title("stage 2: trajectory networks")
    ax[1].set_xlabel("step")
    if ax[1].get_legend_handles_labels()[0]:  # a run stopped before stage 2 logged has nothing to label
        ax[1].legend(fontsize=7)
    fig.tight_layout()
    save_atomic(out / "losses.png", lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    plt.close(fig)


# -- stage 1 ---------------------------------------------------------------------------------------
def train_gan(out: Path, steps: int, seed: int, minutes: float, batch: int, x_all: torch.Tensor,
              c_all: torch.Tensor, augment: bool = True, mode_seeking_from: int = 0) -> tuple[Generator, Discriminator, int]:
    """Stage 1; returns (the moving average of G, D, the step reached). From step
    ``mode_seeking_from`` on, the two halves of each generated batch share their conditions and G also
    minimises MODE_SEEKING / (mean |G(z1, c) - G(z2, c)| / mean |z1 - z2|): two latents for one
    condition must give two different crests (Mao et al. 2019), against G ignoring z."""
    torch.manual_seed(seed)
    g, d = Generator(), Discriminator()
    g_ema = copy.deepcopy(g)
    for p in g_ema.parameters():
        p.requires_grad_(False)
    og = torch.optim.Adam(g.parameters(), config.GAN_LR, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), config.GAN_LR, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    ck = out / "ckpt_gan.pt"
    parts = {"g": g, "d": d, "og": og, "od": od, "g_ema": g_ema}
    step = resume(ck, parts, gen, "stage 1")
    aug = (lambda x: diff_augment(x, gen)) if augment else (lambda x: x)

    def state() -> dict:
        return {**{k: p.state_dict() for k, p in parts.items()}, "gen": gen.get_state(), "step": step}

    t0 = time.time()
    n = len(x_all)
    while step < steps and (time.time() - t0) < minutes * 60:
        idx = torch.randint(n, (batch,), generator=gen)
        real = x_all[idx]
        flip = torch.rand(batch, generator=gen) < 0.5
        real = torch.where(flip[:, None, None, None], real.flip(3), real)
        c = F.normalize(c_all[idx] + COND_NOISE * torch.randn(batch, c_all.shape[1], generator=gen), dim=1)
        z = torch.randn(batch, config.GAN_Z_DIM, generator=gen)
        seeking = step >= mode_seeking_from
        half = batch // 2
        cf = torch.cat([c[:half], c[:half], c[2 * half:]]) if seeking else c
        fake = g(z, cf)
        ld = F.softplus(-d(aug(real), c)).mean() + F.softplus(d(aug(fake.detach()), cf)).mean()
        od.zero_grad()
        ld.backward()
        od.step()
        lg = F.softplus(-d(aug(fake), cf)).mean()
        ms = torch.zeros(())
        if seeking:
            ms = ((fake[:half] - fake[half:2 * half]).abs().mean()
                  / (z[:half] - z[half:2 * half]).abs().mean())
            lg = lg + MODE_SEEKING / (ms + 1e-5)
        og.zero_grad()
        lg.backward()
        og.step()
        with torch.no_grad():  # BN running statistics are recomputed at export (recalibrate_bn)
            for pe, p in zip(g_ema.parameters(), g.parameters(), strict=True):
                pe.lerp_(p, 1 - EMA_DECAY)
        step += 1
        if step % 10 == 0:
            log_line(out / "log_gan.jsonl", {"step": step, "d": ld.item(), "g": lg.item(), "ms": ms.item(),
                                             "gamma_g": g.attn.gamma.item(), "t": time.time() - t0})
        if step % 50 == 0 or step == steps:
            print(f"[gan] step {step}/{steps} D {ld.item():.3f} G {lg.item():.3f} z-spread {ms.item():.3f} "
                  f"{(time.time() - t0) / 60:.1f} min", flush=True)
            save_checkpoint(state(), ck)
    save_checkpoint(state(), ck)
    print(f"[gan] stage 1 stopped at step {step}", flush=True)
    return g_ema, d, step


# -- stage 2 ---------------------------------------------------------------------------------------
def train_anim(out: Path, name: str, steps: int, seed: int, minutes: float, batch: int, g: Generator,
               d: Discriminator, feat: FeatureNet, x_all: torch.Tensor, c_all: torch.Tensor) -> TrajectoryNet:
    temporal = name == "temporal"
    torch.manual_seed(seed + 1)  # both variants start from the same initialisation
    traj, td = TrajectoryNet(), TemporalDiscriminator()
    ot = torch.optim.Adam(traj.parameters(), config.GAN_LR, betas=(0.5, 0.999))
    otd = torch.optim.Adam(td.parameters(), config.GAN_LR, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed + 2)
    for m in (g, d):
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)
    ck = out / f"ckpt_anim_{name}.pt"
    step = resume(ck, {"traj": traj, "td": td, "ot": ot, "otd": otd}, gen, name)
    t = config.ANIM_TRAIN_FRAMES
    t0 = time.time()

    def snapshot() -> dict:
        return {"traj": traj.state_dict(), "td": td.state_dict(), "ot": ot.state_dict(), "otd": otd.state_dict(),
                "gen": gen.get_state(), "step": step}

    while step < steps and (time.time() - t0) < minutes * 60:
        idx = torch.randint(len(x_all), (batch,), generator=gen)
        c = F.normalize(c_all[idx] + COND_NOISE * torch.randn(batch, c_all.shape[1], generator=gen), dim=1)
        e = random_driver(batch, t, gen)
        z0 = torch.randn(batch, config.GAN_Z_DIM, generator=gen)
        noise = torch.randn(batch, t, config.ANIM_NOISE_DIM, generator=gen)
        z = traj(e, noise, z0, c)
        crep = c[:, None].expand(-1, t, -1).reshape(batch * t, -1)
        frames = g(z.reshape(batch * t, -1), crep)
        limg = F.softplus(-d(frames, crep)).mean()
        rec = {"step": step + 1, "img": limg.item()}
        loss = limg
        if temporal:
            fr = frames.view(batch, t, 3, 64, 64)
            ff = feat(frames).view(batch, t, -1)
            real = proxy_sequences(x_all[idx], e, gen)
            rf = feat(real.reshape(batch * t, 3, 64, 64)).view(batch, t, -1)
            ltd = F.softplus(-td(rf, real, e)).mean() + F.softplus(td(ff.detach(), fr.detach(), e)).mean()
            otd.zero_grad()
            ltd.backward()
            otd.step()
            ltg = F.softplus(-td(ff, fr, e)).mean()
            loss = limg + ltg
            rec.update(tg=ltg.item(), td=ltd.item())
        ot.zero_grad()
        loss.backward()
        ot.step()
        step += 1
        if step % 10 == 0:
            rec["t"] = time.time() - t0
            log_line(out / f"log_anim_{name}.jsonl", rec)
        if step % 50 == 0 or step == steps:
            print(f"[anim {name}] step {step}/{steps} " + " ".join(f"{k} {v:.3f}" for k, v in rec.items()
                                                                   if k not in ("step", "t")) +
                  f" {(time.time() - t0) / 60:.1f} min", flush=True)
            save_checkpoint(snapshot(), ck)
    save_checkpoint(snapshot(), ck)
    print(f"[anim {name}] stopped at step {step}", flush=True)
    return traj


# -- export ----------------------------------------------------------------------------------------
def export(path: Path, g: Generator, trajs: dict[str, TrajectoryNet], class_names: list[str],
           class_means: np.ndarray, info: dict, vis: np.ndarray | None = None,
           labels: list[str | None] | None = None) -> Path:
    """Write the generator (and trajectory networks) to ``path``. With ``vis`` (N, 128) and ``labels``,
    each class's member embeddings are stored too (``cond_members``, ``cond_member_class``): a class
    condition then draws one real member per sample (on the training distribution) instead of the
    class mean, an average of very different crests that G never saw."""
    arrays: dict[str, np.ndarray] = {}
    for k, v in generator_state(g).items():
        a = v.detach().numpy().astype(np.float32)
        if a.size >= QUANT_MIN:  # int8 per output row (axis 0) with a float32 scale: the 8 MB budget
            rows = a.reshape(a.shape[0], -1)
            scale = np.maximum(np.abs(rows).max(1), 1e-12) / 127.0
            arrays[k + "__q"] = np.round(rows / scale[:, None]).astype(np.int8).reshape(a.shape)
            arrays[k + "__s"] = scale.astype(np.float32)
        else:
            arrays[k] = a.astype(np.float16)
    for name, tr in trajs.items():
        for k, v in tr.state_dict().items():
            arrays[f"traj_{name}.{k}"] = v.detach().numpy().astype(np.float16)
    arrays["cond_classes"] = class_means.astype(np.float16)
    if vis is not None and labels is not None:
        member = [i for i, lab in enumerate(labels) if lab in class_names]
        arrays["cond_members"] = vis[member].astype(np.float16)
        arrays["cond_member_class"] = np.array([class_names.index(labels[i]) for i in member], np.int16)
    meta = {"format": "heritage-motion-pattern-gan", "format_version": 1, "version": VERSION,
            "classes": class_names, "z_dim": config.GAN_Z_DIM, "cond_dim": config.GAN_COND_DIM,
            "g_channels": list(config.GAN_G_CHANNELS), "g_attn_after": config.GAN_G_ATTN_AFTER,
            "noise_dim": config.ANIM_NOISE_DIM, "z_step": config.ANIM_Z_STEP,
            "trajectories": sorted(trajs), "licence": "CC BY-SA 4.0",
            "notice": notice(info.get("sources", "all")), **info}
    arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    save_atomic(path, lambda tmp: np.savez_compressed(tmp, **arrays))  # type: ignore[arg-type]
    return path


def train(out: Path, steps: int, seed: int = 0, anim_steps: int = 700, minutes: float = 33.0,
          anim_minutes: float = 7.0, batch: int = 16, anim_batch: int = 2, export_to: Path | None = None,
          sources: str = "edo", augment: bool = True, mode_seeking_from: int = 0) -> Path:
    """Both stages into ``out`` (resumable); returns the path of the exported ``gan_variants.npz``
    (``out`` unless ``export_to`` is given)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.time()
    enc = load_encoder(ENCODER)
    images, labels = kamon_split("train", sources)
    vis, names, means = conditions(enc, images, labels)
    print(f"kamon train split ({sources}): {len(images)} images, {sum(lab is not None for lab in labels)} "
          f"labelled in {len(names)} classes", flush=True)
    x_all = torch.from_numpy(images.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2).contiguous()
    c_all = torch.from_numpy(vis)
    g, d, gan_steps = train_gan(out, steps, seed, minutes, batch, x_all, c_all, augment, mode_seeking_from)
    recalibrate_bn(g, c_all, seed=seed)
    z = np.load(ENCODER)
    feat = FeatureNet({k: z[k] for k in z.files})
    trajs = {name: train_anim(out, name, anim_steps, seed, anim_minutes, anim_batch, g, d, feat, x_all, c_all)
             for name in ("temporal", "ablation")}
    info = {"seed": seed, "gan_steps": gan_steps, "gan_batch": batch,
            "anim_steps": {k: (read_log(out / f"log_anim_{k}.jsonl") or [{"step": 0}])[-1]["step"] for k in trajs},
            "train_images": len(images), "sources": sources, "diff_augment": augment, "ema": EMA_DECAY,
            "mode_seeking": {"weight": MODE_SEEKING, "from_step": mode_seeking_from},
            "data": f"kamon train split (training/patterns/data.py), sources {', '.join(SOURCES[sources])}",
            "encoder": "pattern_encoder.npz"}
    write_json_atomic(out / "train_info.json", {**info, "wall_s": time.time() - t0})
    plot_losses(out)
    path = export((Path(export_to) if export_to else out) / "gan_variants.npz", g, trajs, names, means, info,
                  vis, labels)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--anim-steps", type=int, default=700)
    p.add_argument("--minutes", type=float, default=33.0, help="stage 1 time budget")
    p.add_argument("--anim-minutes", type=float, default=7.0, help="time budget of each trajectory network")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sources", choices=sorted(SOURCES), default="edo",
                   help="edo: the Ansei Bukan prints only (default); all: also the Wikimedia drawings")
    p.add_argument("--no-augment", action="store_true", help="train D without DiffAugment (the ablation)")
    p.add_argument("--mode-seeking-from", type=int, default=0, help="first step of the mode-seeking term (default 0)")
    p.add_argument("--export", type=Path, default=None, help="folder for gan_variants.npz (default OUT)")
    a = p.parse_args(argv)
    train(a.out, a.steps, a.seed, a.anim_steps, a.minutes, a.anim_minutes, a.batch, export_to=a.export,
          sources=a.sources, augment=not a.no_augment, mode_seeking_from=a.mode_seeking_from)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
