"""The autoregressive MDN-LSTM (issue #10) in numpy: inference only, no Blender, no torch.

Loads ``motion_core/weights/motion_ar.npz`` (written by ``python -m training.export_ar``) and runs
the network of ``training/ar_model.py`` frame by frame: each frame is drawn from a K = 5 diagonal
Gaussian mixture conditioned on the frames drawn before it, the prompt and the target skeleton.

* ``canonical`` mode: per frame, the component with the highest cultural weight
  ``w_k = pi_k * p_prior(mu_k)`` (``p_prior``: the pose prior of the training (content, style) pair
  whose captions are closest to the prompt, as in :mod:`motion_core.generate`), then a value from it at
  ``temperature``;
* ``diverse`` mode: the component drawn by ``pi`` (sharpened by the temperature), then a value.

The model also gives a contact probability per foot each frame; :func:`ground_root` uses it to make
the root travel with the legs (a planted foot does not slide), and callers can hand the contacts to
the foot locks. Everything random comes from one local ``numpy.random.Generator`` seeded by the
caller: the same inputs and seed give the same motion.

API::

    model = load_ar_model(path=None)                       # ARModelError (a ValueError) on a bad file
    tokens = token_states(encoder, "a slow salsa")         # (L, 384) MiniLM token states
    out = generate_ar(model, tokens, tpose, seconds, seed, mode="canonical", temperature=0.6)
    out.vectors (T, 130) raw pose vectors, out.contacts (T, 2) probabilities, out.info (dict)
    motion = to_motion(model, out.vectors)                 # canonical Motion at 25 fps
    ik.lock_feet(motion, pack, planted=ik.planted(out.contacts))  # the model's contacts drive the foot locks
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from .. import config
from ..skeleton import canonical
from ..skeleton.motion import Motion
from ..text.encoder import TextEncoder
from . import pose_vector as pv
from .generate import Generation, ModelError, Weights, read_weights, skeleton_feature

FORMAT = "heritage-motion/ar-mdn"
FORMAT_VERSION = 1
SHIPPED = Path(__file__).resolve().parents[1] / "weights" / "motion_ar.npz"
MODES = ("canonical", "diverse")
#: per core LSTM layer: (stacked [input; recurrent] weights (in + H, 4H), bias (4H,)), gate-scaled
Layers = list[tuple[np.ndarray, np.ndarray]]
#: Default sampling temperature (scales every sampled sigma). Product choice: 0.6, as the measured baseline.
TEMPERATURE = 0.6
#: Frames generated and dropped before the output starts, so it does not open on the prior's mean
#: pose (the start frame) but on motion the model has settled into. Product choice: 0.4 s.
BURN_IN = 10
#: Per-frame draws (the component chosen anew each frame, then a value) carry frame-to-frame noise
#: that real motion does not have; the returned motion is low-passed by a Gaussian of this many
#: frames (sigma; 1 frame = 40 ms: halves 6.6 Hz, keeps 88 % at 2 Hz). Product choice.
SMOOTH_FRAMES = 1.0
REQUIRED = ("token_lstm.weight_ih_l0", "token_lstm.weight_ih_l0_reverse", "text_proj.weight", "skel_proj.weight",
            "core.weight_ih_l0", "pi.weight", "mu.weight", "log_sigma.weight", "contact.weight",
            "mean", "std", "prior_mean", "prior_std", "pair_emb", "tpose", "meta")
TO_DO = "re-export it with python -m training.export_ar CHECKPOINT (see motion_core/weights/MODEL_CARD.md)"


class ARModelError(ModelError, ValueError):
    """The autoregressive model's weights are missing, unreadable, of another kind or an old format."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


# --------------------------------------------------------------------------------------------
# Text: MiniLM token states (the encoder's forward pass without the pooling)


def token_states(encoder: TextEncoder, text: str) -> np.ndarray:
    """(L, 384) MiniLM token states of ``text`` (:meth:`TextEncoder.token_states`)."""
    return encoder.token_states(text)


def sentence_embedding(tokens: np.ndarray) -> np.ndarray:
    s = tokens.mean(0)
    return (s / np.linalg.norm(s)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# The model


def _gate_scale(h: int) -> np.ndarray:
    """sigmoid(x) = (1 + tanh(x / 2)) / 2: pre-scaling the i, f, o rows by 1/2 lets one tanh give
    every gate (PyTorch order i, f, g, o; g is a tanh already)."""
    s = np.full(4 * h, 0.5, dtype=np.float32)
    s[2 * h:3 * h] = 1.0
    return s


@dataclass
class ARModel(Weights):
    """The network's weights (float32) and metadata; :meth:`generate` is the pipeline's interface
    (:class:`motion_core.models.generate.MotionGenerator`), :func:`generate_ar` the full one."""

    kind: ClassVar[str] = "ar-mdn-lstm"
    REQUIRED: ClassVar[tuple[str, ...]] = REQUIRED

    _prep: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path) -> ARModel:
        return load_ar_model(path)

    def generate(self, text: str, encoder: TextEncoder, seconds: float, seed: int, mode: str = "canonical",
                 tpose: np.ndarray | None = None, temperature: float | None = None) -> Generation:
        """The pipeline's entry: :func:`generate_ar` on the prompt's token states, as a canonical
        Motion with the model's foot contacts and a generation record for the audit."""
        g = generate_ar(self, encoder.token_states(text), tpose, seconds, seed, mode,
                        TEMPERATURE if temperature is None else temperature)
        shares = g.info["component_share"]
        pair = dict(g.info["prior_pair"])
        pair["source"] = ("training clips of this pair (Bandai-Namco, CC BY-NC 4.0; CMU dance, "
                          "free with acknowledgement)")
        info = {"prompt": text, "seconds": g.info["frames"] / config.FPS, **g.info, "prior_pair": pair,
                "component": int(np.argmax(shares)), "mixture_weights": None, "cultural_weights": None,
                "model": {**g.info["model"], "kind": self.kind,
                          "motion_core_version": self.meta.get("motion_core_version")}}
        return Generation(to_motion(self, g.vectors), info, None, g.contacts)

    # -- text and skeleton ---------------------------------------------------------------------

    def _lstm_dir(self, x: np.ndarray, sfx: str) -> np.ndarray:
        p = self.params
        h_size = p["token_lstm.weight_hh" + sfx].shape[1]
        sc = _gate_scale(h_size)
        gx = (x @ p["token_lstm.weight_ih" + sfx].T + p["token_lstm.bias_ih" + sfx] + p["token_lstm.bias_hh" + sfx]) * sc
        w_hh = p["token_lstm.weight_hh" + sfx].T * sc
        h = np.zeros(h_size, np.float32)
        c = np.zeros(h_size, np.float32)
        out = np.empty((len(x), h_size), np.float32)
        for t in range(len(x)):
            z = np.tanh(gx[t] + h @ w_hh)
            g = 0.5 + 0.5 * z
            c = g[h_size:2 * h_size] * c + g[:h_size] * z[2 * h_size:3 * h_size]
            h = g[3 * h_size:] * np.tanh(c)
            out[t] = h
        return out

    def text_embedding(self, tokens: np.ndarray) -> np.ndarray:
        """(L, 384) token states -> (256,)."""
        tokens = np.asarray(tokens, np.float32)
        fwd = self._lstm_dir(tokens, "_l0")
        bwd = self._lstm_dir(tokens[::-1], "_l0_reverse")[::-1]
        pooled = np.concatenate([fwd, bwd], -1).mean(0)
        return np.tanh(self._linear(sentence_embedding(tokens), "text_proj") + pooled).astype(np.float32)

    def condition(self, tokens: np.ndarray, skel: np.ndarray) -> np.ndarray:
        return np.concatenate([self.text_embedding(tokens), self._linear(np.asarray(skel, np.float32), "skel_proj")])

    # -- frames --------------------------------------------------------------------------------

    def prepared(self, cond: np.ndarray) -> Layers:
        """Per prompt: each core layer's [input; recurrent] weights stacked (in + H, 4H), gate-scaled,
        with layer 0's constant conditioning folded into its bias; the heads stacked (H, K + K*D + 2)."""
        p, h, d = self.params, self.hidden, pv.DIM
        sc = _gate_scale(h)
        if "core" not in self._prep:  # the weights once per model; only layer 0's bias depends on the prompt
            stacked = []
            for layer in range(self.layers):
                w_ih, w_hh = p[f"core.weight_ih_l{layer}"], p[f"core.weight_hh_l{layer}"]
                w_ih = w_ih[:, :d] if layer == 0 else w_ih
                stacked.append(np.ascontiguousarray(np.concatenate([w_ih.T, w_hh.T], 0) * sc))
            self._prep["core"] = stacked
        layers = []
        for layer in range(self.layers):
            bias = p[f"core.bias_ih_l{layer}"] + p[f"core.bias_hh_l{layer}"]
            if layer == 0:
                bias = bias + p["core.weight_ih_l0"][:, d:] @ cond
            layers.append((self._prep["core"][layer], (bias * sc).astype(np.float32)))
        if "heads" not in self._prep:
            w = np.concatenate([p["pi.weight"], p["mu.weight"], p["contact.weight"]], 0).T
            b = np.concatenate([p["pi.bias"], p["mu.bias"], p["contact.bias"]])
            self._prep["heads"] = (np.ascontiguousarray(w), b)
            self._prep["sigma"] = (np.ascontiguousarray(p["log_sigma.weight"].T), p["log_sigma.bias"])
        return layers

    def step(self, x: np.ndarray, hs: list[np.ndarray], cs: list[np.ndarray], layers: Layers) -> np.ndarray:
        """One frame through the core LSTM (updates ``hs``/``cs`` in place); returns the top h."""
        h_size = self.hidden
        for i, (w, b) in enumerate(layers):
            z = np.tanh(np.concatenate([x, hs[i]]) @ w + b)
            g = 0.5 + 0.5 * z
            cs[i] = g[h_size:2 * h_size] * cs[i] + g[:h_size] * z[2 * h_size:3 * h_size]
            hs[i] = g[3 * h_size:] * np.tanh(cs[i])
            x = hs[i]
        return x

    def heads(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """h (..., H) -> log_pi (..., K), mu (..., K, D), contact logits (..., 2)."""
        w, b = self._prep["heads"]
        out = h @ w + b
        k, d = self.k, pv.DIM
        logits = out[..., :k]
        log_pi = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
        return log_pi, out[..., k:k + k * d].reshape(*h.shape[:-1], k, d), out[..., k + k * d:]

    def sigma(self, h: np.ndarray, comp: int | None = None) -> np.ndarray:
        """sigma of one component (..., D), or of all (..., K, D) when ``comp`` is None."""
        w, b = self._prep["sigma"]
        d = pv.DIM
        if comp is not None:
            return (self.meta["sigma_floor"] + _softplus(h @ w[:, comp * d:(comp + 1) * d] + b[comp * d:(comp + 1) * d])
                    ).astype(np.float32)
        return (self.meta["sigma_floor"] + _softplus(h @ w + b)).reshape(*h.shape[:-1], self.k, d).astype(np.float32)

    def teacher_forced(self, prev: np.ndarray, tokens: np.ndarray,
                       skel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Run the network over given previous frames (T, D), normalised: for tests against torch.
        Returns log_pi (T, K), mu (T, K, D), sigma (T, K, D), contact logits (T, 2)."""
        layers = self.prepared(self.condition(tokens, skel))
        hs = [np.zeros(self.hidden, np.float32) for _ in layers]
        cs = [np.zeros(self.hidden, np.float32) for _ in layers]
        top = np.stack([self.step(np.asarray(x, np.float32), hs, cs, layers) for x in prev])
        log_pi, mu, cl = self.heads(top)
        return log_pi, mu, self.sigma(top), cl


def load_ar_model(path: str | Path | None = None) -> ARModel:
    """Load exported weights (default: the shipped ``motion_core/weights/motion_ar.npz``)."""
    path = Path(path) if path else SHIPPED
    if not path.exists():
        raise ARModelError(f"autoregressive motion model not found at {path}; "
                           "train and export one (python -m training.train_ar, python -m training.export_ar)")
    def check(meta: dict) -> None:
        if meta.get("format") != FORMAT:
            kind = meta.get("model") or (f"phase-conditioned MDN (format {meta['format']})" if "format" in meta
                                         else "different kind of")
            raise ARModelError(f"{path} holds a {kind} model, not {FORMAT}; {TO_DO}")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ARModelError(f"{path} is format version {meta.get('format_version')}, this code reads "
                               f"{FORMAT_VERSION}; {TO_DO}")

    try:
        params, meta = read_weights(path, REQUIRED[:-1], "autoregressive model", TO_DO, check)
    except ARModelError:
        raise
    except ModelError as e:
        raise ARModelError(str(e)) from None
    return ARModel(params, meta, str(path))


# --------------------------------------------------------------------------------------------
# Generation


@dataclass
class ARGeneration:
    vectors: np.ndarray  # (T, 130) raw pose vectors at 25 fps (root grounded)
    contacts: np.ndarray  # (T, 2) contact probability, left and right foot
    info: dict


def nearest_pair(model: ARModel, tokens: np.ndarray) -> tuple[int, float]:
    sims = model.params["pair_emb"] @ sentence_embedding(tokens)
    i = int(np.argmax(sims))
    return i, float(sims[i])


def smooth(vectors: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Zero-phase Gaussian low-pass over time (edges reflected); ``sigma_frames`` 0 returns a copy."""
    v = np.array(vectors, np.float32)
    if sigma_frames <= 0 or len(v) < 2:
        return v
    half = max(1, int(np.ceil(3 * sigma_frames)))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma_frames) ** 2).astype(np.float32)
    k /= k.sum()
    padded = np.concatenate([v[1:half + 1][::-1], v, v[-half - 1:-1][::-1]]) if len(v) > half + 1 else \
        np.concatenate([np.repeat(v[:1], half, 0), v, np.repeat(v[-1:], half, 0)])
    out = np.zeros_like(v)
    for i, w in enumerate(k):
        out += w * padded[i:i + len(v)]
    return out


def generate_ar(model: ARModel, tokens: np.ndarray, tpose: np.ndarray | None, seconds: float, seed: int,
                mode: str = "canonical", temperature: float = TEMPERATURE, pair: int | None = None,
                ground: bool = True, smooth_frames: float = SMOOTH_FRAMES) -> ARGeneration:
    """``seconds`` of motion at 25 fps for a prompt given as MiniLM token states.

    Args:
        tokens: (L, 384) from :func:`token_states`.
        tpose: (21, 3) target T-pose (metres) for the skeleton feature; the model's own when None.
        mode: "canonical" (component by cultural weight) or "diverse" (component by pi).
        temperature: scales every sampled sigma (and sharpens pi in diverse mode); 0 gives the means.
        pair: index of the prior pair; the one whose captions are nearest the prompt when None.
        ground: correct the root so planted feet (contact probability > 0.5) do not slide.
        smooth_frames: the output's Gaussian low-pass (sigma in frames; 0 = raw samples). The network
            is fed its raw samples; only the returned motion is smoothed.
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is unknown; choose {' or '.join(MODES)}")
    if not (np.isfinite(seconds) and 0 < seconds <= 600):
        raise ValueError(f"duration {seconds!r} s is out of range")
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature {temperature!r} must be >= 0")
    t0 = time.perf_counter()
    frames = max(1, int(round(seconds * config.FPS)))
    rng = np.random.default_rng(seed)
    p = model.params
    tokens = np.asarray(tokens, np.float32)
    if pair is None:
        pair, sim = nearest_pair(model, tokens)
    else:
        sim = float(p["pair_emb"][pair] @ sentence_embedding(tokens))
    skel = skeleton_feature(p["tpose"] if tpose is None else tpose)
    layers = model.prepared(model.condition(tokens, skel))
    t_cond = time.perf_counter()

    k_n, d, rot = model.k, pv.DIM, pv.ROT_DIMS
    pm, ps = p["prior_mean"][pair], p["prior_std"][pair]
    log_norm = -np.log(ps).sum() - 0.5 * rot * np.log(2 * np.pi)
    inv_ps = (1.0 / ps).astype(np.float32)
    hs = [np.zeros(model.hidden, np.float32) for _ in layers]
    cs = [np.zeros(model.hidden, np.float32) for _ in layers]
    x = np.zeros(d, np.float32)
    x[:rot] = pm  # start from the prior pair's mean pose (root channels at the data mean)
    total = frames + BURN_IN
    out = np.empty((total, d), np.float32)
    contacts = np.empty((total, 2), np.float32)
    comps = np.empty(total, np.int64)
    eps = rng.standard_normal((total, d)).astype(np.float32)
    u = rng.random(total)
    w_heads, b_heads = model._prep["heads"]
    w_sig, b_sig = model._prep["sigma"]
    floor = np.float32(model.meta["sigma_floor"])
    t_net = t_mix = 0.0
    for t in range(total):
        a = time.perf_counter()
        h = model.step(x, hs, cs, layers)
        o = h @ w_heads + b_heads
        b_ = time.perf_counter()
        logits = o[:k_n]
        mu = o[k_n:k_n + k_n * d].reshape(k_n, d)
        if mode == "canonical":
            z = (mu[:, :rot] - pm) * inv_ps
            log_w = logits + (-0.5 * (z * z).sum(-1) + log_norm)  # log pi_k + log p_prior(mu_k), up to a constant
            k = int(np.argmax(log_w))
        else:
            lp = logits / max(temperature, 1e-3)
            pr = np.exp(lp - lp.max())
            k = int(min(np.searchsorted(np.cumsum(pr / pr.sum()), u[t]), k_n - 1))
        sig = floor + _softplus(h @ w_sig[:, k * d:(k + 1) * d] + b_sig[k * d:(k + 1) * d])
        x = (mu[k] + temperature * sig * eps[t]).astype(np.float32)
        out[t] = x
        contacts[t] = _sigmoid(o[k_n + k_n * d:])
        comps[t] = k
        t_net += b_ - a
        t_mix += time.perf_counter() - b_
    out, contacts, comps = out[BURN_IN:], contacts[BURN_IN:], comps[BURN_IN:]
    raw = smooth(out, smooth_frames) * p["std"] + p["mean"]
    t_gen = time.perf_counter()
    grounding: dict[str, float] = {}
    if ground:
        raw, grounding = ground_root(raw, contacts, p["tpose"], config.FPS)
    t_end = time.perf_counter()
    info = {
        "frames": frames, "fps": config.FPS, "seed": int(seed), "mode": mode, "temperature": float(temperature),
        "burn_in_frames": BURN_IN, "smooth_frames": float(smooth_frames),
        "prior_pair": {"index": int(pair), "content": model.meta["pairs"][pair][0],
                       "style": model.meta["pairs"][pair][1], "similarity": round(sim, 3)},
        "component_share": [round(float((comps == i).mean()), 3) for i in range(k_n)],
        "grounding": grounding,
        "timing_s": {"condition": round(t_cond - t0, 5), "network": round(t_net, 5), "mixture_and_sampling": round(t_mix, 5),
                     "ground_root": round(t_end - t_gen, 5), "total": round(t_end - t0, 5)},
        "model": {"file": model.source, "format": FORMAT, "trained_steps": model.meta.get("trained_steps")},
    }
    return ARGeneration(raw.astype(np.float32), contacts, info)


def ground_root(vectors: np.ndarray, contacts: np.ndarray, tpose: np.ndarray, fps: float,
                threshold: float = 0.5) -> tuple[np.ndarray, dict]:
    """Make the root travel with the legs: over frames where a foot is planted (contact probability
    above ``threshold`` and the ankle within ``CONTACT_HEIGHT_M`` of its floor, in this frame and the one
    before), shift the root's ground step by minus the mean horizontal slide of the planted ankles
    (low-passed), so a planted foot stays about where it is.

    The correction is written back into the ground velocity channels (heading frame), so the vector
    stays self-consistent. Returns the corrected copy and a small report."""
    vec = np.array(vectors, np.float64)
    m = pv.vector_to_motion(vec, np.asarray(tpose, np.float64), fps)
    pos = m.positions()
    feet = [canonical.INDEX["l_foot"], canonical.INDEX["r_foot"]]
    low = pos[:, feet, 2] - np.percentile(pos[:, feet, 2], 2) < config.CONTACT_HEIGHT_M  # (T, 2) near the floor
    on = (np.asarray(contacts) > threshold) & low
    planted = on[1:] & on[:-1]  # (T-1, 2)
    slide = np.diff(pos[:, feet, :2], axis=0)  # (T-1, 2, 2) world
    n = planted.sum(1)
    mean_slide = (slide * planted[..., None]).sum(1) / np.maximum(n, 1)[:, None]  # (T-1, 2)
    # The correction is low-passed like the output (it would otherwise copy frame-to-frame foot noise
    # into the root); what is left of the slide is for the foot locks (motion_core.ik.lock_feet).
    mean_slide = smooth(mean_slide, 2 * SMOOTH_FRAMES)
    rates = vec[:, pv.YAW_RATE].copy()
    rates[0] = 0.0
    yaw = np.cumsum(rates) / fps
    c, s = np.cos(yaw[1:]), np.sin(yaw[1:])
    # world step -> heading frame: R(yaw)^T
    corr = np.stack([c * mean_slide[:, 0] + s * mean_slide[:, 1], -s * mean_slide[:, 0] + c * mean_slide[:, 1]], -1)
    vec[1:, pv.VEL] -= corr * fps
    before = float(np.linalg.norm(slide, axis=-1)[planted].mean()) if planted.any() else 0.0
    return vec.astype(np.float32), {"planted_share": round(float(planted.any(1).mean()), 3),
                                    "ankle_slide_before_m_per_frame": round(before, 4)}


def to_motion(model: ARModel, vectors: np.ndarray) -> Motion:
    """Raw (T, 130) vectors -> canonical Motion on the model's skeleton (retarget to any rig)."""
    return pv.vector_to_motion(np.asarray(vectors, np.float64), model.params["tpose"].astype(np.float64), config.FPS)


def generate_prompt(model: ARModel, encoder: TextEncoder, prompt: str, seconds: float, seed: int, mode: str = "canonical",
                    temperature: float = TEMPERATURE, tpose: np.ndarray | None = None) -> ARGeneration:
    """Convenience: prompt text -> :class:`ARGeneration` (encodes the prompt with ``encoder``)."""
    g = generate_ar(model, token_states(encoder, " ".join(str(prompt).split())), tpose, seconds, seed, mode, temperature)
    g.info["prompt"] = prompt
    return g
