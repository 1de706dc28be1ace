"""Colour rules of a rule pack applied to a costume palette: seed 002 section 5.1's "HSL calibration
based on the national colour prototype", numpy only.

A palette maps a costume part to (ground, ink) sRGB colours in [0, 1]. Each colour is named by its
HSL coordinates (:func:`colour_name`: black, white, grey, red, orange, yellow, green, blue, purple,
brown). Each colour rule of the pack is then applied or reported, and every entry of the report
names the rule's id, its kind, its pack source and the rule pack's status (so an illustrative rule
is never presented as ethnographic fact):

- ``avoid-combination`` (colours [a, b]): when the costume shows both, the colours named like the
  second are moved in hue (HSL rotation) until they are named otherwise: "applied". The rule's
  ``context`` is recorded; the rule is applied whatever the prompt (conservative).
- ``context-meaning`` (colour, meanings {context: appropriate | inappropriate}): when the prompt
  names a context marked inappropriate and the costume shows the colour, that colour is
  desaturated to a grey of the same lightness: "applied"; otherwise "checked".
- ``restrict-to-gender`` (symbol, gender): the costume's patterns are checked for the symbol; the
  shipped bank (Japanese crests) holds none of the pack's symbols: "not applicable".
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np

Colour = tuple[float, ...]  # linear RGB, 3 values in 0..1
Palette = dict[str, tuple[Colour, Colour]]

#: The costume palette before rules (sRGB; product choice, not a cultural rule): a ground and an ink
#: colour per dressed part, close to the default dancer's flat colours.
DEFAULT_PALETTE: Palette = {
    "HM Bodice": ((0.62, 0.10, 0.12), (0.95, 0.80, 0.35)),
    "HM Skirt": ((0.10, 0.13, 0.42), (0.92, 0.88, 0.78)),
    "HM Sleeves": ((0.93, 0.78, 0.30), (0.05, 0.05, 0.06)),
    "HM Headdress": ((0.95, 0.80, 0.30), (0.50, 0.08, 0.10)),
}
DRESSED_PARTS = tuple(DEFAULT_PALETTE)


def colour_name(rgb: Colour) -> str:
    """A coarse colour name from HSL (hue bands in degrees; product choice)."""
    h, light, s = colorsys.rgb_to_hls(*rgb)
    deg = h * 360
    if light < 0.15:
        return "black"
    if light > 0.9 and s < 0.3:
        return "white"
    if s < 0.2:
        return "grey"
    if deg < 15 or deg >= 340:
        return "red" if light >= 0.25 else "brown"
    if deg < 40:
        return "orange" if light >= 0.45 else "brown"
    if deg < 70:
        return "yellow" if light >= 0.35 else "brown"
    if deg < 170:
        return "green"
    if deg < 260:
        return "blue"
    return "purple"


def _rotate_until(rgb: Colour, avoid: str, step: float = 10.0) -> Colour:
    h, light, s = colorsys.rgb_to_hls(*rgb)
    if avoid == "black":  # a hue turn cannot help a black: lift it to a dark indigo instead
        return colorsys.hls_to_rgb(0.64, 0.25, max(s, 0.5))
    for k in range(1, 36):
        for sign in (-1, 1):  # the nearest hue first, towards warmer before cooler
            c = colorsys.hls_to_rgb((h + sign * k * step / 360) % 1, light, s)
            if colour_name(c) != avoid:
                return c
    return colorsys.hls_to_rgb(h, light, 0.0)


def apply_colour_rules(palette: Palette, rules: list[dict[str, Any]], pack_name: str, pack_status: str,
                       prompt: str = "", symbols: list[str] | None = None) -> tuple[Palette, list[dict[str, Any]]]:
    """(the calibrated palette, one report entry per rule). ``symbols``: ids of the symbols shown."""
    pal = {k: (tuple(g), tuple(i)) for k, (g, i) in palette.items()}
    words = set("".join(c if c.isalnum() else " " for c in prompt.lower()).split())
    report = []
    for r in rules:
        entry: dict[str, Any] = {"rule": r["id"], "kind": r["kind"], "source": r.get("source"), "pack": pack_name,
                                 "pack_status": pack_status}
        if r["kind"] == "avoid-combination":
            a, b = (str(x).lower() for x in r["colours"][:2])
            names = {colour_name(c) for g, i in pal.values() for c in (g, i)}
            entry["context"] = r.get("context")
            if a in names and b in names:
                changed = []
                for part, (g, i) in pal.items():
                    new = tuple(_rotate_until(c, b) if colour_name(c) == b else c for c in (g, i))
                    if new != (g, i):
                        changed.append(part)
                        pal[part] = new  # type: ignore[assignment]
                entry.update(status="applied", action=f"{b} moved off its hue on {', '.join(changed)}")
            else:
                entry.update(status="checked", action=f"the costume does not combine {a} and {b}")
        elif r["kind"] == "context-meaning":
            col = str(r["colour"]).lower()
            bad = [ctx for ctx, m in r["meanings"].items() if m == "inappropriate" and ctx.lower() in words]
            shows = [p for p, (g, i) in pal.items() if col in (colour_name(g), colour_name(i))]
            if bad and shows:
                for part in shows:
                    pal[part] = tuple(colorsys.hls_to_rgb(0, colorsys.rgb_to_hls(*c)[1], 0)  # type: ignore[assignment]
                                      if colour_name(c) == col else c for c in pal[part])
                entry.update(status="applied", action=f"{col} greyed on {', '.join(shows)} (prompt names {bad[0]})")
            else:
                entry.update(status="checked", action=f"no context marked inappropriate for {col} in the prompt"
                             if not bad else f"the costume shows no {col}")
        elif r["kind"] == "restrict-to-gender":
            shown = r["symbol"] in (symbols or [])
            entry.update(status="checked" if shown else "not applicable",
                         action=(f"symbol {r['symbol']} is on the costume; restricted to {r['gender']} characters"
                                 if shown else f"symbol {r['symbol']} is not in the pattern bank"))
        else:
            entry.update(status="not applicable", action="unknown rule kind")
        report.append(entry)
    return pal, report


def recolour(ink: np.ndarray, ground: Colour, ink_colour: Colour) -> np.ndarray:
    """A crest tile's ink share (H, W) in [0, 1] (1 = ink) -> RGBA float (H, W, 4) in the palette."""
    a = np.clip(ink, 0, 1)[..., None]
    rgb = (1 - a) * np.asarray(ground, np.float32) + a * np.asarray(ink_colour, np.float32)
    return np.concatenate([rgb, np.ones_like(a)], -1).astype(np.float32)


def ink_share(rgb: np.ndarray) -> np.ndarray:
    """Ink (dark strokes) share of a crest image (H, W, 3) float [0, 1]: 1 on ink, 0 on paper,
    normalised by the image's own paper and ink levels (worn paper does not read as ink)."""
    g = np.asarray(rgb, np.float32)[..., :3].mean(-1)
    lo, hi = np.percentile(g, 3), np.percentile(g, 85)
    return np.clip((hi - g) / max(hi - lo, 1e-3), 0, 1)
