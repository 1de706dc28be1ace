"""The pattern image encoder in numpy (inference only; trained by ``training/patterns/train.py``).

    image (64 x 64 RGB) -> 3 conv layers (3x3, stride 2, ELU) -> mean pool (128)
        -> phi: 128 -> 512 (ELU) -> 128, L2-normalised: the visual embedding f (seed 002 eq. 3)
        -> psi: 128 -> 512 (ELU) -> 384, L2-normalised: the semantic embedding s, in the MiniLM
           caption space (seed 002 eq. 4)

phi and psi are the seed's two independent two-layer MLPs with 512 hidden units and ELU. The
weights are an ``.npz`` whose arrays are named as the torch state dict (``training/patterns/model.py``);
``tests/test_patterns.py`` checks this forward pass against torch's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 64
CHANNELS = (3, 32, 64, 128)
VIS_DIM, SEM_DIM, HIDDEN = 128, 384, 512
MEAN, STD = 0.5, 0.25  # input normalisation (product choice)


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 2, pad: int = 1) -> np.ndarray:
    """x (N, C, H, W), w (O, C, 3, 3) -> (N, O, H', W') by im2col and one matmul."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # numpy 1.26 stub: axis is typed as one index, a tuple is valid (numpy docs)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]  # type: ignore[call-overload]
    ho, wo = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
    out = cols @ w.reshape(o, -1).T + b
    return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)


def l2n(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


class PatternEncoder:
    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}

    def features(self, images: np.ndarray, batch: int = 64) -> np.ndarray:
        """images (N, 64, 64, 3) uint8 or float in [0, 1] -> pooled conv features (N, 128)."""
        x = np.asarray(images)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != (SIZE, SIZE, 3):
            raise ValueError(f"expected (N, {SIZE}, {SIZE}, 3) images, got {x.shape}")
        x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        out = []
        for i in range(0, len(x), batch):
            h = (x[i:i + batch].transpose(0, 3, 1, 2) - MEAN) / STD
            for j in range(len(CHANNELS) - 1):
                h = elu(conv2d(h, self.w[f"convs.{j}.weight"], self.w[f"convs.{j}.bias"]))
            out.append(h.mean(axis=(2, 3)))
        return np.concatenate(out) if out else np.zeros((0, CHANNELS[-1]), np.float32)

    def _mlp(self, name: str, h: np.ndarray) -> np.ndarray:
        h = elu(h @ self.w[f"{name}.0.weight"].T + self.w[f"{name}.0.bias"])
        return l2n(h @ self.w[f"{name}.2.weight"].T + self.w[f"{name}.2.bias"])

    def encode(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(visual (N, 128), semantic (N, 384)) unit vectors."""
        h = self.features(images)
        return self._mlp("phi", h), self._mlp("psi", h)


def load_encoder(path: str | Path) -> PatternEncoder:
    z = np.load(path, allow_pickle=False)
    return PatternEncoder({k: z[k] for k in z.files if not k.startswith("meta_")})
