"""motion_core.patterns.image_input: what a user can hand the pattern models."""

import numpy as np
import pytest

from motion_core.patterns.image_input import MAX_SIDE, ImageInputError, rgb_image


def test_rgb_uint8_passes_through():
    a = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = rgb_image(a)
    assert out.rgb.shape == (20, 30, 3) and out.rgb.dtype == np.float32
    assert np.allclose(out.rgb * 255, a, atol=1e-3) and out.notes == []


def test_grey_alpha_16bit_and_hdr_are_handled_and_said():
    grey = rgb_image(np.full((16, 16), 0.5, np.float32))
    assert np.allclose(grey.rgb, 0.5) and grey.notes == ["greyscale repeated to RGB"]
    rgba = np.zeros((16, 16, 4), np.float32)
    rgba[..., 3] = 0.25  # black, 25 % opaque, over white
    out = rgb_image(rgba)
    assert np.allclose(out.rgb, 0.75) and "alpha composited on white" in out.notes
    assert np.allclose(rgb_image(np.full((9, 9, 3), 65535, np.uint16)).rgb, 1.0)
    hdr = rgb_image(np.full((9, 9, 3), 4.0, np.float32))
    assert np.allclose(hdr.rgb, 1.0) and hdr.notes == ["values outside 0-1 clipped"]


@pytest.mark.parametrize("bad,words", [
    (np.zeros((0, 10, 3)), "empty"),
    (np.zeros((4, 40, 3)), "at least"),
    (np.zeros((MAX_SIDE + 1, 16, 3), np.uint8), "largest accepted"),
    (np.full((16, 16, 3), np.nan), "NaN"),
    (np.zeros((16, 16, 5)), "not an image"),
    (np.array([["a"]]), "not an image"),
])
def test_refused_with_one_line(bad, words):
    with pytest.raises(ImageInputError) as e:
        rgb_image(bad, "scan.png")
    assert words in str(e.value) and "\n" not in str(e.value) and "scan.png" in str(e.value)
