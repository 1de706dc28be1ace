"""GAN augmentation of the pattern classifier (issue #14): training/patterns/gan_augment.py with the
shipped pattern GAN version 2 (motion_core/weights/patterns/gan_variants.npz)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motion_core.patterns.variants import WEIGHTS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "patterns"
needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"needs the shared pattern data at {DATA}")
needs_gan = pytest.mark.skipif(not WEIGHTS.exists(), reason=f"needs the shipped pattern GAN weights at {WEIGHTS}")

CLASSES = ["batik:Solo_Parang", "kamon:aoi", "kamon:kiri", "kamon:other", "decor:iznik", "kamon:tomoe"]
MAPPED = {1, 2, 5}


def _batch(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 64, 64, 3)).astype(np.float32)
    y = np.arange(n) % len(CLASSES)
    return x, y


@needs_gan
def test_hook_replaces_a_share_of_mapped_views_only():
    from training.patterns.gan_augment import SHARE, augment, gan_augment

    x, y = _batch()
    x0 = x.copy()
    out = augment(x, y, np.random.default_rng(1), classes=CLASSES)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert np.array_equal(x, x0), "the input batch must not be modified"
    changed = np.abs(out - x).reshape(len(x), -1).max(1) > 0
    mapped = np.isin(y, list(MAPPED))
    assert not changed[~mapped].any(), "batik, decor and kamon:other views must stay as they are"
    share = changed[mapped].mean()  # 120 mapped views: binomial sd about 0.04
    assert SHARE - 0.12 < share < SHARE + 0.12, share
    # the mask gan_augment reports is the set of changed views
    _, mask = gan_augment(x, y, np.random.default_rng(1), CLASSES, SHARE)
    assert np.array_equal(mask, changed)
    # a replaced view is a crest on paper, not the noise it replaced: far smoother
    rough = np.abs(np.diff(out, axis=2)).mean((1, 2, 3))
    assert rough[changed].max() < 0.5 * rough[~changed].min()


@needs_gan
def test_hook_is_seeded_by_rng_only():
    from training.patterns.gan_augment import augment

    x, y = _batch(120)
    a = augment(x, y, np.random.default_rng(7), classes=CLASSES)
    b = augment(x, y, np.random.default_rng(7), classes=CLASSES)
    c = augment(x, y, np.random.default_rng(8), classes=CLASSES)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # the rng's state decides, not a call count: two calls in a row differ, a reset repeats them
    rng = np.random.default_rng(7)
    first, second = augment(x, y, rng, classes=CLASSES), augment(x, y, rng, classes=CLASSES)
    assert np.array_equal(first, a) and not np.array_equal(first, second)


@needs_gan
def test_replaced_views_are_gan_samples_of_their_family():
    """Replaying the rng: each replaced view is PatternGAN.sample(family, seed) on 8-bit levels, given the
    trainer's standard view augmentation."""
    from training.patterns.gan_augment import _gan, gan_augment
    from training.patterns.train_classifier import standard_augment

    x, y = _batch(60, seed=3)
    out, mask = gan_augment(x, y, np.random.default_rng(11), CLASSES, 0.5)
    gan = _gan()
    rng = np.random.default_rng(11)
    drawn = rng.random(len(x)) < 0.5
    rep = np.flatnonzero(drawn & np.isin(y, list(MAPPED)))
    assert np.array_equal(np.flatnonzero(mask), rep) and len(rep) > 5
    seeds = rng.integers(0, 2**31 - 1, len(rep))
    fam = [CLASSES[y[i]].split(":")[1] for i in rep]
    raw = np.concatenate([gan.sample(f, int(s), 1) for f, s in zip(fam, seeds, strict=True)])
    expected = standard_augment(np.clip(raw * 255 + 0.5, 0, 255).astype(np.uint8).astype(np.float32) / 255, rng)
    assert np.allclose(out[rep], expected, atol=1e-6)


def test_resize_like_real_images():
    from PIL import Image

    from training.patterns.gan_augment import _to_input

    small = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    got = _to_input(small, 64)
    u8 = np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8)
    ref = np.asarray(Image.fromarray(u8[1]).resize((64, 64), Image.BILINEAR), np.float32) / 255
    assert got.shape == (2, 64, 64, 3) and np.array_equal(got[1], ref)
    assert np.array_equal(_to_input(small, 32) * 255, u8.astype(np.float32))


@needs_gan
def test_hook_needs_the_class_names():
    from training.patterns.gan_augment import augment

    x, y = _batch(6)
    with pytest.raises(ValueError, match="class names"):
        augment(x, y, np.random.default_rng(0))


@needs_gan
@needs_data
def test_every_kamon_family_but_other_has_a_gan_condition():
    from training.patterns.classifier_data import build
    from training.patterns.gan_augment import _gan, gan_condition_of

    gan = _gan()
    for datasets in (("kamon",), ("kamon", "batik", "decor")):
        classes = build(datasets).classes
        cond = gan_condition_of(classes, gan.classes)
        for c, g in zip(classes, cond, strict=True):
            if c.startswith("kamon:") and c != "kamon:other":
                assert g == c.split(":")[1], c
            else:
                assert g is None, c


@needs_gan
def test_train_classifier_loads_the_hook(tmp_path):
    """--extra training.patterns.gan_augment:augment gets the class names bound and trains (2 steps) on a
    small archive whose labels are kamon families."""
    pytest.importorskip("torch")
    from PIL import Image

    from motion_core.patterns.classifier import load_classifier
    from training.patterns.train_classifier import load_extra, main

    spec = "training.patterns.gan_augment:augment"
    fn = load_extra(spec, CLASSES)
    x, y = _batch(60)
    assert np.array_equal(fn(x, y, np.random.default_rng(1)), load_extra(spec)(x, y, np.random.default_rng(1),
                                                                                 classes=CLASSES))
    folder = tmp_path / "archive"
    folder.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for j in range(12):
        lab = ("kamon:aoi", "kamon:kiri")[j % 2]
        a = np.full((64, 64, 3), 230, np.uint8)
        a[:, :: 8 if j % 2 else 5] = rng.integers(0, 120, 3)
        Image.fromarray(a).save(folder / f"im{j:02d}.png")
        lines.append(json.dumps({"image": f"im{j:02d}.png", "caption": f"crest {j}", "label": lab,
                                 "culture": "Japanese", "licence": "CC0"}))
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "c.npz"
    assert main(["--data", str(folder), "--out", str(out), "--steps", "2", "--batch", "8", "--run",
                 str(tmp_path / "run"), "--extra", spec]) == 0
    assert load_classifier(out).meta["extra_augment"] == spec
