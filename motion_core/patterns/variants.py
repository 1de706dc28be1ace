"""Pattern variants: the pattern GAN's generator in numpy (trained by
``training/patterns/train_gan_variants.py``; seed 001 section 3.3, Table 2 and eq. 13).

    [z (100) ~ N(0, 1) from the seed, condition c (128)] -> Dense, ReLU -> 4x4x512
        -> ConvT 4x4 s2 p1 + BN + ReLU: 8x8x256, 16x16x128 -> self-attention (eq. 13)
        -> ConvT + BN + ReLU: 32x32x64 -> ConvT + Tanh: 64x64x3

The condition is a unit vector in the pattern encoder's visual space (phi, 128-d): a motif class
(kamon charge, e.g. ``"kiku"``) gives the embedding of one of its training crests, drawn from the
seed (one per sample; weights without members give the class's mean embedding), a bank prototype (an
``int``) its own vector, an image its own phi embedding (``PatternEncoder``). The
native resolution is 64 x 64 pixels; :func:`upscale` enlarges bilinearly for textures (it adds no
detail). Results are reproducible from (condition, seed). Weights: ``gan_variants.npz`` (big
matrices int8 with one scale per row, the rest fp16; metadata as JSON in ``meta_json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import layers
from .encoder import l2n

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "patterns" / "gan_variants.npz"
BANK = Path(__file__).resolve().parents[1] / "weights" / "patterns" / "pattern_bank.npz"
SIZE = 64

#: A condition: a motif class label (str), a bank prototype index (int) or a 128-d embedding.
Condition = str | int | np.ndarray


class GanWeightsError(RuntimeError):
    """The GAN weights are missing or unreadable (a one-line message naming the file)."""


@dataclass
class PatternGAN:
    w: dict[str, np.ndarray]  # float32 arrays named as the torch state dicts ("g.fc.weight", ...)
    meta: dict[str, Any]
    path: str = ""

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def z_dim(self) -> int:
        return int(self.meta["z_dim"])

    # -- conditions ------------------------------------------------------------------------------
    def condition(self, cond: Condition, bank_prototypes: np.ndarray | None = None,
                  seed: int | None = None, n: int | None = None) -> np.ndarray:
        """``cond`` -> (128,) unit vector (``n`` given: (n, 128)): a class label, a prototype index
        (needs the bank's prototypes (K, 128), loaded from the shipped bank when not given) or an
        embedding. A class with ``seed`` gives its members' embeddings drawn from the seed (one per
        sample: the class's variety); without a seed, or in weights without members, its mean."""
        c = self._condition(cond, bank_prototypes, seed, n or 1)
        return c if n is not None else c[0]

    def _condition(self, cond: Condition, bank_prototypes: np.ndarray | None, seed: int | None,
                   n: int) -> np.ndarray:
        if isinstance(cond, str):
            if cond not in self.classes:
                raise ValueError(f"unknown motif class '{cond}' (known: {', '.join(self.classes)})")
            k = self.classes.index(cond)
            if seed is not None and "cond_members" in self.w:
                members = np.flatnonzero(self.w["cond_member_class"] == k)
                if len(members):  # a separate stream from z's, so a class and an embedding share z
                    pick = np.random.default_rng([int(seed), 1]).choice(members, n)
                    return l2n(self.w["cond_members"][pick].astype(np.float32))
            return np.repeat(self.w["cond_classes"][k][None].astype(np.float32), n, 0)
        if isinstance(cond, (int, np.integer)):
            protos = load_prototypes() if bank_prototypes is None else bank_prototypes
            if not 0 <= int(cond) < len(protos):
                raise ValueError(f"prototype {int(cond)} out of range (the bank has {len(protos)}: 0-{len(protos) - 1})")
            return np.repeat(l2n(np.asarray(protos[int(cond)], np.float32))[None], n, 0)
        v = np.asarray(cond, np.float32).ravel()
        if v.shape != (int(self.meta["cond_dim"]),) or not np.isfinite(v).all() or np.linalg.norm(v) == 0:
            raise ValueError(f"a condition embedding must be {self.meta['cond_dim']} finite numbers, not all 0")
        return np.repeat(l2n(v)[None], n, 0)

    # -- the generator ---------------------------------------------------------------------------
    def generate(self, z: np.ndarray, c: np.ndarray, batch: int = 16) -> np.ndarray:
        """z (N, 100), c (N, 128) or (128,) -> images (N, 64, 64, 3) float32 in [0, 1]."""
        z = np.atleast_2d(np.asarray(z, np.float32))
        c = np.asarray(c, np.float32)
        c = np.broadcast_to(c, (len(z), c.shape[-1])) if c.ndim == 1 else c
        return np.concatenate([self._forward(z[i:i + batch], c[i:i + batch]) for i in range(0, len(z), batch)]) \
            if len(z) else np.zeros((0, SIZE, SIZE, 3), np.float32)

    def _forward(self, z: np.ndarray, c: np.ndarray) -> np.ndarray:
        w = self.w
        ch = self.meta["g_channels"]
        h = layers.relu(layers.linear(np.concatenate([z, c], 1), w["g.fc.weight"], w["g.fc.bias"]))
        h = h.reshape(len(z), ch[0], 4, 4)
        for i in range(len(ch) - 1):
            h = layers.conv_transpose2d(h, w[f"g.up.{i}.weight"], w[f"g.up.{i}.bias"], stride=2, pad=1)
            h = layers.relu(layers.batch_norm(h, w[f"g.bn.{i}.running_mean"], w[f"g.bn.{i}.running_var"],
                                              w[f"g.bn.{i}.weight"], w[f"g.bn.{i}.bias"]))
            if i == int(self.meta["g_attn_after"]):
                h = layers.self_attention(h, w["g.attn.q.weight"], w["g.attn.q.bias"], w["g.attn.k.weight"],
                                          w["g.attn.k.bias"], w["g.attn.v.weight"], w["g.attn.v.bias"],
                                          float(w["g.attn.gamma"][0]))
        x = np.tanh(layers.conv_transpose2d(h, w["g.out.weight"], w["g.out.bias"], stride=2, pad=1))
        return ((x.transpose(0, 2, 3, 1) + 1) / 2).clip(0, 1).astype(np.float32)

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, cond: Condition, seed: int, n: int = 1, scale: int = 1,
               bank_prototypes: np.ndarray | None = None) -> np.ndarray:
        """``n`` variants of ``cond`` from ``seed`` -> (n, 64 * scale, 64 * scale, 3) float32 in [0, 1]."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        c = self.condition(cond, bank_prototypes, seed=seed, n=n)
        z = np.random.default_rng(seed).standard_normal((n, self.z_dim)).astype(np.float32)
        out = self.generate(z, c)
        return upscale(out, scale) if scale > 1 else out

    def provenance(self, cond: Condition, seed: int, **extra: Any) -> dict[str, Any]:
        """What made a result: model, version, seed, condition, source licence."""
        desc: Any = cond if isinstance(cond, (str, int, np.integer)) else "embedding"
        return {"model": "pattern GAN (seed 001 Tables 2-3, eq. 13; kamon)", "weights": Path(self.path).name,
                "version": self.meta.get("version"), "seed": int(seed),
                "condition": int(desc) if isinstance(desc, np.integer) else desc,
                "condition_kind": ("class" if isinstance(cond, str) else "prototype"
                                   if isinstance(cond, (int, np.integer)) else "embedding"),
                "native_size": SIZE, "licence": self.meta.get("licence"), "notice": self.meta.get("notice"),
                **extra}


def upscale(images: np.ndarray, scale: int) -> np.ndarray:
    """Bilinear enlargement by an integer ``scale`` of (N, H, W, 3) or (H, W, 3) images (adds no detail)."""
    x = np.asarray(images, np.float32)
    if scale <= 1:
        return x
    h, w = x.shape[-3], x.shape[-2]

    def axis_weights(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(n * scale) + 0.5) / scale - 0.5
        lo = np.clip(np.floor(pos).astype(int), 0, n - 1)
        hi = np.clip(lo + 1, 0, n - 1)
        return lo, hi, np.clip(pos - lo, 0, 1).astype(np.float32)

    ylo, yhi, fy = axis_weights(h)
    xlo, xhi, fx = axis_weights(w)
    rows = x[..., ylo, :, :] * (1 - fy)[:, None, None] + x[..., yhi, :, :] * fy[:, None, None]
    return rows[..., xlo, :] * (1 - fx)[:, None] + rows[..., xhi, :] * fx[:, None]


def _dequantise(z: Any) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k in z.files:
        if k == "meta_json" or k.endswith("__s"):
            continue
        if k.endswith("__q"):
            q = z[k].astype(np.float32)
            s = z[k[:-3] + "__s"].astype(np.float32)
            out[k[:-3]] = (q.reshape(q.shape[0], -1) * s[:, None]).reshape(q.shape)
        else:
            out[k] = z[k].astype(np.float32)
    return out


def load_gan(path: str | Path = WEIGHTS) -> PatternGAN:
    """The pattern GAN from ``path``; GanWeightsError (one line) when it is missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise GanWeightsError(f"pattern GAN weights not found: {path} (reinstall the add-on, or train them: "
                              "python -m training.patterns.train_gan_variants)")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta_json"]).decode("utf-8"))
            w = _dequantise(z)
    except Exception as exc:  # zip, npy or JSON damage: one message for all
        raise GanWeightsError(f"pattern GAN weights unreadable: {path} ({type(exc).__name__}: {exc})") from exc
    if meta.get("format") != "heritage-motion-pattern-gan":
        raise GanWeightsError(f"{path} is not pattern GAN weights (format {meta.get('format')!r})")
    missing = [k for k in ("g.fc.weight", "g.out.weight", "cond_classes") if k not in w]
    if missing:
        raise GanWeightsError(f"pattern GAN weights incomplete: {path} lacks {', '.join(missing)}")
    bad = [k for k, v in w.items() if not np.isfinite(v).all()]
    if bad:
        raise GanWeightsError(f"pattern GAN weights corrupt: {path} has non-finite values in {bad[0]}")
    return PatternGAN(w, meta, str(path))


def load_prototypes(path: str | Path = BANK) -> np.ndarray:
    """The shipped visual bank's prototypes (K, 128)."""
    with np.load(path, allow_pickle=False) as z:
        return z["prototypes"].astype(np.float32)


def sample(condition: Condition, seed: int, n: int = 1, scale: int = 1, gan: PatternGAN | None = None) -> np.ndarray:
    """``n`` variants (n, 64 * scale, 64 * scale, 3) float32 in [0, 1] of ``condition`` from ``seed``
    (loads the shipped weights unless ``gan`` is given)."""
    return (gan or load_gan()).sample(condition, seed, n, scale)


def image_condition(encoder: Any, rgb: np.ndarray) -> np.ndarray:
    """The condition of an image: its visual embedding (128,) under ``encoder`` (a PatternEncoder);
    ``rgb`` (H, W, 3|4) float [0, 1], prepared as the training images (square, 64 x 64)."""
    from .library import to_square

    vis, _ = encoder.encode(to_square(rgb, SIZE)[None])
    return np.asarray(vis[0], np.float32)
