"""Time retargeting 10 s (250 frames at 25 fps) of real motion onto each built-in rig.

    python bench/bench_retarget.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from motion_core.rigs.builtin import NAMES, builtin_rig  # noqa: E402
from motion_core.rigs.retarget import clip_from_motion, load_rig, motion_from_clip  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_and_median  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "shared/data/bandai-namco/dataset-1/data/dataset-1_dance-short_normal_001.bvh"


def main() -> None:
    if not SRC.exists():
        sys.exit(f"needs {SRC}")
    rig, clip = load_rig(SRC)
    motion = motion_from_clip(clip, rig).resample(25).slice(0, 250)
    t_motion = best_and_median(lambda: motion_from_clip(clip, rig), 5)[0]
    print(f"motion_from_clip, {clip.num_frames} frames at 30 fps: {t_motion * 1e3:.1f} ms")
    for name in NAMES:
        tgt, _ = builtin_rig(name)
        t = best_and_median(lambda tgt=tgt: clip_from_motion(motion, tgt), 5)[0]
        print(f"clip_from_motion, 250 frames -> {name:9s} ({tgt.skeleton.num_joints} joints): {t * 1e3:.1f} ms "
              f"({t / 250 * 1e3:.3f} ms/frame)")


if __name__ == "__main__":
    main()
