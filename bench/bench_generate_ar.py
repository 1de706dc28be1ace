"""Generation speed of the autoregressive model on one CPU core, numpy only: prompt -> 10 s of motion.

    python bench/bench_generate_ar.py [--model motion_core/weights/motion_ar.npz] [--seconds 10]

Reports load times, then (best and median of 10 after warm-up) the prompt's MiniLM token states,
the generator with its own breakdown (conditioning, the per-frame network, the mixture choice and
sampling, root grounding) and decoding to a canonical Motion. Target: 10 s in <= 50 ms.
"""

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as the target says
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from motion_core.models.ar_mdn import SHIPPED, generate_ar, load_ar_model, to_motion, token_states  # noqa: E402
from motion_core.text.encoder import load_text_encoder  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_and_median  # noqa: E402

PROMPT = "a feminine dance, slow and graceful"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=str(SHIPPED))
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--mode", default="canonical")
    a = p.parse_args()
    t = time.perf_counter()
    model = load_ar_model(a.model)
    t_model = time.perf_counter() - t
    t = time.perf_counter()
    enc = load_text_encoder()
    t_enc = time.perf_counter() - t
    tokens = token_states(enc, PROMPT)
    g = generate_ar(model, tokens, None, a.seconds, 0, a.mode)  # warm-up
    to_motion(model, g.vectors)

    text_best, text_med = best_and_median(lambda: token_states(enc, PROMPT))
    parts = []

    def gen():
        parts.append(generate_ar(model, tokens, None, a.seconds, 1, a.mode).info["timing_s"])

    gen_best, gen_med = best_and_median(gen)
    dec_best, dec_med = best_and_median(lambda: to_motion(model, g.vectors))
    print(f"model load {t_model * 1e3:.0f} ms ({Path(a.model).name}, hidden {model.hidden} x {model.layers} layers, "
          f"K {model.k}); text encoder load {t_enc * 1e3:.0f} ms")
    print(f"{a.seconds:g} s = {g.vectors.shape[0]} frames (+{g.info['burn_in_frames']} burn-in), mode {a.mode}, "
          f"one core (OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']})")
    print(f"  prompt token states (MiniLM)   best {text_best * 1e3:6.1f} ms  median {text_med * 1e3:6.1f} ms")
    print(f"  generate_ar                    best {gen_best * 1e3:6.1f} ms  median {gen_med * 1e3:6.1f} ms")
    for k in ("condition", "network", "mixture_and_sampling", "ground_root"):
        print(f"    {k:<28} median {statistics.median(x[k] for x in parts) * 1e3:6.1f} ms")
    print(f"  decode to Motion               best {dec_best * 1e3:6.1f} ms  median {dec_med * 1e3:6.1f} ms")
    total_best = text_best + gen_best + dec_best
    total_med = text_med + gen_med + dec_med
    print(f"end to end (prompt -> Motion)    best {total_best * 1e3:6.1f} ms  median {total_med * 1e3:6.1f} ms  "
          f"(target <= 50 ms; generator alone {gen_med * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
