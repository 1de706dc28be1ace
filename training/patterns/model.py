"""The pattern encoder in torch (mirrors motion_core/patterns/encoder.py, which runs it in numpy),
and the seed's two losses (seed 002 eqs. 3 and 4)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from motion_core import config
from motion_core.patterns.encoder import CHANNELS, HIDDEN, MEAN, SEM_DIM, STD, VIS_DIM


class PatternNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(CHANNELS[i], CHANNELS[i + 1], 3, stride=2, padding=1)
                                   for i in range(len(CHANNELS) - 1))
        self.phi = nn.Sequential(nn.Linear(CHANNELS[-1], HIDDEN), nn.ELU(), nn.Linear(HIDDEN, VIS_DIM))
        self.psi = nn.Sequential(nn.Linear(CHANNELS[-1], HIDDEN), nn.ELU(), nn.Linear(HIDDEN, SEM_DIM))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 64, 64, 3) float in [0, 1] -> (visual (N, 128), semantic (N, 384)), unit vectors."""
        h = (x.permute(0, 3, 1, 2) - MEAN) / STD
        for conv in self.convs:
            h = F.elu(conv(h))
        h = h.mean(dim=(2, 3))
        return F.normalize(self.phi(h), dim=-1), F.normalize(self.psi(h), dim=-1)


def loss_vis(f: torch.Tensor, pos: torch.Tensor, gamma: float = config.GAMMA_TEMPERATURE) -> torch.Tensor:
    """Seed 002 eq. 3, per anchor: -log( sum_{i in P} exp(f.v_i / gamma) / sum_{j in N} exp(f.v_j / gamma) ),
    with the batch's other embeddings as the memory v; ``pos`` (B, B) bool marks P (self excluded),
    N is every other entry. Averaged over anchors that have a positive."""
    sim = f @ f.T / gamma
    eye = torch.eye(len(f), dtype=torch.bool, device=f.device)
    pos = pos & ~eye
    neg = ~pos & ~eye
    lp = torch.logsumexp(sim.masked_fill(~pos, -1e9), dim=1)
    ln = torch.logsumexp(sim.masked_fill(~neg, -1e9), dim=1)
    has = pos.any(1) & neg.any(1)
    return (ln - lp)[has].mean()


def loss_sem(s: torch.Tensor, label: torch.Tensor, concepts: torch.Tensor, margin: torch.Tensor) -> torch.Tensor:
    """Seed 002 eq. 4: max(0, delta + d(s_a, s_p) - d(s_a, s_n)), d the squared Euclidean distance
    between unit vectors (2 - 2 cos, in [0, 4], as in FaceNet's triplet loss; with the plain distance,
    in [0, 2], a margin of 1.2 cannot be met by captions closer than 1.2 to each other). Anchor: the
    image's semantic embedding; positive: its class's caption embedding; negative: the hardest other
    class's caption. ``margin`` (K,): 1.2 sacred / 0.8 decorative (config)."""
    d = 2 - 2 * s @ concepts.T  # (B, K)
    dp = d.gather(1, label[:, None])[:, 0]
    dn = d.masked_fill(F.one_hot(label, len(concepts)).bool(), 1e9).min(1).values
    return F.relu(margin[label] + dp - dn).mean()
