"""The pattern GAN in torch (seed 001 section 3.3), run in numpy by motion_core/patterns/variants.py
and animate.py from the exported state dicts.

- ``Generator`` (seed 001 Table 2): [z (100), condition (128)] -> Dense + Reshape 4x4x512, ReLU ->
  ConvT 4x4 s2 p1 to 8x8x256, 16x16x128 (BN + ReLU each) -> self-attention (eq. 13, SAGAN residual)
  on the mid-level 16x16x128 features -> ConvT to 32x32x64 (BN + ReLU) -> ConvT to 64x64x3, Tanh.
- ``Discriminator`` (seed 001 Table 3): conv 4x4 s2 p1 to 32x32x64, 16x16x128, 8x8x256, 4x4x512,
  LeakyReLU 0.2, self-attention after 16x16x128, Flatten + Dense -> logit (sigmoid in the loss, eq. 8).
  Spectral normalisation on every layer in place of Table 3's BN (product choice: SN bounds D's
  Lipschitz constant and, unlike BN, does not mix the statistics of the real and fake halves).
  Conditioning by projection (Miyato & Koyama 2018): logit = w . h + <embed(c), h>.
- The condition is a 128-d unit vector in the pattern encoder's visual space (phi, seed 002 eq. 3):
  a training image's own embedding, a motif class's mean embedding or a bank prototype.
- ``TrajectoryNet``: per frame [driver energy e_t, noise n_t (16), a projection of (z0, c)] ->
  LSTM (128) -> a direction v_t = tanh(W h_t); z_t = |z0| normalise(z_{t-1} + ANIM_Z_STEP |z0| e_t
  v_t / |v_t|): the latent walks on the sphere of z0's radius, by steps whose length is the driver's
  (still when it is still); the network and the temporal D decide the direction.
- ``TemporalDiscriminator`` (seed 001 section 3.3.4): per frame [the change of the frozen pattern
  encoder's pooled features, the mean absolute pixel change and second difference, e_t] -> BiLSTM (64 per direction)
  -> mean over time -> logit. It sees changes only, so it judges the dynamics given the driver,
  not the look of single frames (the image discriminator does that).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm as sn

from motion_core import config


class SelfAttention(nn.Module):
    """Seed 001 eq. 13: Q, K, V by 1x1 convolutions, A = softmax(Q K^T / sqrt(d_k)), out = x + gamma A V
    (gamma starts at 0, SAGAN). Mirrors motion_core.patterns.layers.self_attention."""

    def __init__(self, c: int, spectral: bool = False):
        super().__init__()
        wrap = sn if spectral else (lambda m: m)
        self.q = wrap(nn.Conv2d(c, c // 8, 1))
        self.k = wrap(nn.Conv2d(c, c // 8, 1))
        self.v = wrap(nn.Conv2d(c, c, 1))
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.q(x).flatten(2).transpose(1, 2)
        k = self.k(x).flatten(2).transpose(1, 2)
        v = self.v(x).flatten(2).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)
        return x + self.gamma * (a @ v).transpose(1, 2).reshape(n, c, h, w)


class Generator(nn.Module):
    def __init__(self, z_dim: int = config.GAN_Z_DIM, c_dim: int = config.GAN_COND_DIM,
                 ch: tuple[int, ...] = config.GAN_G_CHANNELS):
        super().__init__()
        self.ch0 = ch[0]
        self.fc = nn.Linear(z_dim + c_dim, 4 * 4 * ch[0])
        self.up = nn.ModuleList(nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 2, 1) for i in range(len(ch) - 1))
        self.bn = nn.ModuleList(nn.BatchNorm2d(ch[i + 1]) for i in range(len(ch) - 1))
        self.attn = SelfAttention(ch[config.GAN_G_ATTN_AFTER + 1])
        self.out = nn.ConvTranspose2d(ch[-1], 3, 4, 2, 1)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """z (N, 100), c (N, 128) -> images (N, 3, 64, 64) in [-1, 1]."""
        h = F.relu(self.fc(torch.cat([z, c], 1))).view(-1, self.ch0, 4, 4)
        for i, (up, bn) in enumerate(zip(self.up, self.bn, strict=True)):
            h = F.relu(bn(up(h)))
            if i == config.GAN_G_ATTN_AFTER:
                h = self.attn(h)
        return torch.tanh(self.out(h))


class Discriminator(nn.Module):
    def __init__(self, c_dim: int = config.GAN_COND_DIM, ch: tuple[int, ...] = config.GAN_D_CHANNELS):
        super().__init__()
        chans = (3, *ch)
        self.convs = nn.ModuleList(sn(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1)) for i in range(len(ch)))
        self.attn = SelfAttention(ch[config.GAN_D_ATTN_AFTER], spectral=True)
        flat = ch[-1] * 4 * 4
        self.fc = sn(nn.Linear(flat, 1))
        self.embed = sn(nn.Linear(c_dim, flat, bias=False))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x (N, 3, 64, 64) in [-1, 1], c (N, 128) -> logits (N,)."""
        h = x
        for i, conv in enumerate(self.convs):
            h = F.leaky_relu(conv(h), config.GAN_LEAKY_SLOPE)
            if i == config.GAN_D_ATTN_AFTER:
                h = self.attn(h)
        h = h.flatten(1)
        return self.fc(h)[:, 0] + (self.embed(c) * h).sum(1)


class TrajectoryNet(nn.Module):
    def __init__(self, z_dim: int = config.GAN_Z_DIM, c_dim: int = config.GAN_COND_DIM,
                 noise: int = config.ANIM_NOISE_DIM, hidden: int = config.ANIM_HIDDEN, static: int = 32):
        super().__init__()
        self.static = nn.Linear(z_dim + c_dim, static)
        self.lstm = nn.LSTM(1 + noise + static, hidden, batch_first=True)
        self.head = nn.Linear(hidden, z_dim)

    def forward(self, e: torch.Tensor, n: torch.Tensor, z0: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """e (B, T) driver energy in [0, 1], n (B, T, 16) per-frame noise, z0 (B, 100), c (B, 128)
        -> z (B, T, 100): z_t = |z0| normalise(z_{t-1} + ANIM_Z_STEP |z0| e_t v_t / |v_t|),
        v_t = tanh(W h_t): a walk on the sphere of z0's radius (the prior's typical set) whose step
        length is set by the driver alone; the network chooses the direction."""
        s = torch.tanh(self.static(torch.cat([z0, c], 1)))[:, None].expand(-1, e.shape[1], -1)
        h, _ = self.lstm(torch.cat([e[..., None], n, s], 2))
        v = torch.tanh(self.head(h))
        r = z0.norm(dim=1, keepdim=True)
        z, out = z0, []
        for t in range(e.shape[1]):
            step = config.ANIM_Z_STEP * r * e[:, t, None] * F.normalize(v[:, t], dim=1)
            z = F.normalize(z + step, dim=1) * r
            out.append(z)
        return torch.stack(out, 1)


class TemporalDiscriminator(nn.Module):
    def __init__(self, feat: int = 128, hidden: int = 64):
        super().__init__()
        self.lstm = nn.LSTM(feat + 3, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, 1)

    def forward(self, feats: torch.Tensor, frames: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """feats (B, T, 128) per-frame features, frames (B, T, 3, 64, 64), e (B, T) -> logits (B,).
        Per frame it sees the feature change, the mean absolute pixel change and the mean absolute
        pixel *second* difference (a change of direction: the jitter that makes a texture shimmer),
        so smoothness is something it can judge directly, not only learn to derive."""
        df = torch.diff(feats, dim=1, prepend=feats[:, :1])
        d1 = torch.diff(frames, dim=1, prepend=frames[:, :1])
        dx = d1.abs().mean((2, 3, 4))
        d2 = torch.diff(d1, dim=1, prepend=d1[:, :1]).abs().mean((2, 3, 4))
        h, _ = self.lstm(torch.cat([df * 10.0, dx[..., None] * 10.0, d2[..., None] * 10.0, e[..., None]], 2))
        return self.fc(h.mean(1))[:, 0]


def recalibrate_bn(g: Generator, conds: torch.Tensor, z_dim: int = config.GAN_Z_DIM, batches: int = 40,
                   batch: int = 64, seed: int = 0) -> None:
    """Running BN statistics as the exact average over ``batches`` batches of generated inputs
    (momentum None), so inference (eval mode, numpy) sees the statistics of the final weights."""
    gen = torch.Generator().manual_seed(seed)
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    g.train()
    with torch.no_grad():
        for _ in range(batches):
            idx = torch.randint(len(conds), (batch,), generator=gen)
            g(torch.randn(batch, z_dim, generator=gen), conds[idx])
    g.eval()


def generator_state(g: Generator) -> dict[str, torch.Tensor]:
    return {f"g.{k}": v for k, v in g.state_dict().items() if not k.endswith("num_batches_tracked")}
