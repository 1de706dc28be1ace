"""Checking an image handed to the pattern models (restoration, variants, identification).

The models take RGB in [0, 1]. What a user can hand us is wider: greyscale, RGBA, 16-bit or float
pixels, an empty or a huge image. :func:`rgb_image` turns what can be used into ``(H, W, 3)`` float32
and says what it did; what cannot be used raises :class:`ImageInputError` with one line in the
user's terms, before any work. Blender-free: the add-on reads ``Image.pixels`` and calls this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_SIDE = 8  # px: smaller has no pattern to speak of
MAX_SIDE = 8192  # px: a scan larger than this would take minutes and gigabytes; tile or scale it first
MAX_PIXELS = 4096 * 4096


class ImageInputError(ValueError):
    """An image the pattern models cannot take; the message is one line for the user."""


@dataclass
class CheckedImage:
    rgb: np.ndarray  # (H, W, 3) float32 in [0, 1], rows top first
    notes: list[str] = field(default_factory=list)  # what was done to it, for the report and provenance


def rgb_image(pixels: np.ndarray, name: str = "image") -> CheckedImage:
    """pixels (H, W), (H, W, 1|2|3|4): uint8, uint16 or float -> :class:`CheckedImage`.

    Greyscale is repeated to RGB; an alpha channel is composited on white (the pattern sets' ground,
    as ``training/patterns/data.py`` does); float values outside [0, 1] are clipped (HDR is noted).
    Raises :class:`ImageInputError` for an empty, a tiny, a huge or a non-finite image."""
    a = np.asarray(pixels)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ImageInputError(f"'{name}' is not an image (no pixel values)")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ImageInputError(f"'{name}' is not an image: pixel array of shape {a.shape}")
    h, w, c = a.shape
    if h == 0 or w == 0:
        raise ImageInputError(f"'{name}' is empty (0 pixels); load or paint it first")
    if min(h, w) < MIN_SIDE:
        raise ImageInputError(f"'{name}' is {w}x{h} px; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    if max(h, w) > MAX_SIDE or h * w > MAX_PIXELS:
        raise ImageInputError(f"'{name}' is {w}x{h} px; the largest accepted is {MAX_SIDE} px a side and "
                              f"{MAX_PIXELS // 1_000_000} megapixels: scale or crop it first")
    notes: list[str] = []
    if np.issubdtype(a.dtype, np.integer):
        x = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    else:
        x = a.astype(np.float32)
        if not np.isfinite(x).all():
            raise ImageInputError(f"'{name}' has NaN or infinite pixels")
        if x.min() < 0 or x.max() > 1:
            notes.append("values outside 0-1 clipped")
            x = np.clip(x, 0, 1)
    if c in (2, 4):
        alpha = x[:, :, -1:]
        if alpha.min() < 1:
            notes.append("alpha composited on white")
        x = x[:, :, :-1] * alpha + (1 - alpha)
    if x.shape[2] == 1:
        notes.append("greyscale repeated to RGB")
        x = np.repeat(x, 3, axis=2)
    return CheckedImage(np.ascontiguousarray(x, np.float32), notes)
