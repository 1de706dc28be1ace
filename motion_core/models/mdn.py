"""The phase-conditioned MDN-BiLSTM (seed 002 eq. 7) in numpy: inference only, inside a stock Blender.

Runs the ``.npz`` written by ``python -m training.export_model`` (model kind ``phase-mdn``), the
same network as ``training/model.py``; the tests check both agree within 1e-4 on the same inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from .. import config
from ..skeleton import canonical
from ..text.encoder import TextEncoder
from . import pose_vector as pv
from .generate import Generation, Weights, read_weights, skeleton_feature, smooth_noise


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def phase_features(frames: int, offset_s: float, fps: float = config.FPS) -> np.ndarray:
    """(T, 2 * len(PHASE_PERIODS_S)) sin/cos phase inputs, as in training/model.py."""
    t = np.arange(frames, dtype=np.float64) / fps + offset_s
    cols = []
    for period in config.PHASE_PERIODS_S:
        ang = 2 * math.pi * t / period
        cols += [np.sin(ang), np.cos(ang)]
    return np.stack(cols, -1).astype(np.float32)


@dataclass
class PhaseMDN(Weights):
    """Weights (float32 at run time) plus the statistics and metadata the generator needs."""

    kind: ClassVar[str] = "phase-mdn"
    #: arrays a weights file of this kind must hold
    REQUIRED: ClassVar[tuple[str, ...]] = (
        "text_proj.weight", "skel_proj.weight", "lstm.weight_ih_l0", "mu.weight", "log_sigma.weight", "pi.weight",
        "mean", "std", "floor", "prior_mean", "prior_std", "pair_emb", "tpose")

    @classmethod
    def load(cls, path: Path) -> PhaseMDN:
        params, meta = read_weights(path, cls.REQUIRED, "phase MDN",
                                    "train and export one (python -m training.train, python -m training.export_model)")
        return cls(params, meta, str(path))

    def _prepared(self, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per layer, computed once: input weights of both directions stacked (in, 8H), their bias,
        and the recurrent weights (2, H, 4H), all pre-scaled so one tanh gives every gate."""
        cache = self.__dict__.setdefault("_prep", {})
        if layer not in cache:
            p, h_size = self.params, self.hidden
            sfx = (f"_l{layer}", f"_l{layer}_reverse")
            scale = np.full(4 * h_size, 0.5, dtype=np.float32)
            scale[2 * h_size:3 * h_size] = 1.0  # the cell gate is a tanh, the others sigmoids
            w_ih = np.concatenate([p["lstm.weight_ih" + s].T * scale for s in sfx], 1)
            bias = np.concatenate([(p["lstm.bias_ih" + s] + p["lstm.bias_hh" + s]) * scale for s in sfx])
            w_hh = np.stack([p["lstm.weight_hh" + s].T * scale for s in sfx])
            cache[layer] = (np.ascontiguousarray(w_ih), bias, np.ascontiguousarray(w_hh))
        return cache[layer]

    def _lstm_layer(self, x: np.ndarray, layer: int) -> np.ndarray:
        """Both directions of one BiLSTM layer, stepped together: (T, in) -> (T, 2H).

        PyTorch gate order i, f, g, o. All four gates come from one tanh call per step, using
        sigmoid(x) = (1 + tanh(x / 2)) / 2, which keeps the Python loop short.
        """
        h_size = self.hidden
        w_ih, bias, w_hh = self._prepared(layer)
        t_len = x.shape[0]
        gx = (x @ w_ih + bias).reshape(t_len, 2, 4 * h_size).transpose(1, 0, 2).copy()
        gx[1] = gx[1][::-1]  # the backward direction walks the sequence from the end
        h = np.zeros((2, 1, h_size), dtype=np.float32)
        c = np.zeros((2, 1, h_size), dtype=np.float32)
        out = np.empty((2, t_len, h_size), dtype=np.float32)
        for t in range(t_len):
            # einsum, not BLAS: for a (1 x H) step BLAS call overhead (and thread hand-off) dominates
            z = np.tanh(gx[:, t:t + 1] + np.einsum("bij,bjk->bik", h, w_hh))  # (2, 1, 4H)
            gates = 0.5 + 0.5 * z
            c = gates[..., h_size:2 * h_size] * c + gates[..., :h_size] * z[..., 2 * h_size:3 * h_size]
            h = gates[..., 3 * h_size:] * np.tanh(c)
            out[:, t] = h[:, 0]
        return np.concatenate([out[0], out[1][::-1]], -1)

    def forward(self, text: np.ndarray, skel: np.ndarray, phase: np.ndarray,
                need_sigma: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One sequence: text (384,), skel (63,), phase (T, P) ->
        log_pi (K,), mu (T, K, D), sigma (T, K, D) or None when not needed; normalised units."""
        cond = np.concatenate([self._linear(text, "text_proj"), self._linear(skel, "skel_proj")]).astype(np.float32)
        x = np.concatenate([np.broadcast_to(cond, (phase.shape[0], cond.shape[0])), phase], -1).astype(np.float32)
        for layer in range(self.layers):
            x = self._lstm_layer(x, layer)
        t, d = x.shape[0], len(self.params["mean"])
        mu = self._linear(x, "mu").reshape(t, self.k, d)
        sigma = self.params["floor"] + _softplus(self._linear(x, "log_sigma")).reshape(t, self.k, d) if need_sigma else None
        logits = self._linear(x.mean(0), "pi")
        log_pi = logits - np.logaddexp.reduce(logits)
        return log_pi, mu, sigma

    def generate(self, text: str, encoder: TextEncoder, seconds: float, seed: int, mode: str = "canonical",
                 tpose: np.ndarray | None = None, temperature: float | None = None) -> Generation:
        """Seed 002 section 4: the component is chosen by the cultural weights
        ``w_k = pi_k * p_prior(mu_k)`` ("canonical") or sampled by ``pi_k`` ("diverse"), and kept for the
        whole sequence; the diverse noise is smooth in time, scaled by ``temperature`` (default 1).
        ``p_prior`` is the pose prior of the training (content, style) pair whose captions are closest
        to the prompt; the pair is reported."""
        frames = int(round(seconds * config.FPS))
        rng = np.random.default_rng(seed)
        emb = encoder.encode(text)[0]
        p = self.params
        skel = skeleton_feature(p["tpose"] if tpose is None else tpose)
        offset = float(rng.uniform(0.0, max(config.PHASE_PERIODS_S)))
        log_pi, mu, sigma = self.forward(emb, skel, phase_features(frames, offset), need_sigma=True)
        assert sigma is not None

        sims = p["pair_emb"] @ emb
        pair = int(np.argmax(sims))
        pm, ps = p["prior_mean"][pair], p["prior_std"][pair]
        rot = slice(0, pv.ROT_DIMS)
        z = (mu[:, :, rot] - pm) / ps  # (T, K, 126)
        log_prior = (-0.5 * z * z - np.log(ps) - 0.5 * np.log(2 * np.pi)).sum(-1).mean(0)  # (K,) per frame
        log_w = log_pi + log_prior
        if mode == "canonical":
            k = int(np.argmax(log_w))
            y = mu[:, k]
        else:
            k = int(rng.choice(len(log_pi), p=np.exp(log_pi) / np.exp(log_pi).sum()))
            scale = 1.0 if temperature is None else temperature
            y = mu[:, k] + scale * sigma[:, k] * smooth_noise(rng, frames, mu.shape[-1]).astype(np.float32)
        raw = y * p["std"] + p["mean"]
        spread = (sigma[:, k, rot] * p["std"][rot]).reshape(frames, len(canonical.JOINTS), 6).mean((0, 2))
        motion = pv.vector_to_motion(raw, p["tpose"].astype(np.float64), config.FPS)
        w = np.exp(log_w - log_w.max())
        info = {
            "prompt": text, "seconds": frames / config.FPS, "frames": frames, "fps": config.FPS, "seed": int(seed),
            "mode": mode, "component": k,
            "mixture_weights": [round(float(x), 4) for x in np.exp(log_pi)],
            "cultural_weights": [round(float(x), 4) for x in w / w.sum()],
            "prior_pair": {"content": self.meta["pairs"][pair][0], "style": self.meta["pairs"][pair][1],
                           "similarity": round(float(sims[pair]), 3),
                           "source": "training clips of this pair (Bandai-Namco, CC BY-NC 4.0)"},
            "model": {"file": self.source, "trained_steps": self.meta.get("trained_steps"),
                      "motion_core_version": self.meta.get("motion_core_version")},
        }
        return Generation(motion, info, np.degrees(spread))
