"""Run the scenarios inside a real Blender: blender -b --factory-startup -P blender_tests/run_in_blender.py -- BVH OUTDIR

Exit code 0 when all pass, 1 on the first failure (the glTF-Blender-IO convention)."""

import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "blender_tests"))


def main() -> int:
    argv = sys.argv[sys.argv.index("--") + 1:]
    bvh, out = Path(argv[0]), Path(argv[1])
    import bpy
    import numpy
    import scenarios
    print(f"Blender {bpy.app.version_string}, Python {sys.version.split()[0]}, numpy {numpy.__version__}")
    try:
        scenarios.main_job_renders_25fps_video(bvh, out / "render")
        scenarios.main_job_from_prompt(out / "prompt")
        scenarios.main_job_refuses_to_overwrite(bvh, out / "keep")
        scenarios.main_job_bad_input_exits_1(out / "bad")
        try:
            scenarios.retarget_onto_blender_bvh_import(bvh)
        except scenarios.ImporterBroken as e:
            print(f"SKIPPED retarget_onto_blender_bvh_import: {e}")
        scenarios.retarget_onto_rigify_metarig(bvh)
    except Exception:
        traceback.print_exc()
        print("BLENDER SCENARIOS: FAILED")
        return 1
    print("BLENDER SCENARIOS: PASSED")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Blender ignores the script's return value; exit explicitly so the caller sees it.
    import os
    os._exit(code)
