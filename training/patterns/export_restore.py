"""Export the restoration generator to the numpy runtime's weights (issue #13).

    python -m training.patterns.export_restore --run runs/restore [--out motion_core/weights/patterns/restore.npz]

Reads RUN/ckpt.pt (training/patterns/train_restore.py) and writes an ``.npz`` whose arrays are named
as the generator's torch state dict (float32; BatchNorm kept with its running statistics, the
``num_batches_tracked`` counters dropped), plus ``meta_json``: model name, version, training data
and licence, steps, seed, the training command. The generator has no spectral norm (only the
discriminator, which is not shipped); were one added, its ``weight`` after an eval-mode forward is
the normalised weight to export, never ``weight_orig``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from motion_core.files import save_atomic
from training.patterns.restore_model import Generator
from training.patterns.train_restore import DATA_NOTE

VERSION = "1.0"
LICENCE = ("CC BY-SA 4.0: trained on the Kamon data set's Ansei Bukan prints (Sakana AI; CODH), shared under the "
           "same licence; see PATTERNS_NOTICE.md")


def _init_meta(st: dict) -> dict:
    """The meta of the generator a warm-started stage began from ({} for a run from scratch or when
    its file is gone)."""
    init = st.get("init_g")
    if init and Path(init).exists():
        return json.loads(str(np.load(init, allow_pickle=False)["meta_json"]))
    return {}


def _init_steps(st: dict) -> int:
    """Steps of the generator a warm-started stage began from (0 for a run from scratch)."""
    if st.get("init_steps"):
        return int(st["init_steps"])
    meta = _init_meta(st)  # checkpoints older than the init_steps field
    return int(meta.get("steps_total", meta.get("steps", 0)))


def export(run: Path, out: Path) -> Path:
    st = torch.load(Path(run) / "ckpt.pt", weights_only=True)  # tensors and plain data only
    g = Generator()
    g.load_state_dict(st["g"])
    g.eval()
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in g.state_dict().items()
          if not k.endswith("num_batches_tracked")}
    log = Path(run) / "train_log.json"
    info = json.loads(log.read_text()) if log.exists() else {}
    meta = {"model": "heritage-motion restore (U-Net GAN generator, seed 001 section 3.3)", "version": VERSION,
            "training_data": DATA_NOTE, "licence": LICENCE, "steps": int(st["step"]), "seed": int(st["seed"]),
            "batch": int(st["batch"]), "crop": int(st["crop"]),
            "command": info.get("command", f"python -m training.patterns.train_restore --out {run}"),
            "steps_total": int(st["step"]) + _init_steps(st),
            "kind_off_share": float(st.get("kind_off_share", 0.0)),
            "warm_started_from": {k: v for k, v in _init_meta(st).items()
                                  if k in ("steps", "steps_total", "seed", "command", "kind_off_share")} or None,
            "validation_ssim": st["vals"][-1] if st["vals"] else None}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(out, lambda p: np.savez_compressed(p, **sd, meta_json=np.array(json.dumps(meta))))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, default=Path("runs/restore"))
    ap.add_argument("--out", type=Path, default=Path("motion_core/weights/patterns/restore.npz"))
    a = ap.parse_args(argv)
    if not (a.run / "ckpt.pt").exists():
        print(f"error: {a.run / 'ckpt.pt'} not found (train first: python -m training.patterns.train_restore)")
        return 1
    p = export(a.run, a.out)
    print(f"wrote {p} ({p.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
