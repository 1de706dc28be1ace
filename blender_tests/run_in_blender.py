"""Run the scenarios inside a real Blender: blender -b --factory-startup -P blender_tests/run_in_blender.py -- BVH OUTDIR

Exit code 0 when all pass, 1 on the first failure (the glTF-Blender-IO convention)."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "blender_tests"))


def main() -> None:
    argv = sys.argv[sys.argv.index("--") + 1:]
    bvh, out = Path(argv[0]), Path(argv[1])
    import bpy
    import numpy
    import scenarios
    print(f"Blender {bpy.app.version_string}, Python {sys.version.split()[0]}, numpy {numpy.__version__}")

    def body():
        scenarios.main_job_renders_25fps_video(bvh, out / "render")
        scenarios.main_job_from_prompt(out / "prompt")
        scenarios.main_job_without_patterns_and_with_colour_rules(out / "patterns")
        scenarios.main_job_refuses_to_overwrite(bvh, out / "keep")
        scenarios.main_job_bad_input_exits_1(out / "bad")
        scenarios.run_or_skip(scenarios.retarget_onto_blender_bvh_import, bvh)
        scenarios.retarget_onto_rigify_metarig(bvh)

    scenarios.run_all("BLENDER SCENARIOS", body)


if __name__ == "__main__":
    main()
