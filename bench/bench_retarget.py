"""Time retargeting 10 s (250 frames at 25 fps) of real motion onto each built-in rig.

    python bench/bench_retarget.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from motion_core.builtin_rigs import NAMES, builtin_rig  # noqa: E402
from motion_core.retarget import clip_from_motion, load_rig, motion_from_clip  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "shared/data/bandai-namco/dataset-1/data/dataset-1_dance-short_normal_001.bvh"


def best(fn, n=5):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    if not SRC.exists():
        sys.exit(f"needs {SRC}")
    rig, clip = load_rig(SRC)
    motion = motion_from_clip(clip, rig).resample(25).slice(0, 250)
    print(f"motion_from_clip, {clip.num_frames} frames at 30 fps: {best(lambda: motion_from_clip(clip, rig)) * 1e3:.1f} ms")
    for name in NAMES:
        tgt, _ = builtin_rig(name)
        t = best(lambda tgt=tgt: clip_from_motion(motion, tgt))
        print(f"clip_from_motion, 250 frames -> {name:9s} ({tgt.skeleton.num_joints} joints): {t * 1e3:.1f} ms "
              f"({t / 250 * 1e3:.3f} ms/frame)")


if __name__ == "__main__":
    main()
