"""Neural-network layers in numpy, for inference inside Blender (no torch there).

Every function takes torch's weight layouts, so a model trained in ``training/`` runs here from its
state dict exported to ``.npz`` unchanged: ``nn.Conv2d`` weight ``(O, C, k, k)``, ``nn.ConvTranspose2d``
weight ``(C, O, k, k)``, ``nn.Linear`` weight ``(O, I)``, ``nn.LSTM`` gate order i, f, g, o.
Images are ``(N, C, H, W)`` float32 as in torch. Spectral norm is a training-time reparametrisation:
export the normalised weight (``module.weight`` after a forward pass in eval mode), never
``weight_orig``. ``tests/test_layers.py`` checks each layer against torch.
"""

from __future__ import annotations

import numpy as np

_SWV = np.lib.stride_tricks.sliding_window_view


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def leaky_relu(x: np.ndarray, slope: float = 0.2) -> np.ndarray:
    """LeakyReLU; 0.2 is seed 001's alpha (its eq. 11)."""
    return np.where(x > 0, x, slope * x)


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # tanh form: no overflow for large |x|


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as torch's default ``nn.GELU()``."""
    from ..text.encoder import _erf

    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """x (..., I), w (O, I) -> (..., O)."""
    y = x @ w.T
    return y + b if b is not None else y


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Over the last axis, as ``nn.LayerNorm(D)``."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _pad(x: np.ndarray, pad: int, mode: str) -> np.ndarray:
    if pad == 0:
        return x
    if mode not in ("zeros", "reflect", "replicate"):
        raise ValueError(f"padding mode {mode!r}: expected zeros, reflect or replicate")
    widths = ((0, 0), (0, 0), (pad, pad), (pad, pad))
    if mode == "zeros":
        return np.pad(x, widths)
    return np.pad(x, widths, mode="reflect" if mode == "reflect" else "edge")


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1, pad: int = 0,
           pad_mode: str = "zeros") -> np.ndarray:
    """As ``nn.Conv2d(C, O, k, stride, pad, padding_mode=...)``: x (N, C, H, W), w (O, C, k, k)
    -> (N, O, H', W'), by im2col and one matmul per image (float32 throughout). The columns are
    gathered one kernel tap at a time as (C, k, k, H'W') blocks of strided slices, which copies
    rows rather than scattered elements."""
    n, c, _, _ = x.shape
    o, ci, k, k2 = w.shape
    if ci != c or k != k2:
        raise ValueError(f"conv2d: input has {c} channels, weight {w.shape}")
    xp = _pad(np.asarray(x, np.float32), pad, pad_mode)
    ho, wo = (xp.shape[2] - k) // stride + 1, (xp.shape[3] - k) // stride + 1
    w2 = np.asarray(w, np.float32).reshape(o, -1)
    out = np.empty((n, o, ho, wo), np.float32)
    cols = np.empty((c, k, k, ho, wo), np.float32)
    for i in range(n):
        for dy in range(k):
            for dx in range(k):
                cols[:, dy, dx] = xp[i, :, dy:dy + stride * (ho - 1) + 1:stride, dx:dx + stride * (wo - 1) + 1:stride]
        y = w2 @ cols.reshape(c * k * k, ho * wo)
        if b is not None:
            y += np.asarray(b, np.float32)[:, None]
        out[i] = y.reshape(o, ho, wo)
    return out


def conv_transpose2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 2,
                     pad: int = 1) -> np.ndarray:
    """As ``nn.ConvTranspose2d(C, O, k, stride, pad)``: x (N, C, H, W), w (C, O, k, k)
    -> (N, O, (H-1)*stride - 2*pad + k, ...). Written as a stride-1 convolution of the zero-dilated
    input with the flipped kernel, so it shares :func:`conv2d`'s single matmul."""
    n, c, h, wd = x.shape
    ci, o, k, _ = w.shape
    if ci != c:
        raise ValueError(f"conv_transpose2d: input has {c} channels, weight {w.shape}")
    if stride > 1:
        d = np.zeros((n, c, (h - 1) * stride + 1, (wd - 1) * stride + 1), np.float32)
        d[:, :, ::stride, ::stride] = x
    else:
        d = np.asarray(x, np.float32)
    wf = np.ascontiguousarray(np.asarray(w, np.float32)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return conv2d(d, wf, b, stride=1, pad=k - 1 - pad)


def batch_norm(x: np.ndarray, mean: np.ndarray, var: np.ndarray, w: np.ndarray, b: np.ndarray,
               eps: float = 1e-5) -> np.ndarray:
    """Inference-time ``nn.BatchNorm2d`` (running statistics) over axis 1 of (N, C, H, W)."""
    scale = (w / np.sqrt(var + eps)).astype(np.float32)
    shift = (b - mean * scale).astype(np.float32)
    return x * scale[None, :, None, None] + shift[None, :, None, None]


def instance_norm(x: np.ndarray, w: np.ndarray | None = None, b: np.ndarray | None = None,
                  eps: float = 1e-5) -> np.ndarray:
    """``nn.InstanceNorm2d`` (affine when w, b are given) over each (H, W) plane."""
    mu = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if w is not None and b is not None:
        y = y * w[None, :, None, None] + b[None, :, None, None]
    return y


def self_attention(x: np.ndarray, wq: np.ndarray, bq: np.ndarray, wk: np.ndarray, bk: np.ndarray,
                   wv: np.ndarray, bv: np.ndarray, gamma: float) -> np.ndarray:
    """Seed 001 eq. 13 as a residual block (SAGAN): Q, K, V by 1x1 convolutions (weights (C', C, 1, 1)),
    A = softmax(Q K^T / sqrt(d_k)) over the H*W positions, out = x + gamma * (A V).
    x (N, C, H, W) -> (N, C, H, W)."""
    n, c, h, wd = x.shape
    flat = x.reshape(n, c, h * wd).transpose(0, 2, 1)  # (N, HW, C)
    q = linear(flat, wq.reshape(wq.shape[0], -1), bq)
    k = linear(flat, wk.reshape(wk.shape[0], -1), bk)
    v = linear(flat, wv.reshape(wv.shape[0], -1), bv)
    a = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1]), axis=-1)
    out = (a @ v).transpose(0, 2, 1).reshape(n, -1, h, wd)
    return x + np.float32(gamma) * out


def multi_head_attention(q_in: np.ndarray, kv_in: np.ndarray, in_w: np.ndarray, in_b: np.ndarray,
                         out_w: np.ndarray, out_b: np.ndarray, heads: int,
                         kv_mask: np.ndarray | None = None) -> np.ndarray:
    """As ``nn.MultiheadAttention(D, heads, batch_first=True)`` with q = q_in, k = v = kv_in:
    q_in (N, Lq, D), kv_in (N, Lk, D), in_w (3D, D), in_b (3D,), out_w (D, D); ``kv_mask`` (N, Lk)
    True where a key is padding (torch's key_padding_mask). -> (N, Lq, D)."""
    n, lq, d = q_in.shape
    lk = kv_in.shape[1]
    hd = d // heads
    q = linear(q_in, in_w[:d], in_b[:d]).reshape(n, lq, heads, hd).transpose(0, 2, 1, 3)
    k = linear(kv_in, in_w[d:2 * d], in_b[d:2 * d]).reshape(n, lk, heads, hd).transpose(0, 2, 1, 3)
    v = linear(kv_in, in_w[2 * d:], in_b[2 * d:]).reshape(n, lk, heads, hd).transpose(0, 2, 1, 3)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
    if kv_mask is not None:
        s = np.where(kv_mask[:, None, None, :], -np.inf, s)
    o = (softmax(s, axis=-1) @ v).transpose(0, 2, 1, 3).reshape(n, lq, d)
    return linear(o, out_w, out_b)


def lstm(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray,
         reverse: bool = False) -> np.ndarray:
    """One direction of one ``nn.LSTM(batch_first=True)`` layer: x (N, T, I) -> hidden states (N, T, H)."""
    n, t, _ = x.shape
    hsz = w_hh.shape[1]
    pre = linear(x, w_ih, b_ih + b_hh)  # (N, T, 4H), input part for all steps at once
    h = np.zeros((n, hsz), np.float32)
    c = np.zeros((n, hsz), np.float32)
    out = np.zeros((n, t, hsz), np.float32)
    steps = range(t - 1, -1, -1) if reverse else range(t)
    for i in steps:
        g = pre[:, i] + h @ w_hh.T
        gi, gf, gg, go = np.split(g, 4, axis=1)
        c = sigmoid(gf) * c + sigmoid(gi) * np.tanh(gg)
        h = sigmoid(go) * np.tanh(c)
        out[:, i] = h
    return out


def bilstm(x: np.ndarray, w: dict[str, np.ndarray], prefix: str = "", layer: int = 0) -> np.ndarray:
    """One bidirectional ``nn.LSTM`` layer from its state dict (``weight_ih_l0``, ``..._reverse``):
    x (N, T, I) -> (N, T, 2H), forward then backward halves as torch concatenates them."""
    def p(name: str, sfx: str) -> np.ndarray:
        return w[f"{prefix}{name}_l{layer}{sfx}"]

    fwd = lstm(x, p("weight_ih", ""), p("weight_hh", ""), p("bias_ih", ""), p("bias_hh", ""))
    bwd = lstm(x, p("weight_ih", "_reverse"), p("weight_hh", "_reverse"), p("bias_ih", "_reverse"),
               p("bias_hh", "_reverse"), reverse=True)
    return np.concatenate([fwd, bwd], axis=-1)


def conv_transpose2d_subpixel(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 2,
                              pad: int = 0) -> np.ndarray:
    """Same result as :func:`conv_transpose2d` (``nn.ConvTranspose2d(C, O, k, stride, pad)``), computed
    per output phase instead of on the zero-dilated input: output row ``o`` with ``(o + pad) % stride = r``
    takes only the taps ``r, r + stride, ...``, a small stride-1 convolution of the undilated input.
    About ``stride**2`` times less work and memory (the dilated input's im2col is mostly zeros).
    x (N, C, H, W), w (C, O, k, k) -> (N, O, (H-1)*stride - 2*pad + k, ...)."""
    n, c, h, wd = x.shape
    ci, o, k, _ = w.shape
    if ci != c:
        raise ValueError(f"conv_transpose2d_subpixel: input has {c} channels, weight {w.shape}")
    ho, wo = (h - 1) * stride - 2 * pad + k, (wd - 1) * stride - 2 * pad + k
    out = np.zeros((n, o, ho, wo), np.float32)
    xf = np.asarray(x, np.float32)
    wf = np.asarray(w, np.float32)
    for rh in range(min(stride, k)):
        for rw in range(min(stride, k)):
            sub = wf[:, :, rh::stride, rw::stride]  # taps of this phase (C, O, Jh, Jw)
            jh, jw = sub.shape[2], sub.shape[3]
            kern = np.ascontiguousarray(sub[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
            xp = np.pad(xf, ((0, 0), (0, 0), (jh - 1, jh - 1), (jw - 1, jw - 1)))
            if jh != jw:  # conv2d takes square kernels: pad the short side's taps with zeros
                j = max(jh, jw)
                kern = np.pad(kern, ((0, 0), (0, 0), (j - jh, 0), (j - jw, 0)))
                xp = np.pad(xp, ((0, 0), (0, 0), (j - jh, 0), (j - jw, 0)))
            z = conv2d(xp, kern)  # z[m] for m = 0 .. H + J - 2: output o = m * stride + r - pad
            m0h = -((rh - pad) // stride)  # first m with o >= 0
            m0w = -((rw - pad) // stride)
            oh0, ow0 = m0h * stride + rh - pad, m0w * stride + rw - pad
            nh = len(range(oh0, ho, stride))
            nw = len(range(ow0, wo, stride))
            out[:, :, oh0::stride, ow0::stride] = z[:, :, m0h:m0h + nh, m0w:m0w + nw]
    if b is not None:
        out += np.asarray(b, np.float32)[None, :, None, None]
    return out
