"""The restoration generator: numpy (motion_core/patterns/restore.py) against torch
(training/patterns/restore_model.py), on a random-init model and on the shipped weights, and what the
shipped model does to held-out damaged kamon prints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from motion_core.patterns.restore import (  # noqa: E402
    DEFAULT_PATH,
    RestoreModelError,
    Restorer,
    colour_warning,
    load_restorer,
)
from training.patterns.restore_model import Generator, make_input  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "patterns"


def _random_generator(seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    g = Generator()
    with torch.no_grad():  # non-trivial BN statistics, attention gamma and output weights
        for m in g.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
        g.attn.gamma.fill_(0.7)
        g.out.weight.mul_(5)
    return g.eval()


def _numpy_of(g: Generator) -> Restorer:
    return Restorer({k: v.numpy() for k, v in g.state_dict().items() if not k.endswith("num_batches_tracked")})


def _torch_restore(g: Generator, rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    m = None if mask is None else torch.from_numpy(mask)[None, None].float()
    with torch.no_grad():
        return ((g(make_input(x, m)) + 1) / 2)[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("masked", [False, True])
def test_numpy_matches_torch_random_init(masked):
    g = _random_generator()
    rng = np.random.default_rng(1)
    rgb = rng.random((64, 48, 3), dtype=np.float32)
    mask = rng.random((64, 48)) < 0.2 if masked else None
    ref = _torch_restore(g, rgb, mask)
    got = _numpy_of(g).restore(rgb, mask)
    assert got.shape == rgb.shape and got.dtype == np.float32
    assert np.abs(got - ref).max() < 1e-4
    assert np.abs(ref - rgb).max() > 0.05  # the random model does change the image: the test can fail


def test_sizes_not_multiple_of_16_and_tiling():
    g = _random_generator(2)
    r = _numpy_of(g)
    rng = np.random.default_rng(3)
    small = rng.random((37, 23, 3), dtype=np.float32)
    out = r.restore(small)
    assert out.shape == small.shape and np.isfinite(out).all()
    # padding: the restored crop equals the torch model on the reflect-padded image, cropped back
    pad = np.pad(small, ((0, 11), (0, 9), (0, 0)), mode="reflect")
    assert np.abs(out - _torch_restore(g, pad, None)[:37, :23]).max() < 1e-4
    big = rng.random((300, 520, 3), dtype=np.float32)
    calls: list[float] = []
    out = r.restore(big, progress=calls.append)
    assert out.shape == big.shape and np.isfinite(out).all() and calls[-1] == pytest.approx(1.0) and len(calls) > 1
    # away from the overlaps each tile is the model on that tile alone (the next row of tiles starts at 44)
    assert np.abs(out[:40, :200] - r.restore(big[:256, :256])[:40, :200]).max() < 1e-5


def test_only_masked_pixels_change_with_only_masked():
    """only_masked: the restoration inside the mask grown by RESTORE_ONLY_MASKED_GROW_PX, the input
    exactly elsewhere; refused without a mask."""
    from motion_core import config
    from motion_core.patterns.restore import grow

    r = _numpy_of(_random_generator(4))
    rng = np.random.default_rng(5)
    rgb = rng.random((40, 50, 3), dtype=np.float32)
    mask = np.zeros((40, 50), bool)
    mask[10:14, 20:23] = True
    full = r.restore(rgb, mask)
    out = r.restore(rgb, mask, only_masked=True)
    inside = grow(mask, config.RESTORE_ONLY_MASKED_GROW_PX)
    assert inside.sum() == (4 + 2) * (3 + 2)  # a 1 px ring around the 4 x 3 block
    assert np.array_equal(out[~inside], rgb[~inside]) and np.array_equal(out[inside], full[inside])
    assert np.abs(full[~inside] - rgb[~inside]).max() > 0.05  # the plain run does change the rest
    with pytest.raises(ValueError, match="needs a damage mask"):
        r.restore(rgb, only_masked=True)


def test_missing_or_corrupt_weights(tmp_path):
    with pytest.raises(RestoreModelError, match="not found"):
        load_restorer(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(RestoreModelError, match="unreadable"):
        load_restorer(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, **{"enc.0.0.weight": np.zeros((32, 5, 4, 4), np.float32)})
    with pytest.raises(RestoreModelError, match="lack"):
        load_restorer(partial)


shipped = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason=f"{DEFAULT_PATH} not exported yet")


@shipped
def test_shipped_weights_match_torch_and_carry_provenance():
    r = load_restorer()
    prov = r.provenance
    assert {"model", "version", "training_data", "licence", "steps", "seed"} <= set(prov)
    assert "CC BY-SA 4.0" in prov["licence"]
    json.dumps(prov)
    g = Generator()
    g.load_state_dict({k: torch.from_numpy(v) for k, v in r.w.items()}, strict=False)
    g.eval()
    rng = np.random.default_rng(5)
    rgb = rng.random((80, 96, 3), dtype=np.float32)
    mask = rng.random((80, 96)) < 0.1
    for m in (None, mask):
        assert np.abs(r.restore(rgb, m) - _torch_restore(g, rgb, m)).max() < 1e-4


@shipped
def test_restoration_improves_ssim_on_held_out_kamon():
    if not DATA.exists():
        pytest.skip(f"{DATA} not found (the shared data set beside the checkout)")
    from motion_core.patterns.damage import DamageParams, damage_with_mask
    from training.patterns.evaluate_restore import ssim
    from training.patterns.train_restore import source_images

    imgs, paths, _ = source_images("kamon", "test", ("edo",))
    r = load_restorer()
    rng = np.random.default_rng(0)
    before, after, after_m = [], [], []
    for img in imgs[:: max(1, len(imgs) // 12)][:12]:  # 12 held-out Edo prints, moderate wear
        clean = img.astype(np.float32) / 255
        dmg, mask = damage_with_mask(clean, rng, DamageParams())
        before.append(ssim(dmg, clean))
        after.append(ssim(r.restore(dmg), clean))
        after_m.append(ssim(r.restore(dmg, mask), clean))
    assert np.mean(after) > np.mean(before) + 0.01, (np.mean(before), np.mean(after))
    assert np.mean(after_m) > np.mean(before) + 0.01, (np.mean(before), np.mean(after_m))


def test_colour_warning():
    paper = np.full((32, 32, 3), (0.86, 0.80, 0.66), np.float32)  # Edo paper tone, black ink
    paper[8:24, 8:24] = 0.1
    assert colour_warning(paper) is None
    batik = paper.copy()
    batik[:16] = (0.9, 0.8, 0.1)  # half strongly yellow
    msg = colour_warning(batik)
    assert msg is not None and "50%" in msg and "Edo" in msg
