"""Natural-language captions for (content, style) labels, from ``captions.json``."""

from __future__ import annotations

import itertools
import json
import random
import re
from functools import lru_cache
from pathlib import Path

TEMPLATES_FILE = Path(__file__).with_name("captions.json")


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\ba ([aeiou])", r"an \1", text)
    text = re.sub(r"\ban ([^aeiou\s])", r"a \1", text)
    return text


def all_captions(content: str, style: str) -> list[str]:
    """Every distinct phrasing of a pair, sorted. Raises KeyError for an unknown label."""
    t = _table()
    if content not in t["contents"]:
        raise KeyError(f"no caption words for content {content!r}; add it to {TEMPLATES_FILE.name}")
    if style not in t["styles"]:
        raise KeyError(f"no caption words for style {style!r}; add it to {TEMPLATES_FILE.name}")
    c, s = t["contents"][content], t["styles"][style]
    out = set()
    for tpl in t["templates"]:
        needs_style = any(k in tpl for k in ("{adverb}", "{adj}"))
        if needs_style and not any(s["adverb"] + s["adj"]):
            continue
        for verb, gerund, noun, person, adverb, adj in itertools.product(
                c["verb"], c["gerund"], c["noun"], s["person"], s["adverb"], s["adj"]):
            if ("{adverb}" in tpl and not adverb) or ("{adj}" in tpl and not adj):
                continue
            if tpl.startswith("{adverb}") and " " in adverb:
                continue  # "in a feminine way dancing" reads badly; single adverbs only up front
            out.add(_tidy(tpl.format(verb=verb, gerund=gerund, noun=noun, person=person, adverb=adverb, adj=adj)))
    return sorted(out)


def captions(content: str, style: str, n: int = 8, seed: int = 0) -> list[str]:
    """``n`` phrasings of a pair, chosen reproducibly from :func:`all_captions`."""
    pool = all_captions(content, style)
    rng = random.Random(f"{content}|{style}|{seed}")
    return rng.sample(pool, min(n, len(pool)))
