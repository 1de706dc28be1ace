"""Time parsing a ~5 MB BVH on one core. Target: under 0.5 s.

    python bench/bench_bvh_parse.py [--mb 5] [--repeat 5]

Uses a real Bandai-Namco clip tiled to the size when ../shared/data is present, else a synthetic
22-joint, 6-channel clip of the same shape. Prints MB, best and median seconds, MB/s, and the
ratio to the target.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from motion_core.rigs.bvh import BvhClip, format_bvh, read_bvh  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "shared/data/bandai-namco/dataset-1/data/dataset-1_dance-short_normal_001.bvh"
TARGET_S = 0.5


def make_clip(mb: float) -> tuple[BvhClip, str]:
    if SRC.exists():
        base, what = read_bvh(SRC), f"real clip {SRC.name}, tiled"
    else:
        from motion_core.rigs.builtin import builtin_rig
        _, base = builtin_rig("canonical")
        base = BvhClip(base.skeleton, 1 / 30, np.random.default_rng(0).uniform(-180, 180, (1000, base.skeleton.num_channels)))
        what = "synthetic clip"
    per_frame = len(format_bvh(BvhClip(base.skeleton, base.frame_time, base.values[:100]))) / 100
    frames = int(mb * 1e6 / per_frame)
    reps = int(np.ceil(frames / base.num_frames))
    return BvhClip(base.skeleton, base.frame_time, np.tile(base.values, (reps, 1))[:frames]), what


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=float, default=5.0)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    clip, what = make_clip(a.mb)
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "big.bvh"
        f.write_text(format_bvh(clip))
        size = f.stat().st_size / 1e6
        read_bvh(f)  # warm the page cache
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            read_bvh(f)
            times.append(time.perf_counter() - t)
    best, med = min(times), statistics.median(times)
    print(f"BVH parse: {size:.2f} MB ({clip.num_frames} frames x {clip.skeleton.num_channels} channels, {what})")
    print(f"  best {best:.3f} s, median {med:.3f} s, {size / best:.1f} MB/s; target {TARGET_S} s -> "
          f"{best / TARGET_S:.2f}x of budget")


if __name__ == "__main__":
    main()
