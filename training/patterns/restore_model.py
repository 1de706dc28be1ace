"""The restoration GAN in torch (seed 001 section 3.3 adapted to image-to-image; mirrored in numpy by
motion_core/patterns/restore.py, which runs the generator inside Blender).

Generator: a U-Net (pix2pix-style) built from seed 001's blocks.
- Input, 5 channels at (H, W): the damaged RGB scaled to [-1, 1], the damage mask (1 = damaged, 0
  elsewhere or unknown) and a constant plane "mask given" (1 when the mask is given, 0 when not). The
  mask is given to half of the training views and withheld from the other half, so one network runs
  both ways; the constant plane tells it whether a 0 in the mask plane means "clean" or "unknown".
- Encoder: four 4x4 convolutions, stride 2, padding 1 (Table 3's kernel, stride and padding), BN
  after all but the first, LeakyReLU 0.2 (eq. 11). Channels 32, 64, 128, 128: modest, so that the
  shipped run fits 45 minutes on one CPU thread.
- Self-attention (eq. 13, SAGAN residual with a learnt gamma starting at 0) after the third encoder
  block (mid-level features, 1/8 resolution).
- Decoder: 4x4 transposed convolutions, stride 2, padding 1 (Table 2), BN + ReLU (Table 2), with
  U-Net skips from the encoder at each scale: restoration keeps most of the image, and the skips
  carry its detail past the bottleneck (without them a 4-level encoder-decoder returns a blurred
  image and SSIM suffers; the seed generates from noise, where no skip exists to take).
- Output: a 3x3 convolution over the last decoder features and the input itself, added to
  atanh(input RGB), then Tanh (Table 2's output activation), in [-1, 1]: a residual in front of the
  Tanh, so the untrained network starts at the identity (most of a worn print is intact) and learns
  the correction.
Fully convolutional: trained on crops, runs on any size that is a multiple of 16 (the runtime pads).

Discriminator: a conditional patch discriminator (pix2pix) on the damaged input and the candidate
(8 channels): Table 3's 4x4 stride-2 convolutions with LeakyReLU 0.2, channels 32, 64, 128, spectral
normalisation on every convolution instead of Table 3's BN (SAGAN practice: the spectral norm
already bounds each layer), self-attention (eq. 13) at 1/8 resolution, then a 4x4 convolution to
one logit per patch instead of Table 3's Flatten + Dense (so it works on crops of any size); the
sigmoid of eq. 12 is inside the BCE-with-logits loss. Trained only; not shipped.

Losses: seed 001 eq. 8 (the non-saturating BCE adversarial loss) + L1 + (1 - SSIM) reconstruction,
weights in motion_core/config.py (RESTORE_*).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

ENC = (32, 64, 128, 128)  # encoder channels (mirrored in motion_core/patterns/restore.py)
IN_CH = 5  # RGB, mask, mask-given
MULTIPLE = 2 ** len(ENC)  # the input side must be a multiple of this
ATANH_CLIP = 0.995  # the input is clipped to this before atanh (|atanh| <= 3.0)


class SelfAttention(nn.Module):
    """Seed 001 eq. 13: Q, K, V by 1x1 convolutions, A = softmax(Q K^T / sqrt(d_k)), out = x + gamma A V."""

    def __init__(self, c: int, sn: bool = False):
        super().__init__()
        wrap = nn.utils.spectral_norm if sn else (lambda m: m)
        self.q = wrap(nn.Conv2d(c, max(c // 8, 4), 1))
        self.k = wrap(nn.Conv2d(c, max(c // 8, 4), 1))
        self.v = wrap(nn.Conv2d(c, c, 1))
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.q(x).flatten(2).transpose(1, 2)  # (N, HW, d)
        k = self.k(x).flatten(2).transpose(1, 2)
        v = self.v(x).flatten(2).transpose(1, 2)  # (N, HW, C)
        a = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)
        return x + self.gamma * (a @ v).transpose(1, 2).reshape(n, c, h, w)


class Generator(nn.Module):
    def __init__(self, enc: tuple[int, ...] = ENC):
        super().__init__()
        self.enc = nn.ModuleList()
        cin = IN_CH
        for i, c in enumerate(enc):
            layers: list[nn.Module] = [nn.Conv2d(cin, c, 4, 2, 1, bias=i == 0)]
            if i > 0:
                layers.append(nn.BatchNorm2d(c))
            self.enc.append(nn.Sequential(*layers))
            cin = c
        self.attn = SelfAttention(enc[2])
        self.dec = nn.ModuleList()
        outs = (*enc[:-1][::-1], 16)  # 128, 64, 32, 16
        skips = (*enc[:-1][::-1], 0)
        cin = enc[-1]
        for c, s in zip(outs, skips, strict=True):
            self.dec.append(nn.Sequential(nn.ConvTranspose2d(cin, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c)))
            cin = c + s
        self.out = nn.Conv2d(outs[-1] + IN_CH, 3, 3, 1, 1)
        with torch.no_grad():  # start near the identity (see forward)
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 5, H, W): RGB in [-1, 1], mask, mask-given; H, W multiples of 16 -> (N, 3, H, W) in [-1, 1]."""
        feats = []
        h = x
        for i, block in enumerate(self.enc):
            h = F.leaky_relu(block(h), 0.2)
            if i == 2:
                h = self.attn(h)
            feats.append(h)
        for j, block in enumerate(self.dec):
            h = F.relu(block(h))
            if j < len(self.dec) - 1:
                h = torch.cat([h, feats[-2 - j]], 1)
        # residual before the Tanh: with a zero correction the output is the damaged input itself
        base = torch.atanh(x[:, :3].clamp(-ATANH_CLIP, ATANH_CLIP))
        return torch.tanh(base + self.out(torch.cat([h, x], 1)))


class Discriminator(nn.Module):
    def __init__(self, chans: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.convs = nn.ModuleList()
        cin = IN_CH + 3
        for c in chans:
            self.convs.append(sn(nn.Conv2d(cin, c, 4, 2, 1)))
            cin = c
        self.attn = SelfAttention(chans[-1], sn=True)
        self.head = sn(nn.Conv2d(cin, 1, 4, 1, 1))

    def forward(self, cond: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        """cond (N, 5, H, W), img (N, 3, H, W) in [-1, 1] -> patch logits (N, 1, H/8 - 1, W/8 - 1)."""
        h = torch.cat([cond, img], 1)
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        return self.head(self.attn(h))


def make_input(damaged: torch.Tensor, mask: torch.Tensor | None, given: torch.Tensor | None = None) -> torch.Tensor:
    """damaged (N, 3, H, W) in [0, 1], mask (N, 1, H, W) in {0, 1} or None, given (N,) bool (which rows
    see their mask; default all when a mask is passed) -> the generator's (N, 5, H, W) input."""
    n, _, h, w = damaged.shape
    if mask is None:
        m = damaged.new_zeros(n, 1, h, w)
        g = damaged.new_zeros(n, 1, 1, 1)
    else:
        g = (given if given is not None else torch.ones(n, dtype=torch.bool)).float().view(n, 1, 1, 1)
        m = mask.float() * g
    return torch.cat([damaged * 2 - 1, m, g.expand(n, 1, h, w)], 1)


def _gauss(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, data range 1)
    of (N, 3, H, W) images in [0, 1], per channel, valid region only."""
    g = _gauss().to(a)
    c = a.shape[1]
    wx = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    wy = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, wx, groups=c), wy, groups=c)

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a ** 2
    sbb = blur(b * b) - mu_b ** 2
    sab = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return s.mean()
