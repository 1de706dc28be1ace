"""Train the autoregressive MDN-LSTM (training/ar_model.py) on Bandai-Namco plus the CMU dance sets.

    python -m training.train_ar --out runs/ar                  # the shipped model's recipe
    python -m training.train_ar --out runs/ar --resume         # continue an interrupted or finished run
    python -m training.train_ar --out runs/ar-nocul --no-cultural [--steps N]   # the ablation
    python -m training.train_ar --out runs/ar-tiny --preset tiny                # a smoke run (< 1 min)
    torchrun --nproc_per_node 2 -m training.train_ar --out runs/ar              # the same run on 2 processes

Needs the cache built by ``python -m training.build_dataset`` and ``python -m training.build_dance``.
SFU clips (split ``eval``) are never read here.

Several processes or GPUs (issue #15): run the same command under PyTorch's ``torchrun`` (or
``python -m torch.distributed.run``); without it, one process runs exactly as before. Each of the N
processes (ranks) joins a process group (backend ``nccl`` with one GPU per rank, ``cuda:LOCAL_RANK``,
when CUDA is available, else ``gloo`` on CPU) and the model is wrapped in DistributedDataParallel,
which averages the gradients. ``--batch`` stays the GLOBAL batch (it must divide by N): every rank
draws the same global batch of windows, noise and feedback samples from the (seed, step) generators
as a single process would, and keeps only its contiguous 1/N share of the rows, so the N ranks
together train on exactly the single-process batch and the logged losses (averaged over the ranks)
are comparable with it (``tests/test_ddp.py``: 2 CPU ranks against 1 process, 50 steps). Only rank 0
writes: checkpoints, ``log.jsonl``, ``loss.png``, progress lines and the validation NLL. ``--resume``
works as for one process: every rank loads ``OUT/checkpoint.pt``, so on several machines ``--out``
must be on storage they share. ``--device cpu|cuda`` overrides the choice (default ``auto``: CUDA
under torchrun when available; one plain process stays on the CPU, as before, unless ``--device
cuda``). Only the CPU (gloo) path has been run so far; the CUDA/nccl path has not.

Deterministic for a seed: every step draws its windows, noise and feedback samples from generators
seeded by (seed, step), so ``--resume`` continues exactly. Checkpoints are written atomically every
``--checkpoint-every`` steps and at the end (``OUT/checkpoint.pt``, loaded with
``torch.load(weights_only=True)``); the log goes to ``OUT/log.jsonl`` and the curves to ``OUT/loss.png``.

Recipe (per step, ``batch`` windows of ``window`` frames at 25 fps):

* windows are drawn with probability proportional to clip length, with the CMU dance clips weighted
  up to ``dance_share`` of all windows (they are 6 % of the frames but the point of the model);
* ground-truth inputs get Gaussian noise of ``input_noise`` (normalised units);
* auto-conditioning: after ``warmup`` ground-truth frames, the inputs alternate ``gt_block``
  ground-truth frames and ``self_block`` frames fed with the model's own samples (temperature 1,
  detached); ``self_block`` ramps up from 0 over the first ``ramp`` share of training;
* loss: the per-frame mixture NLL, plus ``contact_weight`` x the contacts' binary cross-entropy, plus
  ``cul_weight`` x L_cul (seed 002 eq. 8, as in ``training.train``: KL of the generated pose
  moments against the (content, style) pair's prior + lambda (1.2) ||theta - theta_ref||^2 + eta (0.8)
  x the joint-limit hinge), unless ``--no-cultural``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
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
from motion_core.files import save_atomic, write_atomic
from motion_core.models import pose_vector as pv
from motion_core.models.ar_mdn import sentence_embedding, skeleton_feature, token_states
from motion_core.skeleton import canonical
from motion_core.skeleton.motion import Motion
from motion_core.text.encoder import load_text_encoder

from .ar_model import ARMotionMDN, mixture_nll, sample_mixture
from .build_dataset import default_cache
from .runs import add_run_arguments, plot_curves, save_checkpoint
from .train import joint_angles

ROT = slice(0, pv.ROT_DIMS)


@dataclass
class TrainConfig:
    cache: str = ""
    out: str = "runs/ar"
    steps: int = 6000
    batch: int = 32
    window: int = 64
    lr: float = 1e-3
    lr_final: float = 0.1  # share of lr at the end of the cosine decay
    hidden: int = 256
    layers: int = 2
    input_noise: float = 0.05
    warmup: int = 8
    gt_block: int = 6
    self_block: int = 4
    ramp: float = 0.25
    dance_share: float = 0.35
    contact_weight: float = 0.5
    cultural: bool = True
    cul_weight: float = 0.1  # as training.train: the seed gives lambda and eta, not L_cul's weight
    seed: int = 0
    checkpoint_every: int = 250
    val_every: int = 250
    limit_clips: int | None = None


PRESETS = {
    "full": {},
    "tiny": {"steps": 30, "batch": 4, "window": 24, "hidden": 32, "layers": 1, "limit_clips": 40,
             "checkpoint_every": 15, "val_every": 15, "warmup": 4},
}


# --------------------------------------------------------------------------------------------
# Data


@dataclass
class Data:
    vectors: list[np.ndarray]  # (T, 130) raw
    contacts: list[np.ndarray]  # (T, 2)
    skel: np.ndarray  # (N, 63)
    pair: np.ndarray  # (N,)
    captions: list[list[int]]  # per clip: caption ids into the token table
    weight: np.ndarray  # (N,) window-sampling weight per clip
    names: list[str]
    genre: list[str]


@dataclass
class Stats:
    mean: np.ndarray
    std: np.ndarray
    pairs: list[tuple[str, str]]
    prior_mean: np.ndarray
    prior_std: np.ndarray
    pair_emb: np.ndarray
    tpose: np.ndarray


def entries(cache: Path) -> list[dict]:
    clips = cache / "clips"
    if not (clips / "index.json").exists() or not (clips / "dance_index.json").exists():
        raise SystemExit(f"missing cache in {clips}: run python -m training.build_dataset and "
                         "python -m training.build_dance first")
    out = json.loads((clips / "index.json").read_text())["clips"]
    for e in out:
        e.setdefault("genre", "dance-short" if e["content"] == "dance-short" else "")
    return out + [e for e in json.loads((clips / "dance_index.json").read_text())["clips"] if e["split"] != "eval"]


class TokenTable:
    """MiniLM token states of every caption, computed once and cached beside the clips."""

    def __init__(self, captions: list[str], cache: Path):
        self.captions = sorted(set(captions))
        key = hashlib.sha1("\n".join(self.captions).encode()).hexdigest()[:12]
        path = cache / "clips" / f"tokens_{key}.npz"
        if path.exists():
            with np.load(path) as z:
                self.tokens, self.lengths = z["tokens"], z["lengths"]
        else:
            enc = load_text_encoder()
            states = [token_states(enc, c) for c in self.captions]
            self.lengths = np.array([len(s) for s in states])
            self.tokens = np.zeros((len(states), self.lengths.max(), 384), np.float16)
            for i, s in enumerate(states):
                self.tokens[i, :len(s)] = s
            save_atomic(path, lambda tmp: np.savez(tmp, tokens=self.tokens, lengths=self.lengths))
        self.index = {c: i for i, c in enumerate(self.captions)}
        self.sentence = np.stack([sentence_embedding(self.tokens[i, :n].astype(np.float32))
                                  for i, n in enumerate(self.lengths)])

    def batch(self, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = self.lengths[ids]
        tok = self.tokens[ids, :lengths.max()].astype(np.float32)
        return torch.tensor(tok), torch.tensor(lengths)


def load(cache: Path, split: str, table: TokenTable, cfg: TrainConfig, stats: Stats | None = None):
    es = [e for e in entries(cache) if e["split"] == split]
    if cfg.limit_clips:
        es = es[:: max(1, len(es) // cfg.limit_clips)][: cfg.limit_clips]
        if not any(e["dataset"] == "cmu" for e in es):
            es += [e for e in entries(cache) if e["split"] == split and e["dataset"] == "cmu"][:2]
    vectors, contacts, skel, tposes, caps, names, genre, is_dance = [], [], [], [], [], [], [], []
    for e in es:
        with np.load(cache / "clips" / e["file"]) as z:
            m = Motion(z["rotations"], z["root"], z["tpose"], z["present"], float(z["fps"]))
            c = z["contacts"]
        if m.num_frames < 3:
            continue
        vectors.append(pv.motion_to_vector(m).astype(np.float32))
        contacts.append(np.stack([np.maximum(c[:, 0], c[:, 1]), np.maximum(c[:, 2], c[:, 3])], 1).astype(np.float32))
        skel.append(skeleton_feature(m.tpose))
        tposes.append(m.tpose)
        caps.append([table.index[x] for x in e["captions"]])
        names.append(e["name"])
        genre.append(e.get("genre") or "")
        is_dance.append(e["dataset"] == "cmu")
    pairs_all = [(e["content"], e["style"]) for e in es if e["name"] in set(names)]
    if stats is None:
        allv = np.concatenate(vectors)
        mean, std = allv.mean(0), allv.std(0) + 1e-4
        pairs = sorted(set(pairs_all))
        pid = np.array([pairs.index(p) for p in pairs_all])
        prior_mean = np.zeros((len(pairs), pv.ROT_DIMS), np.float32)
        prior_std = np.ones((len(pairs), pv.ROT_DIMS), np.float32)
        pair_emb = np.zeros((len(pairs), 384), np.float32)
        for p in range(len(pairs)):
            members = np.nonzero(pid == p)[0]
            v = (np.concatenate([vectors[i] for i in members]) - mean) / std
            prior_mean[p] = v[:, ROT].mean(0)
            prior_std[p] = v[:, ROT].std(0) + 0.05  # a floor, as training.train
            e_ = np.concatenate([table.sentence[caps[i]] for i in members]).mean(0)
            pair_emb[p] = e_ / np.linalg.norm(e_)
        stats = Stats(mean.astype(np.float32), std.astype(np.float32), pairs, prior_mean, prior_std, pair_emb,
                      np.mean(tposes, 0).astype(np.float32))
    pid = np.array([stats.pairs.index(p) if p in stats.pairs else -1 for p in pairs_all])
    lengths = np.array([len(v) for v in vectors], float)
    dance = np.array(is_dance)
    weight = lengths / lengths.sum()
    if dance.any() and (~dance).any() and cfg.dance_share > 0:
        weight = np.where(dance, cfg.dance_share * lengths / lengths[dance].sum(),
                          (1 - cfg.dance_share) * lengths / lengths[~dance].sum())
    return Data(vectors, contacts, np.stack(skel), pid, caps, weight / weight.sum(), names, genre), stats


def sample_batch(data: Data, stats: Stats, table: TokenTable, cfg: TrainConfig, rng: np.random.Generator,
                 window: int | None = None, batch: int | None = None):
    length = (window or cfg.window) + 1  # +1: the first frame is only an input
    lengths = np.array([len(v) for v in data.vectors])
    w = np.where(lengths >= length, data.weight, 0.0)
    if w.sum() == 0:
        length = int(lengths.max())
        w = np.where(lengths >= length, 1.0, 0.0)
    clips = rng.choice(len(lengths), size=batch or cfg.batch, p=w / w.sum())
    y, c, cap, skel, pair = [], [], [], [], []
    for i in clips:
        s = int(rng.integers(0, lengths[i] - length + 1))
        y.append((data.vectors[i][s:s + length] - stats.mean) / stats.std)
        c.append(data.contacts[i][s:s + length])
        cap.append(data.captions[i][int(rng.integers(len(data.captions[i])))])
        skel.append(data.skel[i])
        pair.append(data.pair[i])
    tok, lens = table.batch(cap)
    f = torch.tensor
    return f(np.stack(y), dtype=torch.float32), f(np.stack(c)), tok, lens, f(np.stack(skel)), f(np.array(pair))


# --------------------------------------------------------------------------------------------
# The step


def self_block_at(cfg: TrainConfig, step: int) -> int:
    return int(round(cfg.self_block * min(1.0, step / max(1.0, cfg.ramp * cfg.steps))))


Shard = tuple[int, int, int]  # (first row, end row, global batch) of this rank's share


def sample_rows(log_pi, mu, sigma, gen: torch.Generator, shard: Shard | None) -> torch.Tensor:
    """sample_mixture at temperature 1 for this rank's rows, with the draws of the whole global batch.

    One process (``shard`` None) calls sample_mixture itself. A rank pads its probabilities to the
    global batch and draws the component (torch.multinomial, one sample per row: exponential draws
    whose values depend only on the shape) and the noise for every row, then keeps its own rows, so
    each row gets the random numbers it gets in the single-process run."""
    if shard is None:
        return sample_mixture(log_pi, mu, sigma, 1.0, gen)
    lo, hi, full = shard
    probs = torch.ones(full, log_pi.shape[-1], device=log_pi.device)
    probs[lo:hi] = log_pi.exp()
    k = torch.multinomial(probs, 1, generator=gen)[lo:hi, 0]
    eps = torch.randn(full, mu.shape[-1], generator=gen, device=mu.device)[lo:hi]
    idx = torch.arange(hi - lo, device=mu.device)
    return mu[idx, k] + 1.0 * sigma[idx, k] * eps


def run_window(model: ARMotionMDN, y: torch.Tensor, cond: torch.Tensor, cfg: TrainConfig, self_block: int,
               noise: torch.Tensor, gen: torch.Generator, shard: Shard | None = None):
    """Heads for frames 1..T of y (B, T+1, D), the inputs mixing noisy ground truth and own samples."""
    t_total = y.shape[1] - 1
    gt_in = y[:, :-1] + noise
    if self_block <= 0:
        log_pi, mu, sigma, cl, _ = model(gt_in, cond)
        return log_pi, mu, sigma, cl
    outs, state, t = [], None, 0
    segments = [(0, min(cfg.warmup, t_total), "gt")]
    t = segments[0][1]
    while t < t_total:
        segments.append((t, min(t + cfg.gt_block, t_total), "gt"))
        t = segments[-1][1]
        if t < t_total:
            segments.append((t, min(t + self_block, t_total), "self"))
            t = segments[-1][1]
    for a, b, kind in segments:
        if kind == "gt":
            o = model(gt_in[:, a:b], cond, state)
            state = o[4]
            outs.append(o[:4])
        else:
            for _ in range(a, b):
                lp, m, s = outs[-1][0][:, -1], outs[-1][1][:, -1], outs[-1][2][:, -1]
                x = sample_rows(lp.detach(), m.detach(), s.detach(), gen, shard)[:, None]
                o = model(x, cond, state)
                state = o[4]
                outs.append(o[:4])
    return tuple(torch.cat([o[i] for o in outs], 1) for i in range(4))


def cultural_loss(model: ARMotionMDN, log_pi, mu, pair, prior) -> tuple[torch.Tensor, dict]:
    """L_cul (seed eq. 8) with per-frame mixture weights; see training.train.cultural_loss."""
    prior_mean, prior_std, max_angle = prior
    valid = pair >= 0
    if not valid.any():
        return mu.sum() * 0, {"kl": 0.0, "ref": 0.0, "limit": 0.0}
    pi = log_pi.exp()[valid][..., None]  # (B, T, K, 1)
    m = mu[valid][..., ROT]  # (B, T, K, 126)
    gen_mean = (m * pi).sum(2).mean(1)
    gen_var = (m ** 2 * pi).sum(2).mean(1) - gen_mean ** 2 + 1e-3
    pm, ps = prior_mean[pair[valid]], prior_std[pair[valid]]
    kl = (torch.log(ps) - 0.5 * torch.log(gen_var.clamp_min(1e-6)) + (gen_var + (gen_mean - pm) ** 2) / (2 * ps ** 2)
          - 0.5).mean()
    ref = ((gen_mean - pm) ** 2).mean()
    raw = m * model.std[ROT] + model.mean[ROT]
    over = torch.relu(joint_angles(raw) - max_angle)  # (B, T, K, 21)
    limit = ((over ** 2).sum(-1) * pi[..., 0]).sum(-1).mean()
    total = kl + config.LAMBDA_REF * ref + config.ETA_LIMIT * limit
    return total, {"kl": float(kl.detach()), "ref": float(ref.detach()), "limit": float(limit.detach())}


class StepLoss(torch.nn.Module):
    """One step's loss as one module call: what DistributedDataParallel wraps (one forward, one
    backward per step). The parameters are the model's; checkpoints hold ``model`` alone."""

    def __init__(self, model: ARMotionMDN, cfg: TrainConfig, prior):
        super().__init__()
        self.model, self.cfg, self.prior = model, cfg, prior

    def forward(self, y, c, tok, lens, skel, pair, noise, sb: int, gen: torch.Generator, shard: Shard | None):
        cfg = self.cfg
        cond = self.model.condition(tok, lens, skel)
        log_pi, mu, sigma, cl = run_window(self.model, y, cond, cfg, sb, noise, gen, shard)
        nll = mixture_nll(log_pi, mu, sigma, y[:, 1:])
        bce = torch.nn.functional.binary_cross_entropy_with_logits(cl, c[:, 1:])
        loss = nll + cfg.contact_weight * bce
        parts = {"nll": float(nll.detach()), "contact_bce": float(bce.detach())}
        if cfg.cultural:
            cul, cparts = cultural_loss(self.model, log_pi, mu, pair, self.prior)
            loss = loss + cfg.cul_weight * cul
            parts.update(cparts)
        return loss, parts


def _dist_setup(device: str):
    """(rank, world size, torch device) for this process; joins the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    # auto: CUDA under torchrun when available; one plain process stays on the CPU, as before #15
    use_cuda = (world > 1 and torch.cuda.is_available()) if device == "auto" else device == "cuda"
    if world <= 1:
        return 0, 1, torch.device("cuda" if use_cuda else "cpu")
    import torch.distributed as dist
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", device_id=dev if use_cuda else None)
    return rank, world, dev


def stats_state(stats: Stats) -> dict:
    return {"mean": torch.tensor(stats.mean), "std": torch.tensor(stats.std),
            "prior_mean": torch.tensor(stats.prior_mean), "prior_std": torch.tensor(stats.prior_std),
            "pair_emb": torch.tensor(stats.pair_emb), "tpose": torch.tensor(stats.tpose),
            "pairs": [list(p) for p in stats.pairs]}


def train(cfg: TrainConfig, resume: bool = False, stop_at: int | None = None, progress: bool = True,
          device: str = "auto") -> Path:
    """Train (or resume) to ``cfg.steps``, on one process or, under torchrun, on every rank."""
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    rank, world, dev = _dist_setup(device)
    if cfg.batch % world:
        raise SystemExit(f"--batch {cfg.batch} (the global batch) must divide by the {world} processes")
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel
    lead = rank == 0  # only rank 0 writes (checkpoints, log, plot, progress)
    progress = progress and lead
    out = Path(cfg.out)
    if lead:
        out.mkdir(parents=True, exist_ok=True)
    cache = Path(cfg.cache) if cfg.cache else default_cache()
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    all_caps = [c for e in entries(cache) for c in e["captions"]]
    if world > 1 and not lead:
        dist.barrier()  # rank 0 builds the token cache (if missing) alone
    table = TokenTable(all_caps, cache)
    if world > 1 and lead:
        dist.barrier()
    data, stats = load(cache, "train", table, cfg)
    val, _ = load(cache, "val", table, cfg, stats)
    model = ARMotionMDN(stats.mean, stats.std, hidden=cfg.hidden, layers=cfg.layers).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cfg.lr_final + (1 - cfg.lr_final) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    step, log = 0, []
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, log = int(state["step"]), list(state["log"])
        if lead:
            print(f"resumed {ckpt} at step {step}", file=sys.stderr)
    elif ckpt.exists():
        raise SystemExit(f"{ckpt} exists; pass --resume to continue it or choose another --out")
    prior = (torch.tensor(stats.prior_mean, device=dev), torch.tensor(stats.prior_std, device=dev),
             torch.tensor(np.radians(canonical.MAX_ROTATION_DEG), dtype=torch.float32, device=dev))
    if lead:
        print(f"train: {len(data.vectors)} clips ({sum(len(v) for v in data.vectors) / config.FPS / 60:.1f} min), "
              f"val: {len(val.vectors)} clips; {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters; "
              f"{cfg.steps} steps" + (f"; {world} processes ({dev.type}), {cfg.batch // world} windows each"
                                      if world > 1 else ""), file=sys.stderr)
    step_loss = StepLoss(model, cfg, prior)
    if world > 1:
        step_loss = DistributedDataParallel(step_loss, device_ids=[dev.index] if dev.type == "cuda" else None)
    share = cfg.batch // world
    rows = slice(rank * share, (rank + 1) * share)
    shard = (rows.start, rows.stop, cfg.batch) if world > 1 else None

    def save() -> None:
        meta = {"config": dataclasses.asdict(cfg)}
        save_checkpoint({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                      "step": step, "log": log, "meta": meta, "stats": stats_state(stats)}, ckpt)
        plot_curves(log, out / "loss.png")
        write_atomic(out / "log.jsonl", "".join(json.dumps(r) + "\n" for r in log))

    end = min(cfg.steps, stop_at) if stop_at else cfg.steps
    t0, s0 = time.monotonic(), step
    while step < end:
        rng = np.random.default_rng([cfg.seed, step])
        gen = torch.Generator(device=dev).manual_seed(int(rng.integers(2 ** 62)))
        y, c, tok, lens, skel, pair = sample_batch(data, stats, table, cfg, rng)  # the global batch
        noise = torch.tensor(rng.standard_normal((y.shape[0], y.shape[1] - 1, y.shape[2])) * cfg.input_noise,
                             dtype=torch.float32)
        batch = [t[rows].to(dev) for t in (y, c, tok, lens, skel, pair, noise)] if world > 1 else \
            [t.to(dev) for t in (y, c, tok, lens, skel, pair, noise)]
        sb = self_block_at(cfg, step)
        loss, parts = step_loss(*batch[:6], batch[6], sb, gen, shard)
        if world > 1:  # the global batch's figures: the mean of the ranks' equal shares
            vals = torch.tensor(list(parts.values()), dtype=torch.float64, device=dev)
            dist.all_reduce(vals)
            parts = dict(zip(parts, (vals / world).tolist(), strict=True))
        rec = {"step": step + 1, "nll": parts.pop("nll"), "contact_bce": parts.pop("contact_bce"), "self_block": sb}
        rec.update(parts)
        opt.zero_grad()
        loss.backward()
        rec["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
        opt.step()
        sched.step()
        step += 1
        if lead and (step % cfg.val_every == 0 or step == cfg.steps):
            rec.update(evaluate_nll(model, val, stats, table, cfg))
            el = time.monotonic() - t0
            rec["elapsed_s"] = round(el, 1)
        log.append(rec)
        if progress and (step % 25 == 0 or step == end):
            el = time.monotonic() - t0
            eta = el / (step - s0) * (end - step)
            extra = f" val_nll {rec['val_nll']:.3f}" if "val_nll" in rec else ""
            print(f"step {step}/{cfg.steps} nll {rec['nll']:.3f} bce {rec['contact_bce']:.3f} self {sb}{extra} "
                  f"| {el / 60:.1f} min elapsed, ETA {eta / 60:.1f} min", file=sys.stderr, flush=True)
        if lead and (step % cfg.checkpoint_every == 0 or step == end):
            save()
    if world > 1:
        dist.barrier()  # every rank returns once the last checkpoint is written
        dist.destroy_process_group()
    return ckpt


@torch.no_grad()
def evaluate_nll(model, val: Data, stats: Stats, table: TokenTable, cfg: TrainConfig) -> dict:
    rng = np.random.default_rng(12345)  # the same validation windows every time
    dev = model.mean.device
    y, c, tok, lens, skel, _ = (t.to(dev) for t in sample_batch(val, stats, table, cfg, rng, batch=64))
    log_pi, mu, sigma, cl, _ = model(y[:, :-1], model.condition(tok, lens, skel))
    return {"val_nll": float(mixture_nll(log_pi, mu, sigma, y[:, 1:])),
            "val_contact_bce": float(torch.nn.functional.binary_cross_entropy_with_logits(cl, c[:, 1:]))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.train_ar", description=__doc__.splitlines()[0])
    p.add_argument("--cache", default="", help="training cache (default $HM_CACHE or ~/.cache/heritage-motion)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="full")
    p.add_argument("--no-cultural", action="store_true", help="train without L_cul (ablation)")
    add_run_arguments(p, "runs/ar", 1, "CPU threads (default 1; per process under torchrun)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: under torchrun one GPU per process (nccl) when CUDA is available, else CPU "
                        "(gloo); a plain process stays on the CPU unless --device cuda")
    a = p.parse_args(argv)
    cfg = TrainConfig(cache=a.cache, out=a.out, **PRESETS[a.preset])
    for k in ("steps", "batch", "seed", "checkpoint_every"):
        if getattr(a, k) is not None:
            cfg = dataclasses.replace(cfg, **{k: getattr(a, k)})
    if a.no_cultural:
        cfg = dataclasses.replace(cfg, cultural=False)
    torch.set_num_threads(a.threads)
    ckpt = train(cfg, resume=a.resume, stop_at=a.stop_at, device=a.device)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"checkpoint: {ckpt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
