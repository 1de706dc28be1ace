"""The MDN-BiLSTM motion model in numpy (inference only; it runs inside a stock Blender).

Loads the ``.npz`` written by ``python -m training.export_model`` and runs the same network as
``training/model.py``. The tests check both agree within 1e-4 on the same inputs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config

SHIPPED = Path(__file__).with_name("weights") / "motion_mdn.npz"


class ModelError(RuntimeError):
    """The motion model's weights are missing, unreadable or inconsistent."""


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
class MotionModel:
    """Weights (float32 at run time) plus the statistics and metadata the generator needs."""

    params: dict[str, np.ndarray]
    meta: dict
    source: str

    @property
    def k(self) -> int:
        return int(self.meta["k"])

    @property
    def hidden(self) -> int:
        return int(self.meta["hidden"])

    @property
    def layers(self) -> int:
        return int(self.meta["layers"])

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.params[name + ".weight"].T + self.params[name + ".bias"]

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


REQUIRED = ("text_proj.weight", "skel_proj.weight", "lstm.weight_ih_l0", "mu.weight", "log_sigma.weight", "pi.weight",
            "mean", "std", "floor", "prior_mean", "prior_std", "pair_emb", "tpose", "meta")


def load_model(path: str | Path | None = None) -> MotionModel:
    """Load exported weights (default: the shipped ``motion_core/weights/motion_mdn.npz``)."""
    path = Path(path) if path else SHIPPED
    if not path.exists():
        raise ModelError(f"motion model weights not found at {path}; "
                         "train and export one (python -m training.train, python -m training.export_model)")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in REQUIRED if k not in z.files]
            if missing:
                raise ModelError(f"{path} is not a Heritage Motion model: it lacks {', '.join(missing)}")
            meta = json.loads(str(z["meta"]))
            params = {k: z[k].astype(np.float32) for k in z.files if k != "meta"}
    except ModelError:
        raise
    except Exception as e:  # zip, pickle and decode errors all mean a corrupt file
        raise ModelError(f"motion model weights at {path} are unreadable ({type(e).__name__}: {e})") from None
    for k, v in params.items():
        if not np.all(np.isfinite(v)):
            raise ModelError(f"{path}: parameter {k} holds NaN or infinite values")
    return MotionModel(params, meta, str(path))
