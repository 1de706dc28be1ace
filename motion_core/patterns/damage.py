"""Damage simulation for pattern images (seed 002 section 3, "multi-level cultural authenticity
enhancement"): seeded, parameterised, numpy only.

Four kinds of wear, each a function ``f(img, rng, **params) -> img`` on float32 RGB in [0, 1]
(H, W, 3), composed by :func:`damage`:

- :func:`occlude` random polygon occlusion: a polygon from an edge or corner folds away (a curled
  edge: a soft shadow along the fold line, the lighter verso inside) and abrasion rubs ink off with a
  noise mask elsewhere;
- :func:`fade` colour fading with a spectral attenuation model: each channel's optical density
  decays as ``D' = D exp(-k(lambda) H)`` with ``k(lambda) = k0 (lambda_ref / lambda)^p`` (short
  wavelengths carry more photon energy and fade dyes faster), for a light dose ``H``; the paper
  yellows towards a warm tone;
- :func:`insect_holes` small irregular holes with a browned rim, showing the backing;
- :func:`mould` foxing and mould: fractal value noise thresholded into brown stains.

The seed synthesises holes and mould with a conditional GAN; this is a procedural stand-in (no
weights). Same ``seed``, same damage. ``docs/patterns_damage.png`` compares it with real Edo prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Representative wavelengths (nm) of the R, G, B channels (product choice: sRGB primaries'
#: dominant wavelengths, rounded).
WAVELENGTHS_NM = np.array([612.0, 549.0, 465.0], dtype=np.float32)
LAMBDA_REF_NM = 550.0
#: Warm paper tone that faded ground drifts towards (product choice, sampled by eye from the
#: margins of the Edo prints in ../shared/data/patterns/kamon/edo).
PAPER_TONE = np.array([0.86, 0.80, 0.66], dtype=np.float32)


@dataclass
class DamageParams:
    """How strong each kind of wear is (0 turns it off). Defaults: moderate wear."""

    occlusion: float = 0.5  # probability of a curled/missing polygon
    abrasion: float = 0.35  # share of ink that may be rubbed off
    fade_dose: float = 0.6  # light dose H (0: none, ~2: heavily faded)
    yellowing: float = 0.5
    holes: int = 3  # mean number of insect holes (Poisson)
    mould: float = 0.3  # stain coverage

    def to_json(self) -> dict:
        return asdict(self)


def _resize_bilinear(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """(h0, w0) -> (h, w) bilinear, numpy only."""
    h0, w0 = a.shape
    y = np.linspace(0, h0 - 1, h)
    x = np.linspace(0, w0 - 1, w)
    y0 = np.floor(y).astype(int)
    x0 = np.floor(x).astype(int)
    y1 = np.minimum(y0 + 1, h0 - 1)
    x1 = np.minimum(x0 + 1, w0 - 1)
    fy = (y - y0)[:, None]
    fx = (x - x0)[None, :]
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bot = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)


def value_noise(h: int, w: int, rng: np.random.Generator, octaves: int = 4, base: int = 4) -> np.ndarray:
    """Fractal value noise in [0, 1], (h, w)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        n = base * 2 ** o
        out += amp * _resize_bilinear(rng.random((n, n)).astype(np.float32), h, w)
        total += amp
        amp *= 0.5
    out /= total
    lo, hi = out.min(), out.max()
    return (out - lo) / max(hi - lo, 1e-6)


def polygon_mask(h: int, w: int, poly: np.ndarray) -> np.ndarray:
    """Boolean (h, w) mask of the pixels inside polygon ``poly`` (n, 2) of (x, y) (even-odd rule)."""
    ys, xs = np.mgrid[0:h, 0:w]
    px, py = xs.ravel() + 0.5, ys.ravel() + 0.5
    inside = np.zeros(px.shape, bool)
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for a, b, c, d in zip(x0, y0, x1, y1, strict=True):
        cond = (b > py) != (d > py)
        xint = a + (py - b) * (c - a) / (d - b + 1e-12)
        inside ^= cond & (px < xint)
    return inside.reshape(h, w)


def _blur(a: np.ndarray, r: int) -> np.ndarray:
    """Box blur of radius ``r`` (separable, edges clamped)."""
    if r <= 0:
        return a
    k = 2 * r + 1
    p = np.pad(a, ((r, r), (r, r)), mode="edge")
    c = np.cumsum(np.pad(p, ((1, 0), (0, 0))), axis=0)
    p = (c[k:] - c[:-k]) / k
    c = np.cumsum(np.pad(p, ((0, 0), (1, 0))), axis=1)
    return ((c[:, k:] - c[:, :-k]) / k).astype(np.float32)


def occlude(img: np.ndarray, rng: np.random.Generator, occlusion: float = 0.5, abrasion: float = 0.35) -> np.ndarray:
    """Curled edge or torn corner (a polygon from the border) and abrasion of the ink."""
    h, w, _ = img.shape
    out = img.copy()
    ground = np.percentile(img.reshape(-1, 3), 90, axis=0).astype(np.float32)  # the paper colour
    if rng.random() < occlusion:
        side = rng.integers(4)
        depth = rng.uniform(0.12, 0.35)
        n = rng.integers(3, 6)
        t = np.sort(rng.uniform(-0.2, 1.2, n))
        d = rng.uniform(0.3, 1.0, n) * depth
        along = np.concatenate([[t[0]], t, [t[-1]]])
        into = np.concatenate([[0.0], d, [0.0]])
        pts = np.stack([along, into], 1)
        if side == 0:
            poly = np.stack([pts[:, 0] * w, pts[:, 1] * h], 1)
        elif side == 1:
            poly = np.stack([pts[:, 0] * w, h - pts[:, 1] * h], 1)
        elif side == 2:
            poly = np.stack([pts[:, 1] * w, pts[:, 0] * h], 1)
        else:
            poly = np.stack([w - pts[:, 1] * w, pts[:, 0] * h], 1)
        m = polygon_mask(h, w, poly).astype(np.float32)
        # verso: lighter, slightly warmer paper, with a shadow band along the fold
        verso = np.clip(ground * 0.92 + PAPER_TONE * 0.08 + 0.03, 0, 1)
        edge = np.clip(_blur(m, max(1, h // 40)) - m, 0, 1)  # just outside the fold line
        shade = 1.0 - 0.55 * np.clip(edge * 3, 0, 1)
        out = out * (1 - m[..., None]) + verso[None, None] * m[..., None]
        out *= shade[..., None]
    if abrasion > 0:
        rub = value_noise(h, w, rng, octaves=3, base=3) > (1 - abrasion * rng.uniform(0.3, 1.0))
        rub = _blur(rub.astype(np.float32), max(1, h // 64))
        grain = rng.random((h, w)).astype(np.float32)
        lift = (rub * (0.4 + 0.6 * grain))[..., None]
        out = out * (1 - lift) + ground[None, None] * lift
    return np.clip(out, 0, 1)


def fade(img: np.ndarray, rng: np.random.Generator, fade_dose: float = 0.6, yellowing: float = 0.5,
         k0: float = 0.45, p: float = 2.0) -> np.ndarray:
    """Spectral attenuation: optical density D_c = -log10(I_c) decays as exp(-k(lambda_c) H)."""
    dose = fade_dose * rng.uniform(0.5, 1.5)
    k = k0 * (LAMBDA_REF_NM / WAVELENGTHS_NM) ** p
    dens = -np.log10(np.clip(img, 1e-2, 1.0))  # ink at most density 2
    out = 10.0 ** (-dens * np.exp(-k * dose)[None, None])
    yel = yellowing * rng.uniform(0.5, 1.0)
    tone = PAPER_TONE ** yel
    return np.clip(out * tone[None, None], 0, 1).astype(np.float32)


def insect_holes(img: np.ndarray, rng: np.random.Generator, holes: int = 3,
                 backing: tuple[float, float, float] = (0.12, 0.10, 0.08)) -> np.ndarray:
    """Small irregular holes (backing shows through) with browned rims."""
    h, w, _ = img.shape
    n = rng.poisson(holes)
    if n == 0:
        return img
    out = img.copy()
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    back = np.asarray(backing, np.float32)
    for _ in range(n):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.008, 0.035) * min(h, w) + 0.6
        ang = np.arctan2(ys - cy, xs - cx)
        wob = 1 + 0.35 * np.sin(3 * ang + rng.uniform(0, 6.3)) * rng.uniform(0, 1)
        dist = np.hypot(ys - cy, (xs - cx) * rng.uniform(0.7, 1.3)) / (r * wob)
        hole = np.clip(1.5 - dist, 0, 1)[..., None]
        rim = np.clip(1 - np.abs(dist - 1.4) / 0.6, 0, 1)[..., None] * 0.45
        out = out * (1 - rim) + out * np.array([0.55, 0.42, 0.28], np.float32) * rim
        out = out * (1 - hole) + back * hole
    return np.clip(out, 0, 1)


def mould(img: np.ndarray, rng: np.random.Generator, mould: float = 0.3) -> np.ndarray:
    """Foxing and mould: thresholded fractal noise as soft brown stains with darker cores."""
    if mould <= 0:
        return img
    h, w, _ = img.shape
    n = value_noise(h, w, rng, octaves=5, base=3)
    cover = mould * rng.uniform(0.3, 1.0)
    thr = np.quantile(n, 1 - 0.25 * cover)
    stain = np.clip((n - thr) / max(1 - thr, 1e-6) * 3, 0, 1)
    speck = (rng.random((h, w)) < 0.004 * cover).astype(np.float32)
    stain = np.clip(stain + _blur(speck, 1) * 4, 0, 1)[..., None]
    colour = np.array([0.55, 0.40, 0.22], np.float32)
    return np.clip(img * (1 - 0.6 * stain) + img * colour * 0.6 * stain, 0, 1)


def damage(img: np.ndarray, seed: int | np.random.Generator, params: DamageParams | None = None) -> np.ndarray:
    """All four kinds of wear, in the order real paper takes them: fading, mould, holes, then the
    curled or torn edge and abrasion. ``img`` float RGB in [0, 1]; returns float32, same shape."""
    return damage_with_mask(img, seed, params)[0]  # one sequence of draws for both


def random_params(rng: np.random.Generator, kind_off_share: float = 0.0) -> DamageParams:
    """A random strength for each kind of wear, for training views (from none to heavy).

    ``kind_off_share``: probability that each of the four kinds (fading with yellowing, mould, insect
    holes, the curled edge with abrasion) is switched off entirely, independently, so that views with
    one kind of wear only, and views whose tone is not faded, are drawn too. At 0 (the default) no extra
    random number is drawn: the same ``rng`` gives the same parameters as before it existed."""
    p = DamageParams(occlusion=float(rng.uniform(0, 0.8)), abrasion=float(rng.uniform(0, 0.5)),
                     fade_dose=float(rng.uniform(0, 1.5)), yellowing=float(rng.uniform(0, 1)),
                     holes=int(rng.integers(0, 6)), mould=float(rng.uniform(0, 0.6)))
    if kind_off_share > 0:
        off = rng.random(4) < kind_off_share
        if off[0]:
            p.fade_dose, p.yellowing = 0.0, 0.0
        if off[1]:
            p.mould = 0.0
        if off[2]:
            p.holes = 0
        if off[3]:
            p.occlusion, p.abrasion = 0.0, 0.0
    return p


#: A pixel counts as damaged (for :func:`damage_with_mask`) when the local kinds of wear (mould, holes,
#: the curled edge and abrasion) moved it by more than this in some channel, on the [0, 1] scale,
#: relative to the faded image. Product choice: 0.08 is about 20 levels of 255, above JPEG noise and
#: the paper's grain, below the faintest stain the simulator draws at moderate strength.
MASK_THRESHOLD = 0.08


def damage_with_mask(img: np.ndarray, seed: int | np.random.Generator, params: DamageParams | None = None,
                     threshold: float = MASK_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """:func:`damage` and where it struck: returns ``(damaged (H, W, 3) float32, mask (H, W) bool)``.

    ``damaged`` is exactly what :func:`damage` returns for the same ``img``, ``seed`` and ``params``
    (the same random draws in the same order). ``mask`` marks the pixels that mould, insect holes, the
    curled edge or abrasion changed by more than ``threshold``; fading and yellowing act on the whole
    sheet and are not in it (they are recoverable from the pixel itself, the rest is not)."""
    p = params or DamageParams()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    x = np.asarray(img, np.float32)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got {x.shape}")
    faded = fade(x, rng, p.fade_dose, p.yellowing)
    x = mould(faded, rng, p.mould)
    x = insect_holes(x, rng, p.holes)
    x = occlude(x, rng, p.occlusion, p.abrasion).astype(np.float32)
    mask = np.abs(x - faded).max(axis=2) > threshold
    return x, mask
