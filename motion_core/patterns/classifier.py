"""The pattern classifier at run time, numpy only (issue #14, seed 003; trained by
``training/patterns/train_classifier.py``, architecture in ``training/patterns/classifier_model.py``).

    rgb (H, W, 3) float [0, 1] -> square, 64 x 64 -> conv stem -> 64 patch tokens + [CLS]
        -> transformer blocks -> image tokens (65, D)
    text (optional) -> MiniLM token states (motion_core/text/encoder.py, frozen) -> Linear -> (L, D),
        after the learned "no text" token; no text: that token alone (MiniLM is not run)
    bidirectional cross-attention (image <- text, text <- image) -> [CLS, mean text] -> classes
    feature branch (when the weights hold one, ``features.NeighbourBranch``): fixed descriptors (HOG,
        polar/ring Fourier, LBP, colour) -> PCA -> cosine k-nearest training images (all eight
        flips/quarter turns) -> class log-probabilities, averaged over the query's flips/turns
    fusion: logits = a * log p_features + b * model logits, (a, b) fitted on validation images
        (one pair for image-only input, one for image + text); they also calibrate the result

``identify`` returns the top three *suggested* labels with calibrated confidences (softmax at the
fitted temperature), ``unknown`` when the best confidence is below the calibrated threshold or the
picture's statistics are far from every training image's (``image_statistics``; mean cosine to its 5
nearest below a threshold calibrated on validation images), the
culture (the sum of its classes' probabilities), and the nearest prototypes of the shipped visual
bank (``bank.py``) as evidence, each with its representative image's source file and licence.

The shipped weights (``motion_core/weights/patterns/classifier.npz``) are trained on the Kamon data
set only (CC BY-SA 4.0, see ``PATTERNS_NOTICE.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import layers as L
from .features import NeighbourBranch
from .image_input import ImageInputError, rgb_image
from .library import to_square

SHIPPED_CLASSIFIER = Path(__file__).resolve().parents[1] / "weights" / "patterns" / "classifier.npz"
SIZE = 64
MEAN, STD = 0.5, 0.25


class ClassifierError(RuntimeError):
    """The classifier weights are missing or unreadable (one line)."""


@dataclass
class Identification:
    """What ``identify`` suggests for one image. ``top3``: [(label, confidence in [0, 1])], best first."""

    top3: list[tuple[str, float]]  # class ids as trained (e.g. 'kamon:aoi'); ``names`` has the readers' names
    unknown: bool
    threshold: float
    culture: str
    culture_confidence: float
    used_text: bool
    in_set_similarity: float | None = None  # image statistics' mean cosine to the nearest training images
    in_set_threshold: float | None = None  # below it the image is unlike anything trained on: unknown
    unknown_reason: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)  # nearest prototypes with their sources
    model: dict[str, Any] = field(default_factory=dict)  # weights file, training data, licence
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # class id -> reader's name, e.g. 'aoi (hollyhock)'

    @property
    def label(self) -> str:
        """The suggested label, or "unknown" below the threshold."""
        return "unknown" if self.unknown else self.top3[0][0]

    def summary(self) -> str:
        """One line, always worded as a suggestion."""
        tops = ", ".join(f"{self.names.get(lab, lab)} ({c:.0%})" for lab, c in self.top3)
        if self.unknown:
            return f"Suggested: unknown ({self.unknown_reason}; closest: {tops})"
        return f"Suggested: {tops}; culture suggested: {self.culture} ({self.culture_confidence:.0%})"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["top3"] = [{"label": lab, "name": self.names.get(lab, lab), "confidence": round(c, 4)} for lab, c in self.top3]
        d["suggested"] = self.label
        d["wording"] = "suggested by a classifier, not a verified identification"
        return d


class PatternClassifier:
    """The numpy forward pass of ``training.patterns.classifier_model.PatternClassifier``."""

    def __init__(self, weights: dict[str, np.ndarray], meta: dict[str, Any], source: str = "",
                 text_encoder: Callable[[], Any] | None = None, evidence: Callable[[], tuple[Any, Any]] | None = None):
        """``text_encoder`` () -> TextEncoder and ``evidence`` () -> (PatternBank, PatternEncoder) let a caller
        that already holds those models (the add-on's session cache) share them; by default they are loaded
        on first use."""
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        self.meta = meta
        self.source = source
        c = meta["config"]
        self.dim, self.depth, self.heads, self.fusion = int(c["dim"]), int(c["depth"]), int(c["heads"]), c["fusion"]
        self.classes: list[str] = list(meta["classes"])
        self.class_culture: dict[str, str] = dict(meta.get("class_culture", {}))
        self.class_display: dict[str, str] = dict(meta.get("class_display", {}))
        self.temperature = float(meta.get("temperature", 1.0))
        self.threshold = float(meta.get("threshold", 0.0))
        fm = meta.get("features")
        self.branch: NeighbourBranch | None = None
        self.fusion_weights: dict[str, tuple[float, float]] = {}
        if fm:
            arrays = {k[len("feat."):]: v for k, v in weights.items() if k.startswith("feat.")}
            self.branch = NeighbourBranch(arrays, list(fm["blocks"]), len(self.classes), int(fm["k"]),
                                          float(fm["tau"]), int(fm.get("views", 8)))
            self.fusion_weights = {m: (float(ab[0]), float(ab[1])) for m, ab in fm["fusion"].items()}
        self._load_text_encoder = text_encoder or _shipped_text_encoder
        self._load_evidence = evidence or _shipped_evidence
        self._text_encoder: Any = None  # loaded on first use, then kept with this classifier
        self._evidence: tuple[Any, Any] | None = None

    # -- forward ---------------------------------------------------------------------------------
    def _mha(self, name: str, q: np.ndarray, kv: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        w = self.w
        return L.multi_head_attention(q, kv, w[f"{name}.in_proj_weight"], w[f"{name}.in_proj_bias"],
                                      w[f"{name}.out_proj.weight"], w[f"{name}.out_proj.bias"], self.heads, mask)

    def _ln(self, name: str, x: np.ndarray) -> np.ndarray:
        return L.layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def image_tokens(self, images: np.ndarray) -> np.ndarray:
        """images (N, 64, 64, 3) float [0, 1] -> (N, 65, D)."""
        w = self.w
        x = (np.asarray(images, np.float32).transpose(0, 3, 1, 2) - MEAN) / STD
        x = L.gelu(L.conv2d(x, w["stem.0.weight"], w["stem.0.bias"], stride=2, pad=1))
        x = L.gelu(L.conv2d(x, w["stem.2.weight"], w["stem.2.bias"], stride=2, pad=1))
        x = L.conv2d(x, w["stem.4.weight"], w["stem.4.bias"], stride=2, pad=0)
        n = len(x)
        x = x.reshape(n, self.dim, -1).transpose(0, 2, 1)
        x = np.concatenate([np.broadcast_to(w["cls"], (n, 1, self.dim)), x], 1) + w["pos"]
        for b in range(self.depth):
            p = f"blocks.{b}."
            h = self._ln(p + "ln1", x)
            x = x + self._mha(p + "attn", h, h)
            h = self._ln(p + "ln2", x)
            x = x + L.linear(L.gelu(L.linear(h, w[p + "mlp.0.weight"], w[p + "mlp.0.bias"])),
                             w[p + "mlp.2.weight"], w[p + "mlp.2.bias"])
        return self._ln("ln", x)

    def logits(self, images: np.ndarray, text: np.ndarray, text_pad: np.ndarray) -> np.ndarray:
        """images (N, 64, 64, 3) float [0, 1]; text (N, L, 384) MiniLM token states; text_pad (N, L)
        True where padding (L may be 0: no text). -> logits (N, classes), before the temperature."""
        return self.forward(images, text, text_pad)[0]

    def forward(self, images: np.ndarray, text: np.ndarray, text_pad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`logits`, and the image feature (N, D): the [CLS] token before any text."""
        w = self.w
        img = self.image_tokens(images)
        feat = img[:, 0].copy()
        n = len(img)
        t = np.concatenate([np.broadcast_to(w["null_text"], (n, 1, self.dim)),
                            L.linear(np.asarray(text, np.float32), w["text_proj.weight"], w["text_proj.bias"])], 1)
        pad = np.concatenate([np.zeros((n, 1), bool), np.asarray(text_pad, bool)], 1)
        if self.fusion == "xattn":
            ti = self._ln("ln_t", t)
            img = img + self._mha("i2t", self._ln("ln_i", img), ti, pad)
            ii = self._ln("ln_i2", img)
            t = t + self._mha("t2i", self._ln("ln_t2", t), ii)
        keep = (~pad).astype(np.float32)[..., None]
        t_mean = (t * keep).sum(1) / keep.sum(1)
        h = self._ln("head_ln", np.concatenate([img[:, 0], t_mean], 1))
        return L.linear(h, w["head.weight"], w["head.bias"]), feat

    def fused_logits(self, images: np.ndarray, text: np.ndarray, text_pad: np.ndarray) -> np.ndarray:
        """As :meth:`logits`, fused with the feature branch when the weights hold one and calibrated:
        softmax of the result is the reported probability. Without a feature branch: the model's logits
        over the fitted temperature. ``text`` of length 0 (or all padding) counts as image only."""
        z = self.logits(images, text, text_pad)
        if self.branch is None:
            return z / self.temperature
        with_text = np.asarray(~np.asarray(text_pad, bool)).any(1) if text_pad.shape[1] else np.zeros(len(z), bool)
        a0, b0 = self.fusion_weights["image_only"]
        a1, b1 = self.fusion_weights["with_text"]
        a = np.where(with_text, a1, a0)[:, None].astype(np.float32)
        b = np.where(with_text, b1, b0)[:, None].astype(np.float32)
        return a * self.branch.log_probs(images) + b * z

    def in_set_similarity(self, img64: np.ndarray) -> float | None:
        """Mean cosine of the image's statistics (:func:`image_statistics`) to those of its k nearest
        training images (None: the weights hold no such bank)."""
        bank = self.w.get("ood_bank")
        if bank is None:
            return None
        f = image_statistics(img64[None])[0]
        k = min(int(self.meta.get("calibration", {}).get("ood_k", 5)), len(bank))
        return float(np.sort(bank @ f)[-k:].mean())

    # -- text and evidence -----------------------------------------------------------------------
    def text_states(self, text: str | None) -> np.ndarray:
        """(L, 384) MiniLM token states of ``text``; (0, 384) for None or a blank text."""
        if text is None or not text.strip():
            return np.zeros((0, 384), np.float32)
        if self._text_encoder is None:
            self._text_encoder = self._load_text_encoder()
        return np.asarray(self._text_encoder.token_states(text.strip()), np.float32)

    def nearest_prototypes(self, img64: np.ndarray, k: int = 3) -> list[dict[str, Any]]:
        """The k prototypes of the shipped visual bank nearest to the image (cosine of the pattern
        encoder's visual embedding), each with its representative's source file and licence."""
        if self._evidence is None:
            self._evidence = self._load_evidence()
        bank, encoder = self._evidence
        f, _ = encoder.encode(img64[None])
        sims = (bank.prototypes @ f[0]) / np.maximum(np.linalg.norm(bank.prototypes, axis=1), 1e-8)
        out = []
        for j in np.argsort(-sims)[:k]:
            p = bank.provenance(int(j))
            labels = p["labels"]
            out.append({"prototype": int(j), "similarity": round(float(sims[j]), 4), "members": p["members"],
                        "member_labels": dict(list(labels.items())[:3]),
                        "source_file": p["representative"]["path"], "source": p["representative"]["source"],
                        "description": p["representative"].get("description"),
                        "licence": p["representative"]["licence"]})
        return out


def image_statistics(images: np.ndarray) -> np.ndarray:
    """(N, 64, 64, 3) float [0, 1] (or uint8) -> (N, 10) unit vectors describing what kind of picture
    it is, not what it shows: an 8-bin grey-level histogram, the mean saturation (x2) and the mean
    absolute grey gradient (x4). The out-of-set check compares an image with the training images by it
    (an ink-on-paper crest is two-toned, unsaturated and has clean edges; a cloth photograph, noise or a
    gradient is not)."""
    x = np.asarray(images)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    g = x.mean(-1)
    sat = (x.max(-1) - x.min(-1)).mean((1, 2))
    grad = np.abs(np.diff(g, axis=1)).mean((1, 2)) + np.abs(np.diff(g, axis=2)).mean((1, 2))
    hist = np.stack([np.histogram(gi, bins=8, range=(0.0, 1.0))[0] / gi.size for gi in g])
    v = np.concatenate([hist, 2 * sat[:, None], 4 * grad[:, None]], 1).astype(np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-8)


def prepare(rgb: np.ndarray, name: str = "image") -> tuple[np.ndarray, list[str]]:
    """Any accepted image (see image_input.rgb_image) -> ((64, 64, 3) float32 [0, 1], notes)."""
    checked = rgb_image(rgb, name)
    img = to_square(checked.rgb, SIZE).astype(np.float32) / 255.0
    return img, list(checked.notes)


def identify(rgb: np.ndarray, text: str | None = None, classifier: PatternClassifier | None = None,
             evidence: int = 3, name: str = "image") -> Identification:
    """Suggest what pattern ``rgb`` (H, W, 3|4) float [0, 1] shows, optionally helped by ``text`` (a
    description that need not name the motif: culture, medium, a partial blazon). Raises
    ImageInputError (bad image, one line) or ClassifierError (weights)."""
    clf = classifier or load_classifier()
    img, notes = prepare(rgb, name)
    st = clf.text_states(text)
    zz = clf.fused_logits(img[None], st[None], np.zeros((1, len(st)), bool))
    p = L.softmax(zz[0])
    sim = clf.in_set_similarity(img)
    ood_thr = clf.meta.get("calibration", {}).get("ood_threshold")
    reasons = []
    if p.max() < clf.threshold:
        reasons.append(f"best confidence {p.max():.1%} is below the {clf.threshold:.1%} threshold")
    if sim is not None and ood_thr is not None and sim < float(ood_thr):
        reasons.append(f"the picture is unlike the training images (similarity {sim:.3f} < {float(ood_thr):.3f})")
    order = np.argsort(-p)[:3]
    cult: dict[str, float] = {}
    for c, pc in zip(clf.classes, p, strict=True):
        k = clf.class_culture.get(c, "")
        cult[k] = cult.get(k, 0.0) + float(pc)
    culture = max(cult, key=lambda k: cult[k])
    return Identification(
        top3=[(clf.classes[i], float(p[i])) for i in order], unknown=bool(reasons),
        threshold=clf.threshold, culture=culture, culture_confidence=cult[culture], used_text=len(st) > 0,
        in_set_similarity=sim, in_set_threshold=None if ood_thr is None else float(ood_thr),
        unknown_reason="; ".join(reasons), names={clf.classes[i]: clf.class_display.get(clf.classes[i], clf.classes[i])
                                                  for i in order},
        evidence=clf.nearest_prototypes(img, evidence) if evidence > 0 else [],
        model={"weights": clf.source, "trained_on": clf.meta.get("trained_on"), "licence": clf.meta.get("licence"),
               "temperature": clf.temperature, "feature_branch": clf.branch is not None,
               "fusion": clf.fusion_weights}, notes=notes)


def _shipped_text_encoder() -> Any:
    from ..text.encoder import load_text_encoder

    return load_text_encoder()


def _shipped_evidence() -> tuple[Any, Any]:
    from .bank import PatternBank
    from .costume import SHIPPED_BANK, SHIPPED_DIR
    from .encoder import load_encoder

    return PatternBank.load(SHIPPED_BANK), load_encoder(SHIPPED_DIR / "pattern_encoder.npz")


def load_classifier(path: str | Path | None = None, text_encoder: Callable[[], Any] | None = None,
                    evidence: Callable[[], tuple[Any, Any]] | None = None) -> PatternClassifier:
    """The classifier at ``path`` (default: the shipped kamon model); ``text_encoder`` and ``evidence``
    as for :class:`PatternClassifier`. Not cached here (the caller owns its models: the add-on keeps one
    per session). Raises ClassifierError with one line when the file is missing or not a classifier."""
    p = Path(path) if path else SHIPPED_CLASSIFIER
    if not p.is_file():
        hint = ("the add-on's shipped classifier is missing; reinstall the add-on" if path is None else
                "train one with python -m training.patterns.train_classifier --data FOLDER --out FILE")
        raise ClassifierError(f"no classifier weights at {p} ({hint})")
    try:
        with np.load(p, allow_pickle=False) as z:
            if "meta_json" not in z.files:
                raise KeyError("meta_json")
            meta = json.loads(str(z["meta_json"]))
            weights = {k: z[k] for k in z.files if k != "meta_json"}
        if not str(meta.get("format", "")).startswith("heritage-motion pattern classifier"):
            raise ValueError("not a pattern classifier")
        clf = PatternClassifier(weights, meta, str(p), text_encoder, evidence)
        if "head.weight" not in clf.w or clf.w["head.weight"].shape[0] != len(clf.classes):
            raise ValueError("the weights do not match the class list")
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        raise ClassifierError(f"{p} is not a readable pattern classifier ({e})") from None
    return clf


__all__ = ["ClassifierError", "Identification", "ImageInputError", "PatternClassifier", "identify",
           "load_classifier", "prepare"]
