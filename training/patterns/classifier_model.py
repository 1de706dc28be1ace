"""The pattern classifier in torch (seed 003: ViT image encoder, BERT-family text encoder,
bidirectional cross-attention fusion). numpy inference: ``motion_core/patterns/classifier.py``.

    image (64 x 64 RGB) -> convolutional stem (3x3 stride 2: 3->32, 32->64; 2x2 stride 2: 64->D)
        -> 8 x 8 = 64 patch tokens + [CLS] + learned positions -> ``depth`` pre-norm transformer blocks
        (nn.MultiheadAttention, GELU MLP) -> LayerNorm: image tokens I (N, 65, D)
    text -> MiniLM token states (frozen, 384-d, computed by the numpy encoder) -> Linear(384, D),
        preceded by a learned "no text" token that is always present: text tokens T (N, 1 + L, D)
        (an empty text is the null token alone: the image path only)
    fusion "xattn" (bidirectional): I <- I + MHA(LN(I), LN(T)) (image attends to text);
        T <- T + MHA(LN(T), LN(I)) (text attends to the updated image tokens)
    fusion "concat" (the ablation): no attention between the modalities
    head: LayerNorm([I_cls, masked mean of T]) -> Linear(2D, classes)

The stem is convolutional (an "early convolutions" ViT; plain 8x8 patches learn poorly from ~1-3 k
images). Every array is named as in the state dict; the numpy port reads the exported ``.npz``.
"""

from __future__ import annotations

import torch
from torch import nn

TEXT_DIM = 384
MEAN, STD = 0.5, 0.25


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class PatternClassifier(nn.Module):
    def __init__(self, n_classes: int, dim: int = 128, depth: int = 4, heads: int = 4, mlp: int = 256,
                 fusion: str = "xattn"):
        super().__init__()
        if fusion not in ("xattn", "concat"):
            raise ValueError(f"fusion {fusion!r}: expected xattn or concat")
        self.config = dict(n_classes=n_classes, dim=dim, depth=depth, heads=heads, mlp=mlp, fusion=fusion)
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.GELU(), nn.Conv2d(32, 64, 3, 2, 1), nn.GELU(),
                                  nn.Conv2d(64, dim, 2, 2))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 65, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim)
        self.text_proj = nn.Linear(TEXT_DIM, dim)
        self.null_text = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        if fusion == "xattn":
            self.ln_i = nn.LayerNorm(dim)
            self.ln_t = nn.LayerNorm(dim)
            self.i2t = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.ln_t2 = nn.LayerNorm(dim)
            self.ln_i2 = nn.LayerNorm(dim)
            self.t2i = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.head_ln = nn.LayerNorm(2 * dim)
        self.head = nn.Linear(2 * dim, n_classes)

    def image_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 3, 64, 64) in [0, 1] -> (N, 65, D)."""
        x = self.stem((images - MEAN) / STD).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1) + self.pos
        for b in self.blocks:
            x = b(x)
        return self.ln(x)

    def forward(self, images: torch.Tensor, text: torch.Tensor, text_pad: torch.Tensor) -> torch.Tensor:
        """images (N, 3, 64, 64) [0, 1]; text (N, L, 384) MiniLM token states; text_pad (N, L) True where
        padding (a row of all True: no text). -> logits (N, classes)."""
        n = len(images)
        img = self.image_tokens(images)
        t = torch.cat([self.null_text.expand(n, -1, -1), self.text_proj(text)], 1)
        pad = torch.cat([torch.zeros(n, 1, dtype=torch.bool, device=text_pad.device), text_pad], 1)
        if self.config["fusion"] == "xattn":
            ti = self.ln_t(t)
            img = img + self.i2t(self.ln_i(img), ti, ti, key_padding_mask=pad, need_weights=False)[0]
            ii = self.ln_i2(img)
            t = t + self.t2i(self.ln_t2(t), ii, ii, need_weights=False)[0]
        keep = (~pad).float()[..., None]
        t_mean = (t * keep).sum(1) / keep.sum(1)
        return self.head(self.head_ln(torch.cat([img[:, 0], t_mean], 1)))
