"""The type check runs with the tests: motion_core under mypy --strict, the add-on under check_untyped_defs.

mypy and fake-bpy-module live in `.venv-types` (made by `./run.sh test`), apart from the real bpy in
`.venv`: the stubs install a package named bpy that would shadow it. A type error fails this test.
"""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MYPY = REPO / ".venv-types" / "bin" / "mypy"


def test_motion_core_passes_mypy_strict():
    assert MYPY.exists(), f"{MYPY} is missing: ./run.sh test (or ./run.sh types) makes it"
    r = subprocess.run([str(MYPY), "-p", "motion_core"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "Success: no issues found" in r.stdout


def test_addon_passes_mypy():
    """The add-on's files against fake-bpy-module 3.4 (the oldest supported Blender): check_untyped_defs,
    see pyproject.toml's addon override. addon/motion_core (the symlink) is followed silently: it is
    checked above as motion_core."""
    assert MYPY.exists(), f"{MYPY} is missing: ./run.sh test (or ./run.sh types) makes it"
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "addon").glob("*.py"))
    assert "addon/__init__.py" in files and len(files) > 10, files
    r = subprocess.run([str(MYPY), *files], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "Success: no issues found" in r.stdout
