"""damage_with_mask: the same damage as damage(), and a mask that marks what local wear struck."""

import numpy as np

from motion_core.patterns.damage import DamageParams, damage, damage_with_mask, random_params


def _img(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:96] / 96.0
    ink = ((np.sin(12 * x) * np.cos(9 * y)) > 0.2).astype(np.float32)
    base = np.stack([0.9 - 0.7 * ink, 0.85 - 0.7 * ink, 0.75 - 0.6 * ink], -1)
    return np.clip(base + 0.01 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)


def test_same_damage_as_damage():
    img = _img()
    for seed in range(6):
        p = random_params(np.random.default_rng(seed))
        d, m = damage_with_mask(img, seed, p)
        assert np.array_equal(d, damage(img, seed, p))
        assert m.shape == img.shape[:2] and m.dtype == bool


def test_fade_only_gives_an_empty_mask_and_holes_a_local_one():
    img = _img()
    d, m = damage_with_mask(img, 3, DamageParams(occlusion=0, abrasion=0, fade_dose=1.5, yellowing=1, holes=0, mould=0))
    assert not m.any() and np.abs(d - img).max() > 0.1  # faded everywhere, masked nowhere
    d, m = damage_with_mask(img, 3, DamageParams(occlusion=0, abrasion=0, fade_dose=0, yellowing=0, holes=8, mould=0))
    assert 0 < m.mean() < 0.5
    # the holes show the dark backing: masked pixels are darker than the clean image there
    assert (d[m].mean(axis=1) < img[m].mean(axis=1)).mean() > 0.7
    # nothing outside the mask moved by more than the threshold
    assert np.abs(d - img)[~m].max() <= 0.08 + 1e-6


def test_kinds_of_wear_left_out_with_a_share():
    """random_params(kind_off_share): 0 draws what it always drew; 0.5 leaves each kind out about half
    the time (so unfaded and single-kind views exist), reproducibly from the generator."""
    plain = [random_params(np.random.default_rng(s)) for s in range(200)]
    assert [random_params(np.random.default_rng(s), 0.0) for s in range(200)] == plain
    some = [random_params(np.random.default_rng(s), 0.5) for s in range(200)]
    assert some == [random_params(np.random.default_rng(s), 0.5) for s in range(200)]
    unfaded = np.mean([p.fade_dose == 0 and p.yellowing == 0 for p in some])
    no_mould = np.mean([p.mould == 0 for p in some])
    assert 0.35 < unfaded < 0.65 and 0.35 < no_mould < 0.65
    assert not any(p.fade_dose == 0 for p in plain)  # the old draw never spared the tone
    holes_only = [p for p in some if p.holes and not (p.fade_dose or p.mould or p.occlusion)]
    assert holes_only  # e.g. the insect-holes-alone case the evaluation measures
    for p, q in zip(some, plain, strict=True):  # a kind left in keeps its strength
        assert p.mould in (0.0, q.mould) and p.holes in (0, q.holes)
