"""Restoring a worn pattern image with the restoration GAN's generator, in numpy (issue #13).

The generator is trained by ``training/patterns/train_restore.py`` (seed 001 section 3.3 adapted to
image-to-image; the architecture is described in ``training/patterns/restore_model.py``) and exported
by ``training/patterns/export_restore.py`` to ``weights/patterns/restore.npz``: arrays named as the
torch state dict (BatchNorm kept with its running statistics), plus ``meta_json`` (model, version,
training data and licence, steps, seed). ``tests/test_restore.py`` checks this forward pass against
torch's.

    r = load_restorer()
    out = r.restore(rgb, mask=None)  # rgb (H, W, 3) float32 in [0, 1] -> (H, W, 3) float32 in [0, 1]

Any size is accepted (at least 8 px a side, see image_input): an image of at most TILE x TILE
pixels runs whole (reflect-padded to a multiple of 16); a larger one runs in TILE x TILE tiles that
overlap by OVERLAP pixels, blended with linear ramps, so memory stays bounded (about 100 MB of work
memory beyond the image and its result, measured for a 1024 x 768 image).
The mask (True = damaged) is optional: without it the model finds the damage itself.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .. import config
from . import layers as L

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "weights" / "patterns" / "restore.npz"
ENC = (32, 64, 128, 128)  # encoder channels, as training/patterns/restore_model.py
MULTIPLE = 16
ATANH_CLIP = 0.995
TILE = 256  # px: the largest side run in one piece (and the tile side beyond it)
OVERLAP = 32  # px: overlap of neighbouring tiles
SLOPE = 0.2  # LeakyReLU, seed 001 eq. 11


#: Out-of-domain check (product choice, measured in docs/restoration.md): the model was trained on
#: black-ink Edo prints and washes out colour. An image with more than COLOUR_SHARE of its pixels of
#: chroma (max - min channel) above COLOUR_CHROMA is "colourful": no held-out Edo print is (0 of 131),
#: 65 % of batik-ragam and 71 % of traditional-decor test images are.
COLOUR_CHROMA = 0.3
COLOUR_SHARE = 0.05


def colour_warning(rgb: np.ndarray) -> str | None:
    """A one-line warning when ``rgb`` (H, W, 3) in [0, 1] is a colour image, which the model (trained
    on black-ink Edo prints) tends to wash out; None otherwise."""
    x = np.asarray(rgb, np.float32)
    share = float(((x.max(axis=2) - x.min(axis=2)) > COLOUR_CHROMA).mean())
    if share <= COLOUR_SHARE:
        return None
    return (f"{share:.0%} of the image is strongly coloured: the restorer was trained on black-ink Edo prints "
            "and may wash colours out (compare with the source)")


class RestoreModelError(RuntimeError):
    """The restoration weights are missing or unreadable; the message says which file and what to do."""


class Restorer:
    """The numpy generator. ``weights``: arrays named as the torch state dict; ``meta``: provenance."""

    def __init__(self, weights: dict[str, np.ndarray], meta: dict[str, Any] | None = None):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        self.meta: dict[str, Any] = dict(meta or {})
        missing = [k for k in self._required() if k not in self.w]
        if missing:
            raise RestoreModelError(f"restoration weights lack {len(missing)} arrays (first: {missing[0]})")

    @staticmethod
    def _required() -> list[str]:
        req = ["enc.0.0.weight", "enc.0.0.bias", "attn.gamma", "out.weight", "out.bias"]
        for i in range(1, len(ENC)):
            req += [f"enc.{i}.0.weight"] + [f"enc.{i}.1.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
        for j in range(len(ENC)):
            req += [f"dec.{j}.0.weight"] + [f"dec.{j}.1.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
        return req + [f"attn.{n}.{s}" for n in "qkv" for s in ("weight", "bias")]

    @property
    def provenance(self) -> dict[str, Any]:
        """What the result came from: model, version, training data and its licence, steps, seed."""
        keys = ("model", "version", "training_data", "licence", "steps", "seed", "command")
        return {k: self.meta[k] for k in keys if k in self.meta}

    def _bn(self, x: np.ndarray, name: str) -> np.ndarray:
        w = self.w
        return L.batch_norm(x, w[f"{name}.running_mean"], w[f"{name}.running_var"], w[f"{name}.weight"], w[f"{name}.bias"])

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The generator on its input: x (N, 5, H, W) (RGB in [-1, 1], mask, mask-given), H and W
        multiples of 16 -> (N, 3, H, W) in [-1, 1]."""
        w = self.w
        feats = []
        h = x.astype(np.float32)
        for i in range(len(ENC)):
            h = L.conv2d(h, w[f"enc.{i}.0.weight"], w.get(f"enc.{i}.0.bias"), stride=2, pad=1)
            if i > 0:
                h = self._bn(h, f"enc.{i}.1")
            h = L.leaky_relu(h, SLOPE)
            if i == 2:
                h = L.self_attention(h, w["attn.q.weight"], w["attn.q.bias"], w["attn.k.weight"], w["attn.k.bias"],
                                     w["attn.v.weight"], w["attn.v.bias"], float(w["attn.gamma"].ravel()[0]))
            feats.append(h)
        for j in range(len(ENC)):
            h = L.relu(self._bn(L.conv_transpose2d_subpixel(h, w[f"dec.{j}.0.weight"], None, stride=2, pad=1), f"dec.{j}.1"))
            if j < len(ENC) - 1:
                h = np.concatenate([h, feats[-2 - j]], axis=1)
        base = np.arctanh(np.clip(x[:, :3], -ATANH_CLIP, ATANH_CLIP))
        return np.tanh(base + L.conv2d(np.concatenate([h, x], axis=1), w["out.weight"], w["out.bias"], pad=1))

    def _run(self, rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """One piece: (h, w, 3) [0, 1], (h, w) bool or None -> (h, w, 3), padded to a multiple of 16."""
        h, w, _ = rgb.shape
        ph, pw = -h % MULTIPLE, -w % MULTIPLE
        mode: Literal["reflect", "edge"] = "reflect" if min(h, w) > max(ph, pw) else "edge"
        x = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode=mode)
        given = mask is not None
        m = (np.pad(mask.astype(np.float32), ((0, ph), (0, pw)), mode=mode) if mask is not None
             else np.zeros(x.shape[:2], np.float32))
        inp = np.concatenate([x.transpose(2, 0, 1) * 2 - 1, m[None], np.full((1, *x.shape[:2]), float(given), np.float32)])
        out = self.forward(inp[None])[0].transpose(1, 2, 0)
        return ((out[:h, :w] + 1) / 2).astype(np.float32)

    def restore(self, rgb: np.ndarray, mask: np.ndarray | None = None,
                progress: Callable[[float], Any] | None = None, only_masked: bool = False) -> np.ndarray:
        """rgb (H, W, 3) float in [0, 1], mask (H, W) bool (True = damaged) or None
        -> the restored image (H, W, 3) float32 in [0, 1]. ``progress(fraction)`` is called per tile.

        ``only_masked`` (needs ``mask``): change only the masked pixels and RESTORE_ONLY_MASKED_GROW_PX
        around them, keep every other pixel as it was, as Telea's inpainting does (for holes, stains
        and tears on a print whose tone is fine; off, the network also evens a faded tone)."""
        x = np.clip(np.asarray(rgb, np.float32), 0, 1)
        if x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got {x.shape}")
        h, w, _ = x.shape
        if mask is not None:
            mask = np.asarray(mask, bool)
            if mask.shape != (h, w):
                raise ValueError(f"mask is {mask.shape}, the image {(h, w)}")
        elif only_masked:
            raise ValueError("'only the masked pixels' needs a damage mask")
        out = self._restore(x, mask, progress)
        if only_masked:
            assert mask is not None  # checked above
            out = keep_unmasked(out, x, mask)
        return out

    def _restore(self, x: np.ndarray, mask: np.ndarray | None,
                 progress: Callable[[float], Any] | None) -> np.ndarray:
        h, w, _ = x.shape
        if h <= TILE and w <= TILE:
            out = self._run(x, mask)
            if progress is not None:
                progress(1.0)
            return out
        step = TILE - OVERLAP
        ys = sorted({*range(0, max(h - TILE, 0) + 1, step), max(h - TILE, 0)})
        xs = sorted({*range(0, max(w - TILE, 0) + 1, step), max(w - TILE, 0)})
        acc = np.zeros((h, w, 3), np.float32)
        wsum = np.zeros((h, w, 1), np.float32)
        done, total = 0, len(ys) * len(xs)
        for y0 in ys:
            for x0 in xs:
                sl = (slice(y0, y0 + TILE), slice(x0, x0 + TILE))
                piece = self._run(x[sl], None if mask is None else mask[sl])
                th, tw = piece.shape[:2]
                ramp_y = _ramp(th, OVERLAP, y0 > 0, y0 + th < h)
                ramp_x = _ramp(tw, OVERLAP, x0 > 0, x0 + tw < w)
                wt = (ramp_y[:, None] * ramp_x[None, :])[..., None]
                acc[sl] += piece * wt
                wsum[sl] += wt
                done += 1
                if progress is not None:
                    progress(done / total)
        return (acc / np.maximum(wsum, 1e-6)).astype(np.float32)


def keep_unmasked(restored: np.ndarray, rgb: np.ndarray, mask: np.ndarray,
                  grow_px: int = config.RESTORE_ONLY_MASKED_GROW_PX) -> np.ndarray:
    """(H, W, 3) ``restored`` inside ``mask`` (H, W) grown by ``grow_px``, ``rgb`` elsewhere."""
    return np.where(grow(mask, grow_px)[..., None], restored, rgb).astype(np.float32)


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    """(H, W) bool grown by ``px`` pixels (3 x 3 dilation, ``px`` times)."""
    m = np.asarray(mask, bool)
    for _ in range(px):
        p = np.pad(m, 1)
        m = (p[:-2, :-2] | p[:-2, 1:-1] | p[:-2, 2:] | p[1:-1, :-2] | p[1:-1, 1:-1] | p[1:-1, 2:]
             | p[2:, :-2] | p[2:, 1:-1] | p[2:, 2:])
    return m


def _ramp(n: int, overlap: int, start: bool, end: bool) -> np.ndarray:
    """Blending weights along one side of a tile: rising over ``overlap`` px where a neighbour precedes,
    falling where one follows, 1 elsewhere (never 0, so every pixel has weight)."""
    r = np.ones(n, np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 1) / (overlap + 1)
    k = min(overlap, n)
    if start:
        r[:k] = np.minimum(r[:k], ramp[:k])
    if end:
        r[n - k:] = np.minimum(r[n - k:], ramp[:k][::-1])
    return r


def load_restorer(path: str | Path | None = None) -> Restorer:
    """The restorer from ``path`` (default: the shipped ``weights/patterns/restore.npz``).
    Raises :class:`RestoreModelError` naming the file when it is missing or not a restoration model."""
    p = Path(path) if path is not None else DEFAULT_PATH
    if not p.exists():
        raise RestoreModelError(f"restoration model not found: {p} (train and export it: "
                                "python -m training.patterns.train_restore, then training.patterns.export_restore)")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise RestoreModelError(f"restoration model {p} is unreadable ({type(e).__name__}): reinstall or re-export it") from e
    meta: dict[str, Any] = {}
    if "meta_json" in arrays:
        try:
            meta = json.loads(str(arrays.pop("meta_json")))
        except ValueError as e:
            raise RestoreModelError(f"restoration model {p} has unreadable metadata: re-export it") from e
    return Restorer(arrays, meta)
