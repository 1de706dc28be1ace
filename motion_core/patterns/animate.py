"""Coherent pattern animation at 25 fps, numpy only (trained by
``training/patterns/train_gan_variants.py``, stage 2).

    driver energy e_t in [0, 1] (per frame), noise n_t (16, from the seed), (z0, c)
        -> LSTM (128) -> direction v_t = tanh(W h_t)
        -> z_t = |z0| normalise(z_{t-1} + 0.05 |z0| e_t v_t / |v_t|)  -> frame_t = G(z_t, c)

The latent walks on the sphere of z0's radius (where the prior's samples lie, G being
``variants.PatternGAN``) by steps whose length is the driver's (0.05 |z0| at full energy, about 2.9
degrees): where the driver is still (e_t = 0) the frame is exactly the previous one, by construction.
What training decides is the direction of each step.

The trajectory network was trained against the image discriminator and a BiLSTM temporal
discriminator (seed 001 section 3.3.4) that compares the frames' changes, given the driver, with
proxy sequences of real crests (turned, scaled and tinted as the driver moves, still where it is
still). ``trajectory="ablation"`` runs the same network trained without the temporal discriminator.

Drivers: a (T,) array is an energy per frame (clipped to [0, 1]); a (T, D) array is a per-frame
feature (e.g. joint positions flattened, or the symbol schedule h_sem(t)) whose frame-to-frame change
becomes the energy, scaled so its 95th percentile is 1. :func:`motion_energy` gives the energy of a
canonical Motion's joints (mean joint speed / 1.5 m/s); the symbol schedule's eps(t)
(``symbols.schedule(...).eps``, or ``symbols.eps_at`` on scene frames: 1 for 0.4 s after each symbol
event, else 0) drives the pattern at the dance's symbol events. Reproducible from (driver, condition, seed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import config
from . import layers
from .variants import Condition, PatternGAN, load_gan, upscale


def driver_energy(driver: np.ndarray) -> np.ndarray:
    """(T,) energy in [0, 1] from a (T,) energy or a (T, D) feature sequence (see the module doc)."""
    d = np.asarray(driver, np.float32)
    if d.ndim not in (1, 2) or len(d) == 0 or not np.isfinite(d).all():
        raise ValueError(f"a driver is a (T,) or (T, D) array of finite numbers with T >= 1, got shape {d.shape}")
    if d.ndim == 1:
        return np.clip(d, 0, 1)
    speed = np.zeros(len(d), np.float32)
    speed[1:] = np.linalg.norm(np.diff(d, axis=0), axis=1)
    if len(d) > 1:
        speed[0] = speed[1]
    ref = float(np.percentile(speed, 95))
    return np.clip(speed / ref, 0, 1) if ref > 1e-8 else np.zeros(len(d), np.float32)


def motion_energy(positions: np.ndarray, fps: float = config.FPS) -> np.ndarray:
    """positions (T, J, 3) joint positions in metres (``Motion.positions()``) -> (T,) energy in
    [0, 1]: the mean joint speed over ANIM_FULL_ENERGY_SPEED_M_S."""
    p = np.asarray(positions, np.float32)
    speed = np.zeros(len(p), np.float32)
    if len(p) > 1:
        speed[1:] = np.linalg.norm(np.diff(p, axis=0), axis=-1).mean(1) * fps
        speed[0] = speed[1]
    return np.clip(speed / config.ANIM_FULL_ENERGY_SPEED_M_S, 0, 1)


def trajectory(gan: PatternGAN, energy: np.ndarray, noise: np.ndarray, z0: np.ndarray, c: np.ndarray,
               name: str = "temporal") -> np.ndarray:
    """energy (T,), noise (T, 16), z0 (100,), c (128,) -> latent codes (T, 100)."""
    if name not in gan.meta.get("trajectories", []):
        raise ValueError(f"no trajectory network '{name}' in {gan.path} (has {gan.meta.get('trajectories')})")
    w = gan.w
    p = f"traj_{name}."
    s = np.tanh(layers.linear(np.concatenate([z0, c])[None], w[p + "static.weight"], w[p + "static.bias"]))
    t = len(energy)
    x = np.concatenate([np.asarray(energy, np.float32)[:, None], np.asarray(noise, np.float32),
                        np.repeat(s, t, axis=0)], 1)[None]
    h = layers.lstm(x, w[p + "lstm.weight_ih_l0"], w[p + "lstm.weight_hh_l0"], w[p + "lstm.bias_ih_l0"],
                    w[p + "lstm.bias_hh_l0"])[0]
    step = float(gan.meta.get("z_step", config.ANIM_Z_STEP))
    v = np.tanh(layers.linear(h, w[p + "head.weight"], w[p + "head.bias"]))
    r = float(np.linalg.norm(z0))
    z = np.asarray(z0, np.float32)
    out = np.zeros((t, len(z)), np.float32)
    for i in range(t):
        if energy[i] > 0:  # at e_t = 0 the step is 0: z stays, bit for bit (renormalising would round it)
            z = z + step * r * float(energy[i]) * v[i] / max(float(np.linalg.norm(v[i])), 1e-12)
            z = (z / max(float(np.linalg.norm(z)), 1e-12) * r).astype(np.float32)
        out[i] = z
    return out


def latents(gan: PatternGAN, driver: np.ndarray, condition: Condition, seed: int,
            name: str = "temporal") -> tuple[np.ndarray, np.ndarray]:
    """(z (T, 100), c (128,)) of an animation; z0 and the per-frame noise come from ``seed``."""
    e = driver_energy(driver)
    c = gan.condition(condition, seed=seed)  # a class: one of its crests, drawn from the seed
    rng = np.random.default_rng(seed)
    z0 = rng.standard_normal(gan.z_dim).astype(np.float32)
    noise = rng.standard_normal((len(e), int(gan.meta["noise_dim"]))).astype(np.float32)
    return trajectory(gan, e, noise, z0, c, name), c


def animate(driver: np.ndarray, condition: Condition, seed: int,
            progress: Callable[[float], None] | None = None, gan: PatternGAN | None = None,
            trajectory_name: str = "temporal", scale: int = 1, batch: int = 16) -> np.ndarray:
    """Frames (T, 64 * scale, 64 * scale, 3) float32 in [0, 1] following ``driver`` (one frame per
    driver frame, at 25 fps), of ``condition`` from ``seed``; ``progress(fraction)`` after each batch."""
    gan = gan or load_gan()
    z, c = latents(gan, driver, condition, seed, trajectory_name)
    # Where the driver is still the latent repeats: that frame is the previous one, copied, not
    # generated again (a batch's BLAS kernels may round one row differently from another, which
    # would make a still frame flicker in its last bit), and it costs nothing.
    new = np.ones(len(z), bool)
    new[1:] = np.any(z[1:] != z[:-1], axis=1)
    distinct = z[new]
    out = []
    for i in range(0, len(distinct), batch):
        f = gan.generate(distinct[i:i + batch], c)
        out.append(upscale(f, scale) if scale > 1 else f)
        if progress is not None:
            progress(min(1.0, (i + batch) / len(distinct)))
    return np.concatenate(out)[np.cumsum(new) - 1]


def flicker(frames: np.ndarray, energy: np.ndarray, still: float = 0.05) -> dict[str, float]:
    """Mean absolute change per pixel between consecutive frames (0-1 scale), split by whether the
    driver is still (energy < ``still`` at both frames) or moving; frames (T, H, W, 3)."""
    f = np.asarray(frames, np.float32)
    e = np.asarray(energy, np.float32)
    d = np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))
    st = (e[1:] < still) & (e[:-1] < still)
    return {"still": float(d[st].mean()) if st.any() else float("nan"),
            "moving": float(d[~st].mean()) if (~st).any() else float("nan"),
            "still_frames": int(st.sum()), "moving_frames": int((~st).sum())}


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` (H, W, 3) float [0, 1] or uint8 (zlib only: no Pillow in Blender)."""
    import struct
    import zlib

    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        a = np.clip(np.asarray(a, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    h, w, _ = a.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), a.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def save_frames(frames: np.ndarray, parent: str | Path, name: str, prefix: str = "pattern_") -> Path:
    """Write ``frames`` (T, H, W, 3) as ``prefix0001.png`` ... into a new folder ``parent/name``
    (``name_2``, ``name_3`` ... when taken; an existing folder is never touched): written into a
    hidden temporary folder beside it, then renamed. Returns the folder."""
    import os
    import shutil
    import tempfile
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=parent))
    try:
        for i, f in enumerate(frames):
            (tmp / f"{prefix}{i + 1:04d}.png").write_bytes(png_bytes(f))
        k = 1
        while True:
            dest = parent / (name if k == 1 else f"{name}_{k}")
            if not dest.exists():
                try:
                    os.rename(tmp, dest)  # atomic; fails rather than replace a folder made meanwhile
                    return dest
                except OSError:
                    if not dest.exists():
                        raise
            k += 1
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
