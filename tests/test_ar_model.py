"""The autoregressive MDN-LSTM: numpy runtime against torch, reproducibility, motion, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motion_core.models import ar_mdn
from motion_core.models import pose_vector as pv
from motion_core.models.ar_mdn import SHIPPED, ARModelError, generate_ar, load_ar_model, skeleton_feature, to_motion, token_states

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def encoder():
    from motion_core.text.encoder import load_text_encoder
    try:
        return load_text_encoder()
    except Exception as e:  # pragma: no cover - the encoder package is a dev dependency
        pytest.skip(f"text encoder unavailable: {e}")


def _random_export(tmp_path, fp16: bool):
    """A small randomly initialised model, saved as a training checkpoint and exported."""
    from training.ar_model import ARMotionMDN
    from training.export_ar import export
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=pv.DIM).astype(np.float32), (0.5 + rng.random(pv.DIM)).astype(np.float32)
    model = ARMotionMDN(mean, std, hidden=32, layers=2)
    with torch.no_grad():  # make the recurrent weights matter
        for p in model.parameters():
            p.mul_(3.0)
    pairs = [["walk", "normal"], ["salsa", "normal"]]
    stats = {"mean": torch.tensor(mean), "std": torch.tensor(std),
             "prior_mean": torch.zeros(2, pv.ROT_DIMS), "prior_std": torch.ones(2, pv.ROT_DIMS),
             "pair_emb": torch.nn.functional.normalize(torch.randn(2, 384), dim=-1),
             "tpose": torch.tensor(_tpose(), dtype=torch.float32), "pairs": pairs}
    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict(), "step": 1, "log": [], "stats": stats,
                "meta": {"config": {"hidden": 32, "layers": 2}}}, ckpt)
    out = export(ckpt, tmp_path / "ar.npz", fp16=fp16)
    return model, out


def _tpose():
    from motion_core.skeleton import canonical
    tp = np.zeros((len(canonical.JOINTS), 3))
    for j, p in enumerate(canonical.PARENTS):
        if p >= 0:
            tp[j] = tp[p] + np.array([0.0, 0.0, 0.2]) * (1 if j < 13 else -1) + np.array([0.05 * (j % 3), 0, 0])
    return tp


def test_numpy_matches_torch(tmp_path, encoder):
    model, path = _random_export(tmp_path, fp16=False)
    npm = load_ar_model(path)
    tokens = token_states(encoder, "a fast salsa dance with sweeping arms")
    skel = skeleton_feature(_tpose())
    rng = np.random.default_rng(1)
    prev = rng.normal(size=(12, pv.DIM)).astype(np.float32)
    lp, mu, sigma, cl = npm.teacher_forced(prev, tokens, skel)
    with torch.no_grad():
        cond = model.condition(torch.tensor(tokens)[None], torch.tensor([len(tokens)]), torch.tensor(skel)[None])
        tlp, tmu, tsig, tcl, _ = model(torch.tensor(prev)[None], cond)
        emb = model.text_embedding(torch.tensor(tokens)[None], torch.tensor([len(tokens)]))[0].numpy()
    np.testing.assert_allclose(npm.text_embedding(tokens), emb, atol=1e-5)
    np.testing.assert_allclose(lp, tlp[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(mu, tmu[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(sigma, tsig[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(cl, tcl[0].numpy(), atol=1e-4)


def test_fp16_export_stays_close(tmp_path, encoder):
    model, path = _random_export(tmp_path, fp16=True)
    npm = load_ar_model(path)
    tokens = token_states(encoder, "a proud walk")
    prev = np.random.default_rng(2).normal(size=(8, pv.DIM)).astype(np.float32)
    _, mu, _, _ = npm.teacher_forced(prev, tokens, skeleton_feature(_tpose()))
    with torch.no_grad():
        cond = model.condition(torch.tensor(tokens)[None], torch.tensor([len(tokens)]),
                               torch.tensor(skeleton_feature(_tpose()))[None])
        tmu = model(torch.tensor(prev)[None], cond)[1][0].numpy()
    assert np.abs(mu - tmu).max() < 0.05 * max(1.0, np.abs(tmu).max())


def test_generation_reproducible_and_local_rng(tmp_path, encoder):
    _, path = _random_export(tmp_path, fp16=False)
    m = load_ar_model(path)
    tokens = token_states(encoder, "a slow walk")
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    a = generate_ar(m, tokens, None, 2.0, seed=7)
    assert np.random.random() == before  # no global numpy state used
    b = generate_ar(m, tokens, None, 2.0, seed=7)
    c = generate_ar(m, tokens, None, 2.0, seed=8)
    assert a.vectors.shape == (50, pv.DIM) and a.contacts.shape == (50, 2)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)
    d = generate_ar(m, tokens, None, 2.0, seed=7, mode="diverse", temperature=1.0)
    assert np.isfinite(d.vectors).all()


def test_bad_files_are_refused_with_one_line(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(ARModelError, match="not found") as e:
        load_ar_model(missing)
    assert "\n" not in str(e.value) and str(missing) in str(e.value)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip at all")
    with pytest.raises(ARModelError, match="unreadable") as e:
        load_ar_model(corrupt)
    assert "export_ar" in str(e.value)
    old = tmp_path / "old.npz"  # the phase-conditioned model's layout: no ar format key
    np.savez(old, meta=np.array(json.dumps({"format": 1, "k": 5})), mean=np.zeros(3))
    with pytest.raises(ARModelError, match="not heritage-motion/ar-mdn"):
        load_ar_model(old)
    wrong_version = tmp_path / "v0.npz"
    np.savez(wrong_version, meta=np.array(json.dumps({"format": ar_mdn.FORMAT, "format_version": 0})))
    with pytest.raises(ARModelError, match="format version"):
        load_ar_model(wrong_version)
    assert issubclass(ARModelError, ValueError)


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped motion_ar.npz")
def test_shipped_model_moves_and_is_stable(encoder):
    m = load_ar_model()
    assert m.meta["format"] == ar_mdn.FORMAT
    tokens = token_states(encoder, "a fast salsa dance")
    g = generate_ar(m, tokens, None, 20.0, seed=1)
    assert np.isfinite(g.vectors).all()
    pos = to_motion(m, g.vectors).positions()
    rel = pos - pos[:, :1]
    speed = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(1) * 25  # (T-1,)
    assert speed.mean() > 0.1  # it moves (m/s relative to the pelvis)
    assert speed[-125:].mean() > 0.5 * speed[:125].mean()  # and does not freeze within 20 s
    assert np.abs(rel).max() < 3.0  # nor explode


REAL_DANCES = ["bandai-namco/dataset-1/data/dataset-1_dance-short_normal_001.bvh",
               "sfu-dance/0018_TraditionalChineseDance001.bvh", "cmu-dance/indian/04.bvh"]


def _joint_speed(m) -> float:
    """Mean speed of the joints relative to the pelvis, m/s."""
    pos = m.positions()
    rel = pos - pos[:, :1]
    return float(np.linalg.norm(np.diff(rel, axis=0), axis=-1)[:, 1:].mean() * m.fps)


def test_main_job_motion_dances_like_real_dance():
    """Issue #10: the main job's motion (README prompt, 4 s, seed 0, default rules, as ./run.sh main makes
    it) moves its joints at least half as fast as real dance does."""
    from pathlib import Path

    from motion_core.models.registry import load_model
    from motion_core.pipeline import ApplyRules, GenerateMotion, Request, make_job, run
    from motion_core.rigs.retarget import load_rig, motion_from_clip
    from motion_core.text.encoder import load_text_encoder
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    files = [data / f for f in REAL_DANCES]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        pytest.skip(f"needs the real dance clips {', '.join(missing)} (../shared/data beside the checkout)")
    real = []
    for f in files:
        rig, clip = load_rig(f)
        real.append(_joint_speed(motion_from_clip(clip, rig).resample(25)))
    job = run(make_job(Request("a feminine dance, slow and graceful", 4.0, 0)),
              [GenerateMotion(load_model(), load_text_encoder()), ApplyRules()])
    ratio = _joint_speed(job.motion) / float(np.mean(real))
    assert ratio >= 0.5, (ratio, real)
