"""Install the built zip into a throw-away Blender user folder, enable it and run addon_scenarios.

    blender -b --factory-startup -P blender_tests/run_addon.py -- ZIP BVH|- OUTDIR legacy
    python blender_tests/run_addon.py ZIP BVH OUTDIR legacy|extension          (the bpy module)

The caller points BLENDER_USER_* at a temporary folder. "legacy" installs through Preferences >
Add-ons (bl_info; 3.4+), "extension" through Preferences > Get Extensions > Install from Disk (4.2+).
Prints "ADDON SCENARIOS: PASSED" and exits 0, or the traceback and exits 1.
"""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load_scenarios():
    # by path, with only blender_tests/ on sys.path: the repository's addon/motion_core must not be importable
    sys.path.insert(0, str(HERE))
    spec = importlib.util.spec_from_file_location("addon_scenarios", HERE / "addon_scenarios.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def install(zip_path: Path, how: str) -> tuple[str, Path]:
    import bpy
    if how == "extension":
        bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default", enable_on_install=True)
        module = "bl_ext.user_default.heritage_motion"
        bpy.ops.preferences.addon_enable(module=module)
    else:
        bpy.ops.preferences.addon_install(filepath=str(zip_path))
        module = "heritage_motion"
        bpy.ops.preferences.addon_enable(module=module)
    mod = sys.modules[module]
    return module, Path(mod.__file__).parent


def main() -> None:
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    zip_path, out, how = Path(argv[0]), Path(argv[2]), argv[3]
    bvh = None if argv[1] == "-" else Path(argv[1])  # '-': the shared data set is not there
    out.mkdir(parents=True, exist_ok=True)
    import bpy
    import numpy
    print(f"Blender {bpy.app.version_string}, Python {sys.version.split()[0]}, numpy {numpy.__version__}, install {how}")
    s = _load_scenarios()
    from scenarios import run_all, run_or_skip

    def body():
        module, addon_dir = install(zip_path, how)
        print(f"installed {module} at {addon_dir}")
        files = {str(p.relative_to(addon_dir)) for p in addon_dir.rglob("*") if "__pycache__" not in p.parts and p.is_file()}
        s.installed(module, addon_dir)
        s.add_dancer_and_generate()
        s.dress_dancer_and_a_users_mesh()
        s.pattern_library_and_preview(out)
        s.identify_pattern(module, out)
        s.generate_on_rigify_metarig()
        if bvh is None:
            print("SKIPPED generate_on_bvh_import: needs ../shared/data (the Bandai-Namco clip); not present here")
        else:
            run_or_skip(s.generate_on_bvh_import, bvh)
        s.render_ten_frames(out, module)
        s.bad_selections_change_nothing(out)
        s.pattern_gan_variant_and_animation(out)
        s.batch_from_prompts(module, out, bvh)
        s.restore_pattern_image(out)
        s.writes_nothing_inside_the_addon(addon_dir, files)

    run_all("ADDON SCENARIOS", body)


if __name__ == "__main__":
    main()
