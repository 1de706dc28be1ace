"""Hand-made image descriptors of the pattern classifier's feature branch (issue #14), numpy only.

The classifier's ViT is trained from scratch on a few hundred 64-px images and learns little; these
fixed descriptors, with a linear (logistic regression) head fitted on the same training images
(``training/patterns/train_classifier.py``), carry most of the image evidence. Every block works on
a (N, 64, 64, 3) float image in [0, 1] (``classifier.prepare``'s output) and returns (N, d) float32:

- ``hog``: histograms of oriented gradients on the grey image (Dalal & Triggs 2005): 9 unsigned
  orientation bins (soft-assigned), 8 x 8 px cells, 2 x 2-cell blocks, L2-Hys normalised: 7*7*36 = 1764.
- ``hog16``: the same with 16 x 16 px cells: 3*3*36 = 324.
- ``polar``: rotation-tolerant crest descriptors about the image centre (crests are round and their
  charges repeat 3/4/5/6/8-fold): the grey level and the gradient magnitude sampled on 12 rings x 64
  angles, the magnitude of their Fourier transform along the angle (harmonics 0-16; unchanged by a
  rotation about the centre), and per ring a histogram (8 bins) of the gradient direction *relative to
  the radius* (also rotation-invariant): 12*17*2 + 12*8 = 504.
- ``lbp``: local binary patterns (8 neighbours at radius 1 and 2, rotation-invariant uniform codes,
  10 bins each) over the whole image and the 2 x 2 quadrants: 2*10*5 = 100.
- ``colour``: hue histogram (12 bins, weighted by saturation), saturation and value histograms (6 each),
  grey mean/std: 26.

``dihedral(images, k)`` gives the eight flips/quarter turns used for training copies and test-time
averaging. ``FEATURE_BLOCKS`` lists the blocks; a weights file names the ones its head uses.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SIZE = 64
RINGS, ANGLES, HARMONICS = 12, 64, 17


def grey(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) float [0, 1] -> (N, H, W) float32 luma (Rec. 601 weights)."""
    x = np.asarray(images, np.float32)
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def gradients(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) -> (gx, gy) central differences with replicated edges, each (N, H, W)."""
    p = np.pad(g, ((0, 0), (1, 1), (1, 1)), mode="edge")
    return (p[:, 1:-1, 2:] - p[:, 1:-1, :-2]) * 0.5, (p[:, 2:, 1:-1] - p[:, :-2, 1:-1]) * 0.5


def _orientation_histograms(mag: np.ndarray, ang: np.ndarray, cell: int, bins: int = 9) -> np.ndarray:
    """mag, ang (N, H, W) (ang in [0, pi)) -> (N, H/cell, W/cell, bins) soft-binned cell histograms."""
    n, h, w = mag.shape
    pos = ang / np.pi * bins - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = (pos - lo).astype(np.float32)
    hc, wc = h // cell, w // cell
    ny, nx = np.meshgrid(np.arange(h) // cell, np.arange(w) // cell, indexing="ij")
    base = ((np.arange(n)[:, None, None] * hc + ny) * wc + nx) * bins  # (N, H, W) first bin of the pixel's cell
    size = n * hc * wc * bins
    hist = np.bincount((base + lo % bins).ravel(), (mag * (1 - frac)).ravel(), size) \
        + np.bincount((base + (lo + 1) % bins).ravel(), (mag * frac).ravel(), size)
    return hist.reshape(n, hc, wc, bins).astype(np.float32)


def cell_histograms(images: np.ndarray, cell: int = 8) -> np.ndarray:
    """(N, 64, 64, 3) -> (N, 64/cell, 64/cell, 9) gradient-orientation histograms of the grey image."""
    gx, gy = gradients(grey(images))
    return _orientation_histograms(np.hypot(gx, gy), np.mod(np.arctan2(gy, gx), np.pi), cell)


def hog(images: np.ndarray, cell: int = 8, cells: np.ndarray | None = None) -> np.ndarray:
    """(N, 64, 64, 3) -> (N, (64/cell - 1)^2 * 36) HOG, 2 x 2-cell blocks, L2-Hys (clip 0.2). ``cells``:
    the 8-px cell histograms of the same images when already computed (a 16-px cell sums 2 x 2 of them)."""
    if cells is not None and cell % 8 == 0:
        r = cell // 8
        n, h, w, b = cells.shape
        ch = cells.reshape(n, h // r, r, w // r, r, b).sum((2, 4))
    else:
        ch = cell_histograms(images, cell)
    blocks = np.concatenate([ch[:, :-1, :-1], ch[:, 1:, :-1], ch[:, :-1, 1:], ch[:, 1:, 1:]], -1)
    n = len(blocks)
    b = blocks.reshape(n, -1, blocks.shape[-1])
    b = b / np.sqrt((b ** 2).sum(-1, keepdims=True) + 1e-6)
    b = np.minimum(b, 0.2)
    b = b / np.sqrt((b ** 2).sum(-1, keepdims=True) + 1e-6)
    return b.reshape(n, -1).astype(np.float32)


def _polar_grid(size: int = SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample coordinates (RINGS, ANGLES) y, x and the angle of each column."""
    c = (size - 1) / 2
    radii = np.linspace(2.0, c - 1.0, RINGS)
    theta = np.arange(ANGLES) * 2 * np.pi / ANGLES
    return c + radii[:, None] * np.sin(theta)[None], c + radii[:, None] * np.cos(theta)[None], theta


def _bilinear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """img (N, H, W); ys, xs (...) -> (N, ...) bilinear samples."""
    y0 = np.clip(np.floor(ys).astype(np.int64), 0, img.shape[1] - 2)
    x0 = np.clip(np.floor(xs).astype(np.int64), 0, img.shape[2] - 2)
    fy, fx = (ys - y0).astype(np.float32), (xs - x0).astype(np.float32)
    a, b = img[:, y0, x0], img[:, y0, x0 + 1]
    c, d = img[:, y0 + 1, x0], img[:, y0 + 1, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def polar(images: np.ndarray) -> np.ndarray:
    """(N, 64, 64, 3) -> (N, 504) rotation-tolerant ring descriptors (see the module docstring)."""
    g = grey(images)
    gx, gy = gradients(g)
    mag = np.hypot(gx, gy)
    ys, xs, theta = _polar_grid(g.shape[1])
    out = []
    for field in (g, mag * 4):
        s = _bilinear(field, ys, xs)  # (N, RINGS, ANGLES)
        f = np.abs(np.fft.rfft(s, axis=-1))[..., :HARMONICS] / ANGLES
        out.append(np.sqrt(f).reshape(len(g), -1))
    # gradient direction relative to the radius, per ring (rotation about the centre leaves it unchanged)
    m = _bilinear(mag, ys, xs)
    rel = np.mod(np.arctan2(_bilinear(gy, ys, xs), _bilinear(gx, ys, xs)) - theta[None, None], np.pi)
    k = np.minimum((rel / np.pi * 8).astype(np.int64), 7)
    hist = np.zeros((len(g), RINGS, 8), np.float32)
    idx_n, idx_r, _ = np.indices(k.shape)
    np.add.at(hist, (idx_n, idx_r, k), m)
    hist = hist / np.maximum(hist.sum(-1, keepdims=True), 1e-3)
    out.append(hist.reshape(len(g), -1))
    return np.concatenate(out, 1).astype(np.float32)


# rotation-invariant uniform LBP (riu2): number of set bits for uniform codes, 9 for the rest
_TRANSITIONS = np.array([bin((c ^ ((c << 1) | (c >> 7))) & 0xFF).count("1") for c in range(256)])
_RIU2 = np.where(_TRANSITIONS <= 2, np.array([bin(c).count("1") for c in range(256)]), 9)


def lbp(images: np.ndarray) -> np.ndarray:
    """(N, 64, 64, 3) -> (N, 100) riu2 LBP histograms at radius 1 and 2, whole image and quadrants."""
    g = grey(images)
    n, h, w = g.shape
    out = []
    for r in (1, 2):
        p = np.pad(g, ((0, 0), (r, r), (r, r)), mode="edge")
        code = np.zeros((n, h, w), np.int64)
        offs = [(-r, -r), (-r, 0), (-r, r), (0, r), (r, r), (r, 0), (r, -r), (0, -r)]
        for bit, (dy, dx) in enumerate(offs):
            code |= (p[:, r + dy:r + dy + h, r + dx:r + dx + w] >= g + 0.02).astype(np.int64) << bit
        u = _RIU2[code]
        regions = [u, u[:, :h // 2, :w // 2], u[:, :h // 2, w // 2:], u[:, h // 2:, :w // 2], u[:, h // 2:, w // 2:]]
        for reg in regions:
            hist = np.stack([np.bincount(x.ravel(), minlength=10) for x in reg]).astype(np.float32)
            out.append(np.sqrt(hist / hist.sum(1, keepdims=True)))
    return np.concatenate(out, 1).astype(np.float32)


def colour(images: np.ndarray) -> np.ndarray:
    """(N, 64, 64, 3) -> (N, 26): hue (12 bins, saturation-weighted), saturation (6), value (6), grey mean/std."""
    x = np.asarray(images, np.float32)
    n = len(x)
    mx, mn = x.max(-1), x.min(-1)
    sat = np.where(mx > 1e-4, (mx - mn) / np.maximum(mx, 1e-4), 0.0)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    hue = np.mod(np.arctan2(np.sqrt(3.0) * (g - b), 2 * r - g - b), 2 * np.pi) / (2 * np.pi)
    flat = sat.reshape(n, -1)
    npx = flat.shape[1]
    row = np.arange(n)[:, None]

    def hist(values: np.ndarray, bins: int, weights: np.ndarray | None = None) -> np.ndarray:
        b = np.clip((values.reshape(n, -1) * bins).astype(np.int64), 0, bins - 1) + row * bins
        return np.bincount(b.ravel(), None if weights is None else weights.ravel(), n * bins).reshape(n, bins) / npx

    hh, sh, vh = hist(hue, 12, flat), hist(sat, 6), hist(mx, 6)
    gr = grey(x).reshape(n, -1)
    return np.concatenate([np.sqrt(hh), np.sqrt(sh), np.sqrt(vh), gr.mean(1, keepdims=True),
                           gr.std(1, keepdims=True)], 1).astype(np.float32)


FEATURE_BLOCKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hog": hog, "hog16": lambda x: hog(x, 16), "polar": polar, "lbp": lbp, "colour": colour}


def features(images: np.ndarray, blocks: list[str] | tuple[str, ...]) -> np.ndarray:
    """(N, 64, 64, 3) float [0, 1] -> (N, d) the named blocks concatenated in order (float32)."""
    x = np.asarray(images, np.float32)
    if x.ndim != 4 or x.shape[1:] != (SIZE, SIZE, 3):
        raise ValueError(f"features: expected (N, {SIZE}, {SIZE}, 3) images, got {x.shape}")
    unknown = [b for b in blocks if b not in FEATURE_BLOCKS]
    if unknown:
        raise ValueError(f"features: unknown blocks {unknown}; known: {sorted(FEATURE_BLOCKS)}")
    cells = cell_histograms(x) if {"hog", "hog16"} & set(blocks) else None  # shared by both HOGs
    out = [hog(x, 8 if b == "hog" else 16, cells) if b in ("hog", "hog16") else FEATURE_BLOCKS[b](x) for b in blocks]
    return np.concatenate(out, 1).astype(np.float32)


def dihedral(images: np.ndarray, k: int) -> np.ndarray:
    """The k-th (0-7) of the eight flips/quarter turns of (N, H, W, C) images (0: unchanged)."""
    x = np.rot90(images, k % 4, axes=(1, 2))
    return np.ascontiguousarray(x[:, :, ::-1] if k >= 4 else x)


class NeighbourBranch:
    """The feature branch at run time: descriptors -> standardised -> PCA projection -> unit length,
    compared by cosine with a bank of training images' projected descriptors (each of the eight
    flips/quarter turns of every training image); class scores are the similarity-weighted votes of
    the ``k`` nearest (weight exp((cos - 1) / tau)), smoothed, as log-probabilities, averaged over the
    query's ``views`` flips/quarter turns.

    Arrays (as stored in the classifier's npz, names prefixed ``feat.``): ``mean`` (d,), ``scale`` (d,),
    ``proj`` (d, P), ``bank`` (M, P) unit rows, ``bank_labels`` (M,) class index."""

    def __init__(self, arrays: dict[str, np.ndarray], blocks: list[str], n_classes: int, k: int, tau: float,
                 views: int = 8, smooth: float = 1e-3):
        self.mean = np.asarray(arrays["mean"], np.float32)
        self.scale = np.asarray(arrays["scale"], np.float32)
        self.proj = np.asarray(arrays["proj"], np.float32)
        self.bank = np.asarray(arrays["bank"], np.float32)
        self.bank_labels = np.asarray(arrays["bank_labels"]).astype(np.int64)
        self.blocks, self.n_classes, self.k, self.tau = list(blocks), int(n_classes), int(k), float(tau)
        self.views, self.smooth = int(views), float(smooth)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(N, 64, 64, 3) float [0, 1] -> (N, P) unit projected descriptors (one view)."""
        z = ((features(images, self.blocks) - self.mean) / self.scale) @ self.proj
        return (z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-8)).astype(np.float32)

    def vote(self, emb: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """(N, P) unit embeddings -> (N, C) log-probabilities from the k nearest bank rows. ``exclude``
        (N, M) bool hides bank rows (training: an image's own views)."""
        sims = emb @ self.bank.T
        if exclude is not None:
            sims = np.where(exclude, -np.inf, sims)
        k = min(self.k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.exp((np.take_along_axis(sims, top, 1) - 1.0) / self.tau)
        scores = np.zeros((len(emb), self.n_classes), np.float64)
        np.add.at(scores, (np.repeat(np.arange(len(emb)), k), self.bank_labels[top].ravel()), w.ravel())
        scores = scores / np.maximum(scores.sum(1, keepdims=True), 1e-12) + self.smooth
        return np.log(scores / scores.sum(1, keepdims=True)).astype(np.float32)

    def log_probs(self, images: np.ndarray) -> np.ndarray:
        """(N, 64, 64, 3) float [0, 1] -> (N, C) log-probabilities averaged over the ``views`` flips/turns."""
        x = np.asarray(images, np.float32)
        n = len(x)
        lp = self.vote(self.embed(np.concatenate([dihedral(x, v) for v in range(self.views)])))  # one batch
        return lp.reshape(self.views, n, -1).mean(0)
