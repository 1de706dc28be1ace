"""Generation speed on one CPU core with the numpy path: prompt -> 10 s (250 frames) of motion.

    python bench/bench_generate.py [--model motion_core/weights/motion_mdn.npz] [--seconds 10]

Reports model and text-encoder load times, end-to-end generation after warm-up (text encoding,
network, decoding to a Motion; best and median of 10), retargeting onto Rigify, and peak memory.
Target: <= 50 ms for 10 s end to end, model load <= 1 s.
"""

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as the target says
os.environ.setdefault("OMP_NUM_THREADS", "1")

import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from motion_core.models.generate import generate  # noqa: E402
from motion_core.models.registry import SHIPPED, load_model  # noqa: E402
from motion_core.rigs.builtin import builtin_rig  # noqa: E402
from motion_core.rigs.retarget import clip_from_motion  # noqa: E402
from motion_core.text.encoder import load_text_encoder  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_and_median  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=str(SHIPPED))
    p.add_argument("--seconds", type=float, default=10.0)
    a = p.parse_args()
    t = time.perf_counter()
    model = load_model(a.model)
    t_model = time.perf_counter() - t
    t = time.perf_counter()
    enc = load_text_encoder()
    t_enc = time.perf_counter() - t
    prompt = "a feminine dance, slow and graceful"
    generate(prompt, a.seconds, 0, model, enc)  # warm-up
    best, med = best_and_median(lambda: generate(prompt, a.seconds, 0, model, enc))
    text_best, _ = best_and_median(lambda: enc.encode(prompt))
    motion = generate(prompt, a.seconds, 0, model, enc).motion
    rig, _ = builtin_rig("rigify")
    rt_best, _ = best_and_median(lambda: clip_from_motion(motion, rig))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model load {t_model * 1e3:.0f} ms ({Path(a.model).stat().st_size / 1e6:.1f} MB, {model.source})")
    print(f"text encoder load {t_enc * 1e3:.0f} ms ({enc.source})")
    print(f"generate {a.seconds:g} s ({int(a.seconds * 25)} frames), end to end: best {best * 1e3:.1f} ms, "
          f"median {med * 1e3:.1f} ms (of which text encoding {text_best * 1e3:.1f} ms); target 50 ms -> "
          f"{best / 0.05:.2f}x of budget")
    print(f"retarget onto rigify: {rt_best * 1e3:.1f} ms")
    print(f"peak memory (max RSS): {peak:.0f} MB")


if __name__ == "__main__":
    main()
