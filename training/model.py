"""The text-conditioned MDN-BiLSTM of seed 002 section 4 (eq. 7), in torch.

    x_t = [W_text e_text (256) ; W_skel s (128) ; phase(t)]  ->  BiLSTM  ->  K = 5 diagonal Gaussians

* ``e_text``: the 384-d all-MiniLM-L6-v2 sentence embedding, projected to 256 (seed: "256-dim text
  embedding"); ``s``: the target skeleton's canonical T-pose (21 x 3, divided by leg length) projected
  to 128 (seed: "128-dim reference skeleton features", its bone-scale adjustment).
* ``phase(t)``: sin/cos at PHASE_PERIODS_S with a random offset, a product choice so that any length
  from 1 to 60 s runs on a model trained on windows of a few seconds.
* The mixture weights pi are per sequence (from the time-pooled BiLSTM state), so each component is a
  whole-sequence variant and sampling keeps one component throughout (no frame-to-frame switching).
* Outputs are normalised pose vectors (:mod:`motion_core.pose_vector`); sigma = floor + softplus(.),
  with the seed's per-joint floors.

``motion_core.mdn`` runs the same network in numpy; the tests check both agree.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from motion_core import config
from motion_core.models import pose_vector as pv
from motion_core.skeleton import canonical

TEXT_IN = 384
SKEL_IN = len(canonical.JOINTS) * 3
PHASE_DIM = 2 * len(config.PHASE_PERIODS_S)


def sigma_floors() -> np.ndarray:
    """(130,) per-dimension std floors in raw units (see motion_core.config)."""
    out = np.full(pv.DIM, config.SIGMA_FLOOR_DEFAULT)
    for j, name in enumerate(canonical.JOINTS):
        if name in canonical.TIGHT_JOINTS:
            out[j * 6:(j + 1) * 6] = config.SIGMA_FLOOR_TIGHT
        elif name in canonical.LOOSE_JOINTS:
            out[j * 6:(j + 1) * 6] = config.SIGMA_FLOOR_LOOSE
    out[pv.ROT_DIMS:] = config.SIGMA_FLOOR_ROOT
    return out


def phase_features(t: int, offset_s: torch.Tensor, fps: float = config.FPS) -> torch.Tensor:
    """(B,) offsets in seconds -> (B, T, PHASE_DIM)."""
    time = torch.arange(t, dtype=torch.float32, device=offset_s.device)[None] / fps + offset_s[:, None]
    feats = []
    for period in config.PHASE_PERIODS_S:
        ang = 2 * math.pi * time / period
        feats += [torch.sin(ang), torch.cos(ang)]
    return torch.stack(feats, -1)


class MotionMDN(nn.Module):
    def __init__(self, mean: np.ndarray, std: np.ndarray, k: int = config.MDN_COMPONENTS,
                 hidden: int = config.LSTM_HIDDEN, layers: int = config.LSTM_LAYERS):
        super().__init__()
        self.k, self.d = k, pv.DIM
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("floor", torch.tensor(sigma_floors() / std, dtype=torch.float32).clamp_min(1e-3))
        self.text_proj = nn.Linear(TEXT_IN, config.TEXT_EMBED_DIM)
        self.skel_proj = nn.Linear(SKEL_IN, config.SKELETON_FEATURE_DIM)
        self.lstm = nn.LSTM(config.TEXT_EMBED_DIM + config.SKELETON_FEATURE_DIM + PHASE_DIM, hidden, layers,
                            batch_first=True, bidirectional=True)
        self.mu = nn.Linear(2 * hidden, k * self.d)
        self.log_sigma = nn.Linear(2 * hidden, k * self.d)
        self.pi = nn.Linear(2 * hidden, k)

    def forward(self, text: torch.Tensor, skel: torch.Tensor, phase: torch.Tensor):
        """text (B, 384), skel (B, 63), phase (B, T, PHASE_DIM) ->
        log_pi (B, K), mu (B, T, K, D), sigma (B, T, K, D) in normalised units."""
        b, t, _ = phase.shape
        cond = torch.cat([self.text_proj(text), self.skel_proj(skel)], -1)
        h, _ = self.lstm(torch.cat([cond[:, None].expand(b, t, cond.shape[-1]), phase], -1))
        mu = self.mu(h).view(b, t, self.k, self.d)
        sigma = self.floor + nn.functional.softplus(self.log_sigma(h).view(b, t, self.k, self.d))
        log_pi = torch.log_softmax(self.pi(h.mean(1)), -1)
        return log_pi, mu, sigma


def mixture_nll(log_pi, mu, sigma, y, mask=None) -> torch.Tensor:
    """Negative log-likelihood per frame and dimension of whole sequences ``y`` (B, T, D) under the
    sequence-level mixture. ``mask`` (B, T) marks real frames."""
    z = (y[:, :, None] - mu) / sigma
    logp = -0.5 * (z * z + 2 * torch.log(sigma) + math.log(2 * math.pi)).sum(-1)  # (B, T, K)
    if mask is not None:
        logp = logp * mask[..., None]
    seq = torch.logsumexp(log_pi + logp.sum(1), -1)  # (B,)
    frames = mask.sum() if mask is not None else torch.tensor(float(y.shape[0] * y.shape[1]))
    return -seq.sum() / (frames * y.shape[-1])
