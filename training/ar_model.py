"""The state-conditioned (autoregressive) MDN-LSTM of issue #10, in torch (training side only).

Per frame t the network reads the frame it produced last and predicts a mixture over the next one:

    e    = tanh(W_s s + mean_tokens BiLSTM(MiniLM token states))      256-d text embedding
    k    = W_k skel                                                    128-d skeleton feature
    h_t  = LSTM_2([y_{t-1} ; e ; k], h_{t-1})                          the motion state
    p(y_t | y_<t, text, skel) = sum_k pi_k,t N(mu_k,t, diag sigma_k,t^2)    K = 5
    p(contact_t) = sigmoid(W_c h_t)                                    one Bernoulli per foot

* ``s`` is the 384-d all-MiniLM-L6-v2 sentence embedding (unit norm), ``skel`` the target T-pose
  (21 x 3, divided by leg length) as in the seed model (:mod:`training.model`).
* **Where the bidirectional LSTM sits, and why.** It runs over the prompt's MiniLM token states
  (384-d per word piece, ``motion_core.models.ar_mdn.token_states``). That is the one place where a
  whole sequence is known before generation starts: the motion itself is produced causally, frame by
  frame, so a backward pass over it cannot exist at generation time. Reading the tokens in both
  directions lets "walk to the left" and "a left-handed wave" differ by word order and scope, which
  the mean-pooled sentence vector blurs; the residual ``W_s s`` keeps the pooled embedding, which is
  what makes unseen paraphrases land near the training captions. Cost at generation: one BiLSTM pass
  over about ten tokens, once per prompt.
* **The causal part** is a 2-layer LSTM over frames; the text and skeleton features enter every
  frame, so in numpy their contribution folds into a constant bias.
* **Outputs** are normalised 130-d pose vectors (:mod:`motion_core.pose_vector`). sigma =
  floor + softplus(.), with a floor of ``SIGMA_FLOOR`` normalised units: here sigma is the one-step
  innovation (how much the next frame may differ from what the state predicts), not the spread of a
  whole sequence, so the seed's per-joint floors (0.05 to 0.15 rad) would inject several degrees of
  white noise every frame; they are not used by this model.
* **Long horizons.** Training feeds back the model's own samples for part of every window
  (auto-conditioning, Zhou et al. 2018) and adds Gaussian noise to the ground-truth inputs
  (``training.train_ar``), so generation does not drift into poses it has never seen.

``motion_core.models.ar_mdn`` runs the same network in numpy; ``tests/test_ar_model.py`` checks both
agree on the same weights and inputs.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from motion_core import config
from motion_core.models import pose_vector as pv
from motion_core.skeleton import canonical

TEXT_IN = 384
SKEL_IN = len(canonical.JOINTS) * 3
CONTACTS = 2  # left foot, right foot
SIGMA_FLOOR = 0.02  # normalised units (product choice, see the module docstring)
TOKEN_HIDDEN = config.TEXT_EMBED_DIM // 2  # each direction; the two concatenated make the 256-d embedding


class ARMotionMDN(nn.Module):
    def __init__(self, mean: np.ndarray, std: np.ndarray, k: int = config.MDN_COMPONENTS, hidden: int = 256,
                 layers: int = 2):
        super().__init__()
        self.k, self.d, self.hidden, self.layers = k, pv.DIM, hidden, layers
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.token_lstm = nn.LSTM(TEXT_IN, TOKEN_HIDDEN, 1, batch_first=True, bidirectional=True)
        self.text_proj = nn.Linear(TEXT_IN, config.TEXT_EMBED_DIM)
        self.skel_proj = nn.Linear(SKEL_IN, config.SKELETON_FEATURE_DIM)
        self.core = nn.LSTM(self.d + config.TEXT_EMBED_DIM + config.SKELETON_FEATURE_DIM, hidden, layers,
                            batch_first=True)
        self.pi = nn.Linear(hidden, k)
        self.mu = nn.Linear(hidden, k * self.d)
        self.log_sigma = nn.Linear(hidden, k * self.d)
        self.contact = nn.Linear(hidden, CONTACTS)

    # -- conditioning ------------------------------------------------------------------------

    def text_embedding(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """tokens (B, L, 384) MiniLM token states (zero padded), lengths (B,) -> (B, 256).

        The sentence embedding is their masked mean, L2-normalised (what MiniLM's encode returns)."""
        b, l_max, _ = tokens.shape
        mask = (torch.arange(l_max, device=tokens.device)[None] < lengths[:, None]).float()
        sent = (tokens * mask[..., None]).sum(1) / lengths[:, None].float()
        sent = sent / sent.norm(dim=-1, keepdim=True)
        packed = nn.utils.rnn.pack_padded_sequence(tokens, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.token_lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=l_max)
        pooled = (out * mask[..., None]).sum(1) / lengths[:, None].float()
        return torch.tanh(self.text_proj(sent) + pooled)

    def condition(self, tokens, lengths, skel) -> torch.Tensor:
        """(B, 256 + 128): what enters every frame beside the previous pose."""
        return torch.cat([self.text_embedding(tokens, lengths), self.skel_proj(skel)], -1)

    # -- frames ------------------------------------------------------------------------------

    def heads(self, h: torch.Tensor):
        """h (..., H) -> log_pi (..., K), mu (..., K, D), sigma (..., K, D), contact logits (..., 2)."""
        shape = h.shape[:-1]
        log_pi = torch.log_softmax(self.pi(h), -1)
        mu = self.mu(h).view(*shape, self.k, self.d)
        sigma = SIGMA_FLOOR + nn.functional.softplus(self.log_sigma(h).view(*shape, self.k, self.d))
        return log_pi, mu, sigma, self.contact(h)

    def forward(self, prev: torch.Tensor, cond: torch.Tensor, state=None):
        """prev (B, T, D) normalised previous frames, cond (B, C) -> heads per frame and the new state."""
        b, t, _ = prev.shape
        x = torch.cat([prev, cond[:, None].expand(b, t, cond.shape[-1])], -1)
        h, state = self.core(x, state)
        return (*self.heads(h), state)


def mixture_nll(log_pi, mu, sigma, y) -> torch.Tensor:
    """Per-frame mixture NLL, averaged over frames and dimensions. y (B, T, D); mixture (B, T, K, ...)."""
    z = (y[:, :, None] - mu) / sigma
    logp = -0.5 * (z * z + 2 * torch.log(sigma) + math.log(2 * math.pi)).sum(-1)  # (B, T, K)
    return -torch.logsumexp(log_pi + logp, -1).mean() / y.shape[-1]


def sample_mixture(log_pi, mu, sigma, temperature: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """One sample per row: component by pi, value at ``temperature``. (B, K), (B, K, D) -> (B, D)."""
    k = torch.multinomial(log_pi.exp(), 1, generator=gen)[:, 0]
    idx = torch.arange(mu.shape[0], device=mu.device)
    eps = torch.randn(mu.shape[0], mu.shape[-1], generator=gen, device=mu.device)
    return mu[idx, k] + temperature * sigma[idx, k] * eps
