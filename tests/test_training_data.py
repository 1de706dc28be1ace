import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from motion_core.skeleton import canonical
from training import build_dataset as bd
from training.captions import TEMPLATES_FILE, all_captions, captions

from .conftest import BANDAI, need


def test_every_label_of_both_datasets_has_several_phrasings():
    for ds in ("dataset-1", "dataset-2"):
        d = need(BANDAI / ds)
        contents, styles = bd._labels(d)
        for c in contents:
            for s in styles:
                got = all_captions(c, s)
                assert len(got) >= 6, (c, s)
                assert all(g == " ".join(g.split()) for g in got)
    assert captions("wave-both-hands", "elderly") == captions("wave-both-hands", "elderly")
    assert any("elderly" in c or "old" in c for c in captions("wave-both-hands", "elderly"))
    with pytest.raises(KeyError, match=TEMPLATES_FILE.name):
        all_captions("moonwalk", "normal")


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
    """Dataset-1 plus about 30 clips of dataset-2, streamed from the tarball (no full unpack)."""
    need(BANDAI / "dataset-2" / "data.tar.xz")
    cache = tmp_path_factory.mktemp("cache")
    target = cache / "bandai"
    n = 0
    with tarfile.open(BANDAI / "dataset-2" / "data.tar.xz", "r|xz") as tf:
        for member in tf:
            if member.isfile() and member.name.endswith((".bvh", ".json")):
                tf.extract(member, target, filter="data")
                n += 1
            if n >= 60:
                break
    (target / "dataset-2" / ".unpacked").touch()
    return cache


def test_build_resamples_labels_splits_and_is_incremental(small_cache, capsys):
    d1 = bd.discover(BANDAI, small_cache, ("dataset-1",))
    pick = [s.name for s in d1 if "walk_normal" in s.name][:1] + [s.name for s in d1 if "dance" in s.name][:1]
    index = bd.build(BANDAI, small_cache, progress=False)
    t = index["totals"]
    n2 = len(list((small_cache / "bandai" / "dataset-2" / "data").glob("*.bvh")))
    assert n2 >= 20
    assert t["clips"] == 174 + n2 and t["errors"] == 0 and t["rebuilt"] == t["clips"]
    assert t["val_clips"] + t["train_clips"] == t["clips"] and 0 < t["val_clips"] < t["clips"] * 0.25
    by_name = {c["name"]: c for c in index["clips"]}
    # split is by clip and reproducible
    assert all(by_name[n]["split"] == ("val" if bd.is_validation(n) else "train") for n in by_name)
    assert {c["dataset"] for c in index["clips"]} == {"dataset-1", "dataset-2"}
    for name in pick:
        entry = by_name[name]
        src = next(s for s in d1 if s.name == name)
        z = np.load(small_cache / "clips" / entry["file"])
        from motion_core.rigs.bvh import read_bvh
        frames30 = read_bvh(src.bvh).num_frames
        assert z["root"].shape[0] == entry["frames"] == int((frames30 - 1) * 25 / 30) + 1
        assert float(z["fps"]) == 25
        assert z["pose"].shape == (entry["frames"], len(canonical.JOINTS), 3)
        assert z["contacts"].shape == (entry["frames"], 4) and z["root_velocity"].shape == (entry["frames"], 3)
        assert len(entry["captions"]) >= 6
    # a walk plants each foot for part of the time, alternating
    walk = np.load(small_cache / "clips" / by_name[pick[0]]["file"])
    c = walk["contacts"]
    assert 0.2 < c[:, 0].mean() < 0.9 and 0.2 < c[:, 2].mean() < 0.9
    assert (c[:, 0] != c[:, 2]).mean() > 0.2
    # walking forward: mean ground speed in the heading frame points backward(-y is forward) ~ 1 m/s
    v = walk["root_velocity"]
    assert 0.5 < np.linalg.norm(v[:, :2].mean(0)) < 2.5
    # second run rebuilds nothing
    again = bd.build(BANDAI, small_cache, progress=False)
    assert again["totals"]["rebuilt"] == 0 and again["totals"]["clips"] == t["clips"]
    assert json.loads((small_cache / "clips" / "index.json").read_text())["totals"] == again["totals"]


def test_cli_prints_totals(small_cache, capsys):
    assert bd.main(["--cache", str(small_cache), "--limit", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "5 clips" in out and "minutes" in out and "captions" in out
    assert bd.main(["--data", "/nonexistent", "--cache", str(small_cache)]) == 1


def test_features_reconstruct_positions():
    """Integrating root velocity and adding the heading-frame pose gives back world positions."""
    from motion_core.models.pose_vector import heading
    from motion_core.models.pose_vector import rot_z as _rot_z
    from motion_core.rigs.builtin import builtin_rig
    from motion_core.skeleton.motion import Motion
    from training.features import motion_features
    rig, _ = builtin_rig("canonical")
    t = 50
    yaw = np.linspace(0, 1.5, t)
    rot = np.zeros((t, 21, 4))
    rot[..., 0] = np.cos(yaw / 2)[:, None]
    rot[..., 3] = np.sin(yaw / 2)[:, None]
    root = np.stack([np.linspace(0, 1, t), np.linspace(0, -2, t), np.full(t, 0.97)], -1)
    m = Motion(rot, root, rig.tpose.positions[[rig.skeleton.index(n) for n in canonical.JOINTS]], np.ones(21, bool), 25)
    f = motion_features(m)
    pos = m.positions()
    np.testing.assert_allclose(heading(pos), yaw, atol=1e-9)
    ground = np.cumsum(np.einsum("tij,tj->ti", _rot_z(yaw), np.c_[f["root_velocity"][:, :2], np.zeros(t)]) / 25, 0)
    np.testing.assert_allclose(ground[:, :2] + root[0, :2], root[:, :2], atol=1e-5)
    world = np.einsum("tij,tkj->tki", _rot_z(yaw), f["pose"]) + np.c_[root[:, :2], np.zeros(t)][:, None]
    np.testing.assert_allclose(world, pos, atol=1e-5)


def test_no_data_copied_into_the_repo():
    repo = Path(__file__).resolve().parents[1]
    assert not list(repo.rglob("dataset-*.bvh"))
