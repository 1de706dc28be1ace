import json
import subprocess
import sys

import numpy as np

from motion_core.rigs.bvh import read_bvh


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "motion_core", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_inspect_reports_joints_frames_fps_and_skeleton(bandai_dance):
    r = run("inspect", bandai_dance)
    assert r.returncode == 0, r.stderr
    assert "joints 22" in r.stdout and "frames 1901" in r.stdout and "30 fps" in r.stdout
    assert "63.37 s" in r.stdout and "Bandai-Namco" in r.stdout and "humanoid" in r.stdout
    info = json.loads(run("inspect", bandai_dance, "--json").stdout)
    assert info["frames"] == 1901 and info["mapped"]["l_hand"] == "Hand_L" and info["unmapped"] == ["joint_Root"]


def test_retarget_to_builtin_and_to_a_file(bandai_dance, sfu_chinese_dance, tmp_path):
    out = tmp_path / "a.bvh"
    r = run("retarget", bandai_dance, "--to", "cmu", "--out", out)
    assert r.returncode == 0, r.stderr
    clip = read_bvh(out)
    assert clip.skeleton.num_joints == 31 and abs(clip.fps - 25) < 1e-9
    assert clip.num_frames == int(1900 * 25 / 30) + 1
    out2 = tmp_path / "b.bvh"
    r = run("retarget", sfu_chinese_dance, "--to", bandai_dance, "--out", out2, "--fps", "source")
    assert r.returncode == 0, r.stderr
    clip2 = read_bvh(out2)
    assert clip2.skeleton.names == read_bvh(bandai_dance).skeleton.names
    assert abs(clip2.fps - 120) < 0.01


def test_bad_inputs_get_one_line_and_exit_1(tmp_path, bandai_dance):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT a\n{\n")
    cases = [
        (("inspect", bad), f"{bad}:"),
        (("inspect", tmp_path / "none.bvh"), "cannot read file"),
        (("retarget", bandai_dance, "--to", "horse", "--out", tmp_path / "x.bvh"), "not a built-in rig"),
        (("retarget", bandai_dance, "--to", "cmu", "--out", tmp_path / "y.bvh", "--fps", "0"), "--fps 0"),
    ]
    for args, fragment in cases:
        r = run(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], r.stderr
    assert not (tmp_path / "x.bvh").exists() and not (tmp_path / "y.bvh").exists()


def test_never_overwrites_without_force(tmp_path, bandai_dance):
    out = tmp_path / "keep.bvh"
    out.write_text("precious")
    r = run("retarget", bandai_dance, "--to", "mixamo", "--out", out)
    assert r.returncode == 1 and "exists" in r.stderr and out.read_text() == "precious"
    r = run("retarget", bandai_dance, "--to", "mixamo", "--out", out, "--force")
    assert r.returncode == 0 and read_bvh(out).skeleton.names[0] == "mixamorig:Hips"


def test_non_humanoid_target_is_refused_listing_missing_joints(tmp_path, bandai_dance, small_bvh):
    rig = tmp_path / "stick.bvh"
    rig.write_text(small_bvh)
    r = run("retarget", bandai_dance, "--to", rig, "--out", tmp_path / "o.bvh")
    assert r.returncode == 1 and "not a humanoid" in r.stderr and "l_upper_arm" in r.stderr


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("retarget", "x.bvh").returncode == 2


def test_written_values_are_finite(tmp_path, bandai_dance):
    out = tmp_path / "r.bvh"
    assert run("retarget", bandai_dance, "--to", "rigify", "--out", out).returncode == 0
    assert np.isfinite(read_bvh(out).values).all()


# -- restore and identify: pattern images in batch (#13, #14) ---------------------------------------
def _edo_prints(n: int) -> list:
    from tests.conftest import DATA, need

    folder = need(DATA / "patterns" / "kamon" / "edo")
    return sorted(folder.iterdir())[:n]


def test_restore_writes_new_images_with_provenance_and_never_overwrites(tmp_path):
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    for p in _edo_prints(2):
        (src / p.name).write_bytes(p.read_bytes())
    (src / "notes.txt").write_text("not an image")  # ignored: not an image suffix
    (src / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    r = run("restore", src, "--out", out)
    assert r.returncode == 1, r.stderr  # broken.png failed, the two prints were restored
    assert "broken.png: not a readable image" in r.stderr and "1 of 3 images not restored" in r.stderr
    made = sorted(q.name for q in out.iterdir())
    stems = sorted(p.stem for p in src.iterdir() if p.suffix == ".jpg")
    assert made == sorted([f"{s}_restored.json" for s in stems] + [f"{s}_restored.png" for s in stems])
    for s in stems:
        with Image.open(out / f"{s}_restored.png") as im, Image.open(src / f"{s}.jpg") as orig:
            assert im.size == orig.size and im.mode == "RGB"
            a = np.asarray(im, np.float32)
            b = np.asarray(orig.convert("RGB"), np.float32)
        assert 0.5 < np.abs(a - b).mean() < 40  # changed, but the same print
        prov = json.loads((out / f"{s}_restored.json").read_text())
        assert prov["source_file"].endswith(f"{s}.jpg") and prov["made_by"] == "python -m motion_core restore"
        assert "licence" in json.dumps(prov).lower()
    before = (out / f"{stems[0]}_restored.png").read_bytes()
    r = run("restore", src / f"{stems[0]}.jpg", "--out", out)
    assert r.returncode == 1 and "exists; pass --force" in r.stderr
    assert (out / f"{stems[0]}_restored.png").read_bytes() == before
    assert run("restore", src / f"{stems[0]}.jpg", "--out", out, "--force").returncode == 0
    r = run("restore", tmp_path / "nothing", "--out", out)
    assert r.returncode == 1 and r.stderr.strip() == f"error: {tmp_path / 'nothing'}: no such file or folder"


def test_restore_with_masks_changes_only_the_masked_pixels(tmp_path):
    """--masks FOLDER (a mask per image, by name) and --only-masked: outside the mask grown by 1 px the
    output is the input; an image without its mask fails alone; --only-masked without --masks is refused."""
    from PIL import Image

    (p,) = _edo_prints(1)
    with Image.open(p) as im:
        orig = np.asarray(im.convert("RGB"))
    h, w = orig.shape[:2]
    masks = tmp_path / "masks"
    masks.mkdir()
    m = np.zeros((h, w), np.uint8)
    m[h // 3: h // 2, w // 3: w // 2] = 255
    Image.fromarray(m).save(masks / f"{p.stem}.png")
    src = tmp_path / "in"
    src.mkdir()
    (src / p.name).write_bytes(p.read_bytes())
    (src / "unmasked.jpg").write_bytes(p.read_bytes())
    out = tmp_path / "out"
    r = run("restore", src, "--out", out, "--masks", masks, "--only-masked")
    assert r.returncode == 1 and "unmasked.jpg: no mask named unmasked.*" in r.stderr, r.stderr
    with Image.open(out / f"{p.stem}_restored.png") as im:
        got = np.asarray(im, np.int16)
    ring = np.zeros((h, w), bool)
    ring[h // 3 - 1: h // 2 + 1, w // 3 - 1: w // 2 + 1] = True
    assert np.array_equal(got[~ring], orig[~ring])  # untouched outside, to the byte
    assert np.abs(got[m > 0] - orig[m > 0]).max() > 10  # restored inside
    prov = json.loads((out / f"{p.stem}_restored.json").read_text())
    assert prov["only_masked_pixels"] and prov["mask_pixels"] == int((m > 0).sum())
    assert prov["mask_file"].endswith(f"{p.stem}.png")
    assert not (out / "unmasked_restored.png").exists()
    r = run("restore", src, "--out", tmp_path / "o2", "--only-masked")
    assert r.returncode == 1 and "--only-masked needs --masks" in r.stderr and not (tmp_path / "o2").exists()


def test_identify_prints_suggestions_and_json(tmp_path):
    prints = _edo_prints(2)
    r = run("identify", *prints)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.split(": ", 1)[1].startswith("Suggested: ") for line in lines)
    r = run("identify", prints[0], "--json", "--text", "kamon, a Japanese heraldic emblem")
    rec = json.loads(r.stdout)
    assert rec["file"] == str(prints[0]) and rec["used_text"] is True and len(rec["top3"]) == 3
    assert rec["wording"].startswith("suggested")
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG broken")
    r = run("identify", bad)
    assert r.returncode == 1 and r.stderr.startswith(f"error: {bad}: not a readable image")
    r = run("identify", prints[0], "--weights", tmp_path / "none.npz")
    assert r.returncode == 1 and "no classifier weights" in r.stderr
