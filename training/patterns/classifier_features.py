"""The classifier's feature branch at training time (issue #14): fixed numpy descriptors
(``motion_core/patterns/features.py``) -> standardised -> multinomial logistic regression, fitted on the
training part only; its probabilities are fused with the ViT + MiniLM model's by a weighted sum of
log-probabilities whose weights are fitted on the validation part (``fit_fusion``).

Training copies: the eight flips/quarter turns of each training image (crests are drawn to be seen
from any side; batik and decor motifs repeat under flips); test time averages the log-probabilities
over the same eight (``TTA``). The numpy runtime (``motion_core.patterns.classifier``) computes the
same features and the same linear map.
"""

from __future__ import annotations

import numpy as np

from motion_core.patterns.features import dihedral, features

TTA = 8


def dihedral_features(images: np.ndarray, blocks: list[str], views: int = TTA, batch: int = 256) -> np.ndarray:
    """(N, 64, 64, 3) uint8 or float [0, 1] -> (views, N, d) features of each flip/quarter turn."""
    x = np.asarray(images)
    x = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
    out = []
    for k in range(views):
        out.append(np.concatenate([features(dihedral(x[s:s + batch], k), blocks) for s in range(0, len(x), batch)]))
    return np.stack(out)


def fit_logreg(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float, iters: int = 200,
               sample_weight: np.ndarray | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Multinomial logistic regression on standardised x (N, d): minimise mean weighted cross-entropy
    + l2/2 |W|^2 by L-BFGS (torch, one thread). Returns (mean (d,), scale (d,), W (C, d), b (C,)), to
    be applied as ((x - mean) / scale) @ W.T + b."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    mean = x.mean(0)
    scale = x.std(0) + 1e-3
    xt = torch.from_numpy(((x - mean) / scale).astype(np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    sw = torch.ones(len(y)) if sample_weight is None else torch.from_numpy(sample_weight.astype(np.float32))
    sw = sw / sw.mean()
    w = torch.zeros(n_classes, x.shape[1], requires_grad=True)
    b = torch.zeros(n_classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=iters, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (torch.nn.functional.cross_entropy(xt @ w.T + b, yt, reduction="none") * sw).mean() \
            + 0.5 * l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return (mean.astype(np.float32), scale.astype(np.float32), w.detach().numpy().astype(np.float32),
            b.detach().numpy().astype(np.float32))


def logreg_logprob(f: np.ndarray, mean: np.ndarray, scale: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """f (V, N, d) or (N, d) -> (N, C) log-probabilities averaged over the views (test-time averaging)."""
    f = f if f.ndim == 3 else f[None]
    return log_softmax(((f - mean) / scale) @ w.T + b).mean(0)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def nll(z: np.ndarray, y: np.ndarray) -> float:
    return float(-log_softmax(z)[np.arange(len(y)), y].mean())


def fit_fusion(lp_feat: np.ndarray, z_vit: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Weights (a, b) of the fused logits a * log p_features + b * z_vit minimising held-out NLL
    (grid; a in [0, 3], b in [0, 3]); a also acts as the temperature of the feature branch."""
    best = (np.inf, 1.0, 0.0)
    for a in np.linspace(0, 3, 31):
        for b in np.linspace(0, 3, 31):
            if a == 0 and b == 0:
                continue
            v = nll(a * lp_feat + b * z_vit, y)
            if v < best[0]:
                best = (v, float(a), float(b))
    return best[1], best[2]


# ------------------------------------------------------------------ the shipped branch: neighbours

BLOCKS = ["hog", "hog16", "polar", "lbp", "colour"]  # chosen on the kamon validation part (docs/classifier.md)
K, TAU, PCA_DIM = 5, 0.1, 256


def fit_neighbour_branch(images: np.ndarray, y: np.ndarray, n_classes: int, blocks: list[str] | None = None,
                         k: int = K, tau: float = TAU, pca_dim: int = PCA_DIM) -> tuple[dict[str, np.ndarray], dict]:
    """The feature branch from training images (N, 64, 64, 3) uint8 and labels: standardisation and PCA
    over all eight flips/turns of every image, the bank of their unit projections. Returns (arrays for
    the npz, without the ``feat.`` prefix; meta). The bank and projection are stored as float16 (size);
    ``NeighbourBranch`` reads them back as float32, so evaluate through it (``branch_from``)."""
    blocks = list(blocks or BLOCKS)
    f = dihedral_features(images, blocks)  # (V, N, d)
    v, n, d = f.shape
    x = f.reshape(v * n, d).astype(np.float64)
    mean = x.mean(0)
    scale = x.std(0) + 1e-3
    xs = (x - mean) / scale
    evals, evecs = np.linalg.eigh(xs.T @ xs / len(xs))
    p = min(pca_dim, d, len(xs))
    proj = evecs[:, ::-1][:, :p]
    z = xs @ proj
    bank = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-8)
    arrays = {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32), "proj": proj.astype(np.float16),
              "bank": bank.astype(np.float16), "bank_labels": np.tile(np.asarray(y), v).astype(np.int16)}
    explained = float(evals[::-1][:p].sum() / max(evals.sum(), 1e-12))
    meta = {"blocks": blocks, "k": int(k), "tau": float(tau), "views": TTA, "pca_dim": int(p), "dim": int(d),
            "bank_images": int(n), "pca_variance_explained": round(explained, 4),
            "kind": "cosine k-nearest training images (8 flips/turns each) on standardised, PCA-projected "
                    "HOG / polar-Fourier / LBP / colour descriptors (motion_core/patterns/features.py)"}
    return arrays, meta


def branch_from(arrays: dict[str, np.ndarray], meta: dict, n_classes: int):
    from motion_core.patterns.features import NeighbourBranch

    return NeighbourBranch(arrays, meta["blocks"], n_classes, meta["k"], meta["tau"], meta["views"])


def branch_log_probs(branch, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """(N, 64, 64, 3) uint8 -> (N, C) the branch's log-probabilities (the runtime's computation)."""
    out = [branch.log_probs(images[s:s + batch].astype(np.float32) / 255) for s in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0, branch.n_classes), np.float32)
