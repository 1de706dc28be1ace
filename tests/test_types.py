"""The type check runs with the tests: motion_core under mypy --strict (pyproject.toml's [tool.mypy]).

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
