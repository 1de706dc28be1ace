"""Train the MDN-BiLSTM on the cached Bandai-Namco training set.

    python -m training.train --out runs/full                 # the shipped model's recipe
    python -m training.train --out runs/full --resume        # continue an interrupted or finished run
    python -m training.train --out runs/nocul --no-cultural  # the ablation without L_cul
    python -m training.train --out runs/tiny --preset tiny   # a smoke run for CI (< 2 minutes)

Deterministic for a seed (same data, same steps). Checkpoints are written atomically every
``--checkpoint-every`` steps and at the end; ``--resume`` restores model, optimiser, RNG and step.
Loss curves go to ``OUT/loss.png`` and ``OUT/log.jsonl``. Uses a GPU when one is available.

Loss: the sequence-level mixture NLL plus ``--cul-weight`` x L_cul (seed 002 eq. 8):
KL(p_gen || p_prior) + lambda ||theta - theta_ref||^2 + eta sum_j max(0, theta_j - theta_j^max)^2, with
lambda = 1.2 and eta = 0.8 (motion_core.config); p_prior and theta_ref per (content, style) pair from
the training clips; theta_j the rotation of joint j from the T-pose relative to its parent.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from motion_core import config
from motion_core.models import pose_vector as pv
from motion_core.models.generate import skeleton_feature
from motion_core.skeleton import canonical
from motion_core.skeleton.motion import Motion
from motion_core.text.encoder import load_text_encoder

from .build_dataset import Progress, default_cache
from .model import MotionMDN, mixture_nll, phase_features
from .runs import add_run_arguments, plot_curves, save_checkpoint

ROT = slice(0, pv.ROT_DIMS)


@dataclass
class TrainConfig:
    cache: str = ""
    out: str = "runs/full"
    steps: int = 3000
    batch: int = 32
    windows: tuple[int, ...] = (48, 64, 96)
    lr: float = 1e-3
    cultural: bool = True
    cul_weight: float = 0.1  # product choice: the seed gives lambda and eta, not L_cul's weight vs the NLL
    seed: int = 0
    hidden: int = config.LSTM_HIDDEN
    layers: int = config.LSTM_LAYERS
    checkpoint_every: int = 500
    limit_clips: int | None = None


PRESETS = {
    "full": {},
    "tiny": {"steps": 40, "batch": 8, "windows": (32,), "hidden": 32, "layers": 1, "limit_clips": 60,
             "checkpoint_every": 20},
}


# --------------------------------------------------------------------------------------------
# Data


@dataclass
class TrainData:
    vectors: list[np.ndarray]  # (T, 130) raw per clip
    skel: np.ndarray  # (N, 63)
    pair: np.ndarray  # (N,) pair index
    caption_emb: list[np.ndarray]  # per clip (C, 384)
    pairs: list[tuple[str, str]]
    mean: np.ndarray
    std: np.ndarray
    prior_mean: np.ndarray  # (P, 126) normalised
    prior_std: np.ndarray  # (P, 126) normalised
    pair_emb: np.ndarray  # (P, 384) mean caption embedding, unit norm
    tpose: np.ndarray  # (21, 3) mean T-pose, metres


def load_data(cache: Path, split: str = "train", limit: int | None = None, stats: TrainData | None = None) -> TrainData:
    index = json.loads((cache / "clips" / "index.json").read_text())
    entries = [e for e in index["clips"] if e["split"] == split]
    if limit:
        entries = entries[:: max(1, len(entries) // limit)][:limit]
    if not entries:
        raise SystemExit(f"no {split} clips in {cache / 'clips'}; run python -m training.build_dataset first")
    enc = load_text_encoder()
    all_caps = sorted({c for e in entries for c in e["captions"]})
    emb = dict(zip(all_caps, np.concatenate([enc.encode(all_caps[i:i + 64]) for i in range(0, len(all_caps), 64)]),
                   strict=True))
    vectors, skel, pair_ids, cap_emb, tposes = [], [], [], [], []
    pairs = stats.pairs if stats else sorted({(e["content"], e["style"]) for e in entries})
    for e in entries:
        with np.load(cache / "clips" / e["file"]) as z:
            m = Motion(z["rotations"], z["root"], z["tpose"], z["present"], float(z["fps"]))
        vectors.append(pv.motion_to_vector(m).astype(np.float32))
        skel.append(skeleton_feature(m.tpose))
        tposes.append(m.tpose)
        key = (e["content"], e["style"])
        pair_ids.append(pairs.index(key) if key in pairs else -1)
        cap_emb.append(np.stack([emb[c] for c in e["captions"]]))
    if stats is None:
        allv = np.concatenate(vectors)
        mean, std = allv.mean(0), allv.std(0) + 1e-4
        prior_mean = np.zeros((len(pairs), pv.ROT_DIMS))
        prior_std = np.ones((len(pairs), pv.ROT_DIMS))
        pair_emb = np.zeros((len(pairs), 384))
        pid = np.array(pair_ids)
        for p in range(len(pairs)):
            v = (np.concatenate([vectors[i] for i in np.nonzero(pid == p)[0]]) - mean) / std
            prior_mean[p] = v[:, ROT].mean(0)
            prior_std[p] = v[:, ROT].std(0) + 0.05  # a floor so a rarely moving dim is not a wall
            e_ = np.concatenate([cap_emb[i] for i in np.nonzero(pid == p)[0]]).mean(0)
            pair_emb[p] = e_ / np.linalg.norm(e_)
        tpose = np.mean(tposes, axis=0)
    else:
        mean, std, prior_mean, prior_std, pair_emb, tpose = (stats.mean, stats.std, stats.prior_mean, stats.prior_std,
                                                             stats.pair_emb, stats.tpose)
    return TrainData(vectors, np.stack(skel), np.array(pair_ids), cap_emb, pairs, mean, std, prior_mean, prior_std,
                     pair_emb, tpose)


def sample_batch(data: TrainData, cfg: TrainConfig, rng: np.random.Generator):
    length = int(rng.choice(cfg.windows))
    lengths = np.array([len(v) for v in data.vectors])
    ok = np.nonzero(lengths >= length)[0]
    if len(ok) == 0:
        length = int(lengths.max())
        ok = np.nonzero(lengths >= length)[0]
    clips = rng.choice(ok, size=cfg.batch, p=lengths[ok] / lengths[ok].sum())
    y, text, skel, offs, pair = [], [], [], [], []
    for c in clips:
        start = int(rng.integers(0, lengths[c] - length + 1))
        y.append((data.vectors[c][start:start + length] - data.mean) / data.std)
        caps = data.caption_emb[c]
        text.append(caps[rng.integers(len(caps))])
        skel.append(data.skel[c])
        offs.append(start / config.FPS)
        pair.append(data.pair[c])
    f = torch.tensor
    return (f(np.stack(text), dtype=torch.float32), f(np.stack(skel)), f(np.array(offs), dtype=torch.float32),
            f(np.stack(y), dtype=torch.float32), torch.tensor(pair))


# --------------------------------------------------------------------------------------------
# Cultural-constraint loss (seed 002 eq. 8)


def joint_angles(raw_rot: torch.Tensor) -> torch.Tensor:
    """(..., 126) raw 6D global rotations -> (..., 21) angle (rad) of each joint from the T-pose,
    relative to its parent (the pelvis: its own global angle, excluded from limits)."""
    from training.kinematics_torch import sixd_to_matrix
    g = sixd_to_matrix(raw_rot.reshape(*raw_rot.shape[:-1], 21, 6))
    parents = torch.tensor(np.maximum(canonical.PARENTS, 0))
    local = g[..., parents, :, :].transpose(-1, -2) @ g
    tr = local.diagonal(dim1=-2, dim2=-1).sum(-1)
    skew = torch.stack([local[..., 2, 1] - local[..., 1, 2], local[..., 0, 2] - local[..., 2, 0],
                        local[..., 1, 0] - local[..., 0, 1]], -1)
    return torch.atan2(torch.sqrt((skew * skew).sum(-1) + 1e-12) / 2, (tr - 1) / 2)


def cultural_loss(model: MotionMDN, log_pi, mu, sigma, pair, data_prior) -> tuple[torch.Tensor, dict]:
    prior_mean, prior_std, max_angle = data_prior
    valid = pair >= 0
    if not valid.any():
        z = mu.sum() * 0
        return z, {"kl": 0.0, "ref": 0.0, "limit": 0.0}
    pi = log_pi.exp()[valid][:, None, :, None]  # (B, 1, K, 1)
    m, s = mu[valid][..., ROT], sigma[valid][..., ROT]  # (B, T, K, 126)
    # p_gen: the distribution of the poses the model generates over the sequence (its component means,
    # moment-matched over frames and components), against p_prior: the poses of the pair's real clips.
    # sigma is left out: the seed's sigma floors exceed some dimensions' whole spread within a style.
    del s
    gen_mean = (m * pi).sum(2).mean(1)  # (B, 126)
    gen_var = (m ** 2 * pi).sum(2).mean(1) - gen_mean ** 2 + 1e-3
    pm, ps = prior_mean[pair[valid]], prior_std[pair[valid]]
    kl = (torch.log(ps) - 0.5 * torch.log(gen_var.clamp_min(1e-6)) + (gen_var + (gen_mean - pm) ** 2) / (2 * ps ** 2)
          - 0.5).mean()
    ref = ((gen_mean - pm) ** 2).mean()
    raw = mu[valid][..., ROT] * model.std[ROT] + model.mean[ROT]
    over = torch.relu(joint_angles(raw) - max_angle)  # (B, T, K, 21)
    limit = ((over ** 2).sum(-1) * pi[:, :, :, 0]).sum(-1).mean()
    total = kl + config.LAMBDA_REF * ref + config.ETA_LIMIT * limit
    return total, {"kl": float(kl.detach()), "ref": float(ref.detach()), "limit": float(limit.detach())}


# --------------------------------------------------------------------------------------------
# Loop


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, stop_at: int | None = None) -> Path:
    """Train (or resume) to ``cfg.steps``; ``stop_at`` ends this call early, with a checkpoint, as an
    interruption would. Returns the checkpoint path."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cfg.cache) if cfg.cache else default_cache()
    # cuBLAS needs a fixed workspace for deterministic results; set before CUDA starts.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = load_data(cache, "train", cfg.limit_clips)
    val = load_data(cache, "val", max(8, (cfg.limit_clips or 0) // 5) if cfg.limit_clips else None, stats=data)
    model = MotionMDN(data.mean, data.std, hidden=cfg.hidden, layers=cfg.layers).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    step, log = 0, []
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, log = state["step"], state["log"]
        print(f"resumed {ckpt} at step {step}", file=sys.stderr)
    elif ckpt.exists():
        raise SystemExit(f"{ckpt} exists; pass --resume to continue it or choose another --out")
    prior = (torch.tensor(data.prior_mean, dtype=torch.float32, device=device),
             torch.tensor(data.prior_std, dtype=torch.float32, device=device),
             torch.tensor(np.radians(canonical.MAX_ROTATION_DEG), dtype=torch.float32, device=device))
    bar = Progress(cfg.steps - step, f"train {out.name}", progress)
    t0 = time.monotonic()

    def save() -> None:
        # Only tensors, dicts, lists and plain numbers/strings: loadable with torch.load(weights_only=True),
        # which runs no pickled code (numpy arrays would need it).
        meta = {"config": dataclasses.asdict(cfg), "pairs": [list(p) for p in data.pairs]}
        save_checkpoint({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                      "step": step, "log": log, "meta": meta,
                      "stats": {k: torch.from_numpy(np.ascontiguousarray(getattr(data, k)))
                                for k in ("mean", "std", "prior_mean", "prior_std", "pair_emb", "tpose")}}, ckpt)
        plot_curves(log, out / "loss.png")
        (out / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))

    end = min(cfg.steps, stop_at) if stop_at else cfg.steps
    while step < end:
        rng = np.random.default_rng([cfg.seed, step])  # per-step stream: resume is exact
        text, skel, offs, y, pair = (t.to(device) for t in sample_batch(data, cfg, rng))
        log_pi, mu, sigma = model(text, skel, phase_features(y.shape[1], offs))
        nll = mixture_nll(log_pi, mu, sigma, y)
        loss = nll
        rec = {"step": step + 1, "nll": float(nll.detach())}
        if cfg.cultural:
            cul, parts = cultural_loss(model, log_pi, mu, sigma, pair, prior)
            loss = loss + cfg.cul_weight * cul
            rec.update(parts)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        if step % max(1, cfg.checkpoint_every // 5) == 0 or step == cfg.steps:
            rec["val_nll"] = evaluate_nll(model, val, cfg, device)
            rec["elapsed_s"] = round(time.monotonic() - t0, 1)
        log.append(rec)
        bar.update()
        if step % cfg.checkpoint_every == 0 or step == end:
            save()
    return ckpt


@torch.no_grad()
def evaluate_nll(model: MotionMDN, val: TrainData, cfg: TrainConfig, device) -> float:
    rng = np.random.default_rng(12345)  # the same validation windows every time
    vcfg = dataclasses.replace(cfg, batch=min(64, len(val.vectors)))
    text, skel, offs, y, _ = (t.to(device) for t in sample_batch(val, vcfg, rng))
    model.eval()
    log_pi, mu, sigma = model(text, skel, phase_features(y.shape[1], offs))
    model.train()
    return float(mixture_nll(log_pi, mu, sigma, y))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    p.add_argument("--cache", default="", help="training cache (default $HM_CACHE or ~/.cache/heritage-motion)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="full")
    p.add_argument("--no-cultural", action="store_true", help="train without L_cul (ablation)")
    add_run_arguments(p, "runs/full", 0, "CPU threads (default: all cores)")
    a = p.parse_args(argv)
    cfg = TrainConfig(cache=a.cache, out=a.out, **PRESETS[a.preset])
    for k in ("steps", "batch", "seed", "checkpoint_every"):
        if getattr(a, k) is not None:
            cfg = dataclasses.replace(cfg, **{k: getattr(a, k)})
    if a.no_cultural:
        cfg = dataclasses.replace(cfg, cultural=False)
    torch.set_num_threads(a.threads or max(1, os.cpu_count() or 1))
    ckpt = train(cfg, resume=a.resume, stop_at=a.stop_at)
    print(f"checkpoint: {ckpt} (device: {'cuda ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
