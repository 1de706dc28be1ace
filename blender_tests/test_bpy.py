"""The Blender scenarios in the bpy 5.0.1 module, and in Debian's blender 3.4.1 binary."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "blender_tests"))

bpy = pytest.importorskip("bpy", reason="needs the bpy module (pip install bpy==5.0.1; the README's setup does)")
import scenarios  # noqa: E402


def test_main_job_renders_25fps_video(dance_bvh, tmp_path):
    summary = scenarios.main_job_renders_25fps_video(dance_bvh, tmp_path)
    assert summary["blender"].startswith("5.0")


def test_main_job_from_prompt(tmp_path):
    scenarios.main_job_from_prompt(tmp_path)


def test_main_job_refuses_to_overwrite(dance_bvh, tmp_path):
    scenarios.main_job_refuses_to_overwrite(dance_bvh, tmp_path)


def test_main_job_bad_input_exits_1(tmp_path):
    scenarios.main_job_bad_input_exits_1(tmp_path)


def test_retarget_onto_blender_bvh_import(dance_bvh):
    scenarios.retarget_onto_blender_bvh_import(dance_bvh)


def test_retarget_onto_rigify_metarig(dance_bvh):
    scenarios.retarget_onto_rigify_metarig(dance_bvh)


def test_same_scenarios_in_blender_binary(dance_bvh, tmp_path):
    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("no blender binary on PATH (CI installs Debian's blender 3.4.1: apt-get install blender python3-numpy)")
    sys.path.insert(0, str(REPO))
    import build_addon
    build_addon.ensure_text_encoder()  # Blender's own Python has no encoder package: use the fp16 export
    r = subprocess.run([blender, "-b", "--factory-startup", "-P", str(REPO / "blender_tests" / "run_in_blender.py"),
                        "--", str(dance_bvh), str(tmp_path)], capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "BLENDER SCENARIOS: PASSED" in out, out[-4000:]
    assert "numpy" in out
