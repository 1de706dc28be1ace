"""The two pattern memory banks (seed 002 section 3) and their retrieval, numpy only.

- Visual bank: K prototypes (128, seed 002 section 3) found by K-means++ over the items' visual
  embeddings (cosine, spherical K-means); each prototype keeps its member items, and each item its
  image path, source and licence, so every prototype is traceable.
- Semantic bank: concept centroids c_k (seed 002 eq. 2: the mean semantic embedding of the items
  labelled k) beside each concept's caption embedding (MiniLM).
- Memory weights (seed 002 eq. 1): w_i = softmax(v_i . e / tau) over a bank's vectors.
- Gated fusion: each channel's confidence is the largest memory weight of eq. 1 over its bank
  (tau = GAMMA_TEMPERATURE); the gate g = conf_v / (conf_v + conf_s) weighs the visual and semantic
  similarities ("the gating mechanism prioritises the modality with higher confidence", section 3.1).

A bank is one ``.npz`` (arrays) and one ``.json`` (items, concepts, provenance) side by side.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from ..files import save_atomic, write_json_atomic
from .encoder import l2n

PROTOTYPES = 128  # seed 002 section 3: "128 vectors of tattoo prototypes"


def softmax(x: np.ndarray, tau: float, axis: int = -1) -> np.ndarray:
    z = x / tau
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def kmeans_pp(x: np.ndarray, k: int, seed: int = 0, iters: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Spherical K-means with K-means++ seeding on unit vectors ``x`` (N, D).
    Returns (centres (k, D) unit vectors, assignment (N,)). ``k`` is capped at N."""
    rng = np.random.default_rng(seed)
    n = len(x)
    k = min(k, n)
    centres = [x[rng.integers(n)]]
    d2 = np.full(n, np.inf)
    for _ in range(1, k):
        d2 = np.minimum(d2, np.maximum(2 - 2 * x @ centres[-1], 0))
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1 / n)
        centres.append(x[rng.choice(n, p=p)])
    c = np.stack(centres)
    assign = np.zeros(n, int)
    for it in range(iters):
        new = (x @ c.T).argmax(1)
        if it and np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            m = assign == j
            if m.any():
                c[j] = x[m].sum(0)
            else:  # an empty cluster takes the point farthest from its centre
                far = np.argmin((x * c[assign]).sum(1))
                c[j] = x[far]
                assign[far] = j
        c = l2n(c)
    return c.astype(np.float32), assign


def purity(assign: np.ndarray, labels: list[str | None]) -> float:
    """Share of each cluster's labelled members that carry its majority label, weighted by size
    (= sum over clusters of the majority count / number of labelled members). Unlabelled items
    (None) are left out."""
    by: dict[int, Counter] = {}
    for a, lab in zip(assign, labels, strict=True):
        if lab is not None:
            by.setdefault(int(a), Counter())[lab] += 1
    total = sum(sum(c.values()) for c in by.values())
    return sum(c.most_common(1)[0][1] for c in by.values()) / total if total else float("nan")


@dataclass
class PatternBank:
    vis: np.ndarray  # (N, 128) items' visual embeddings
    sem: np.ndarray  # (N, 384) items' semantic embeddings
    items: list[dict[str, Any]]  # path, label, source, licence, description ... per item
    prototypes: np.ndarray  # (K, 128)
    assign: np.ndarray  # (N,) prototype of each item
    medoid: np.ndarray  # (K,) item index of each prototype's representative (its texture)
    concepts: list[dict[str, Any]]  # label, caption, sacredness, margin per concept
    centroids: np.ndarray  # (C, 384) eq. 2 concept centroids (caption embedding where no member)
    captions: np.ndarray  # (C, 384) MiniLM embeddings of the concepts' captions
    info: dict[str, Any] = field(default_factory=dict)  # encoder, licence notice, data, purity ...

    # -- building --------------------------------------------------------------------------------
    @classmethod
    def build(cls, vis: np.ndarray, sem: np.ndarray, items: list[dict], concepts: list[dict],
              captions: np.ndarray, k: int = PROTOTYPES, seed: int = 0, info: dict | None = None,
              medoid_ok: np.ndarray | None = None) -> PatternBank:
        """K-means++ prototypes over ``vis`` and eq. 2 centroids over ``sem`` for the labelled items.
        ``medoid_ok`` (N,) bool: items allowed as a prototype's representative (e.g. shippable ones)."""
        vis, sem = l2n(np.asarray(vis, np.float32)), l2n(np.asarray(sem, np.float32))
        protos, assign = kmeans_pp(vis, k, seed)
        ok = np.ones(len(vis), bool) if medoid_ok is None else np.asarray(medoid_ok, bool)
        medoid = np.zeros(len(protos), int)
        for j in range(len(protos)):
            members = np.flatnonzero(assign == j)
            # a representative among the allowed members, else the allowed item nearest the prototype
            good = members[ok[members]] if ok[members].any() else (np.flatnonzero(ok) if ok.any() else members)
            medoid[j] = good[np.argmax(vis[good] @ protos[j])]
        labels = [it.get("label") for it in items]
        cents = []
        for c, cap in zip(concepts, captions, strict=True):
            m = [i for i, lab in enumerate(labels) if lab == c["label"]]
            cents.append(sem[m].mean(0) if m else cap)
        return cls(vis, sem, items, protos, assign, medoid, concepts, l2n(np.stack(cents)).astype(np.float32),
                   l2n(np.asarray(captions, np.float32)), dict(info or {}))

    # -- files -----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """``path`` (.npz) and ``path`` with .json: arrays in fp16, items and provenance as JSON."""
        path = Path(path)
        arrays = {"vis": self.vis.astype(np.float16), "sem": self.sem.astype(np.float16),
                  "prototypes": self.prototypes.astype(np.float16), "assign": self.assign.astype(np.int32),
                  "medoid": self.medoid.astype(np.int32), "centroids": self.centroids.astype(np.float16),
                  "captions": self.captions.astype(np.float16)}
        write_json_atomic(path.with_suffix(".json"), {
            "format": "heritage-motion-pattern-bank", "format_version": 1, "info": self.info,
            "concepts": self.concepts, "items": self.items,
            "prototypes": [{"index": j, "medoid": int(self.medoid[j]),
                            "members": np.flatnonzero(self.assign == j).tolist()} for j in range(len(self.prototypes))]})
        save_atomic(path, lambda tmp: np.savez_compressed(tmp, **arrays))  # type: ignore[arg-type]  # numpy's stub rejects **dict
        return path

    @classmethod
    def load(cls, path: str | Path) -> PatternBank:
        path = Path(path)
        z = np.load(path, allow_pickle=False)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("format") != "heritage-motion-pattern-bank":
            raise ValueError(f"{path.with_suffix('.json')}: not a pattern bank")
        f = {k: z[k].astype(np.float32) for k in ("vis", "sem", "prototypes", "centroids", "captions")}
        return cls(f["vis"], f["sem"], meta["items"], f["prototypes"], z["assign"].astype(int), z["medoid"].astype(int),
                   meta["concepts"], f["centroids"], f["captions"], meta.get("info", {}))

    # -- provenance ------------------------------------------------------------------------------
    def members(self, proto: int) -> list[int]:
        return np.flatnonzero(self.assign == proto).tolist()

    def provenance(self, proto: int) -> dict[str, Any]:
        """What a prototype is made of: its representative and members with source and licence."""
        mem = self.members(proto)
        labels = Counter(self.items[i].get("label") for i in mem if self.items[i].get("label"))
        med = self.items[int(self.medoid[proto])]
        return {"prototype": proto, "members": len(mem), "labels": dict(labels.most_common()),
                "unlabelled": len(mem) - sum(labels.values()),
                "representative_is_member": int(self.medoid[proto]) in mem,
                "representative": {k: med.get(k) for k in ("path", "label", "description", "source", "licence")},
                "licences": dict(Counter(self.items[i].get("licence") for i in mem))}

    # -- retrieval -------------------------------------------------------------------------------
    def memory_weights(self, e: np.ndarray, channel: str = "vis", tau: float = config.GAMMA_TEMPERATURE) -> np.ndarray:
        """Seed 002 eq. 1 over the visual prototypes ("vis") or concept centroids ("sem")."""
        bank = self.prototypes if channel == "vis" else self.centroids
        return softmax(np.atleast_2d(e) @ bank.T, tau)

    def gate(self, f: np.ndarray | None, s: np.ndarray | None) -> np.ndarray:
        """(Q,) weight of the visual channel: confidence-gated (1 with no semantic query, 0 with no visual)."""
        if s is None:
            assert f is not None, "gate needs a visual or a semantic query"
            return np.ones(len(np.atleast_2d(f)))
        if f is None:
            return np.zeros(len(np.atleast_2d(s)))
        cv = self.memory_weights(f, "vis").max(1)
        cs = self.memory_weights(s, "sem").max(1)
        return cv / (cv + cs)

    def scores(self, f: np.ndarray | None = None, s: np.ndarray | None = None) -> np.ndarray:
        """(Q, N) fused similarity of queries to the items: g cos(f, vis) + (1 - g) cos(s, sem).
        ``f``: visual query embeddings (an image), ``s``: semantic ones (an image's psi or a text's MiniLM)."""
        g = self.gate(f, s)[:, None]
        out = 0.0
        if f is not None:
            out = out + g * (np.atleast_2d(f) @ self.vis.T)
        if s is not None:
            out = out + (1 - g) * (np.atleast_2d(s) @ self.sem.T)
        return np.asarray(out)

    def retrieve(self, f: np.ndarray | None = None, s: np.ndarray | None = None, k: int = 5) -> np.ndarray:
        """(Q, k) item indices, best first."""
        sc = self.scores(f, s)
        k = min(k, sc.shape[1])
        top = np.argpartition(-sc, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(sc, top, 1).argsort(1)[:, ::-1]
        return np.take_along_axis(top, order, 1)

    def prototypes_for_text(self, s: np.ndarray, k: int = 4) -> list[int]:
        """The ``k`` distinct prototypes whose members best match a text embedding ``s`` (384,)."""
        sc = self.sem @ np.asarray(s, np.float32).ravel()
        best: dict[int, float] = {}
        for i in np.argsort(-sc):
            p = int(self.assign[i])
            if p not in best:
                best[p] = float(sc[i])
                if len(best) == k:
                    break
        return list(best)
