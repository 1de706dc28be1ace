"""Headless main job: a prompt (or a BVH) in; a dance on a rig as BVH and a rendered 25 FPS MP4 out.

    python -m addon.batch [--prompt "a feminine dance, slow"] [--seconds 4] [--seed 0] [--rig rigify] [--out out/main]
    python -m addon.batch --bvh IN.bvh [--rig rigify] ...

Runs on the embedded ``bpy`` module (or inside ``blender -b -P addon/batch.py -- ...``). The motion
comes from the shipped text-to-motion model (numpy only), or from a BVH with ``--bvh``.
Outputs (written atomically, never over an existing file unless --force): NAME.bvh, NAME.mp4,
NAME.png (poster frame), NAME.json (what was done). Exit code 0 on success, 1 on bad input with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script by blender -P: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "addon"  # noqa: A001

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from .animate import apply_motion  # noqa: E402
from .core import builtin_rigs, bvh, config, generate, mdn, retarget, text_encoder  # noqa: E402
from .render import add_stage, render_mp4, render_still, setup_scene  # noqa: E402
from .rig_io import add_body_mesh, armature_from_rig, rig_from_armature  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PROMPT = "a feminine dance, slow and graceful"


def _argv() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m addon.batch", description=__doc__.splitlines()[0])
    p.add_argument("--prompt", default=None, help=f"what to generate (default: {DEFAULT_PROMPT!r} unless --bvh is given)")
    p.add_argument("--seed", type=int, default=0, help="same prompt and seed, same dance (default 0)")
    p.add_argument("--mode", choices=["canonical", "diverse"], default="canonical")
    p.add_argument("--bvh", type=Path, default=None, help="retarget this BVH instead of generating")
    p.add_argument("--rig", default="rigify", help=f"target: built-in rig ({', '.join(builtin_rigs.NAMES)}) or a BVH file")
    p.add_argument("--seconds", type=float, default=4.0, help="length to render, 0.2 to 60 s (default 4)")
    p.add_argument("--start", type=float, default=0.0, help="start time in the source, seconds")
    p.add_argument("--out", type=Path, default=REPO / "out" / "main", help="output folder")
    p.add_argument("--name", default=None, help="output base name (default: source name + rig)")
    p.add_argument("--resolution", default="640x360", help="WIDTHxHEIGHT (default 640x360)")
    p.add_argument("--engine", choices=["WORKBENCH", "EEVEE", "CYCLES"], default="WORKBENCH")
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    return p.parse_args(argv)


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:48] or "motion"


def run(args: argparse.Namespace) -> dict:
    if args.bvh is not None and args.prompt is not None:
        raise ValueError("give either --prompt or --bvh, not both")
    if args.bvh is not None and not args.bvh.exists():
        raise ValueError(f"{args.bvh}: file not found")
    if not 0.2 <= args.seconds <= 60:
        raise ValueError(f"--seconds {args.seconds}: expected 0.2 to 60")
    try:
        w, h = (int(x) for x in args.resolution.lower().split("x"))
    except ValueError:
        raise ValueError(f"--resolution {args.resolution!r}: expected WIDTHxHEIGHT, e.g. 640x360") from None
    prompt = None if args.bvh is not None else (args.prompt or DEFAULT_PROMPT)
    source = args.bvh.stem if args.bvh is not None else f"{_slug(prompt)}-s{args.seed}"
    name = args.name or f"{source}_{Path(args.rig).stem}"
    out = {k: args.out / f"{name}.{k}" for k in ("bvh", "mp4", "png", "json")}
    if not args.force and any(p.exists() for p in out.values()):
        raise ValueError(f"{args.out}/{name}.* exists; pass --force or another --name")

    t0 = time.perf_counter()
    if Path(args.rig).suffix.lower() == ".bvh":
        tgt_rig, _ = retarget.load_rig(args.rig)
    else:
        tgt_rig, _ = builtin_rigs.builtin_rig(args.rig)
    generation = None
    if prompt is not None:
        gen = generate.generate(prompt, max(args.seconds, config.MIN_SECONDS), args.seed, mdn.load_model(),
                                text_encoder.load_text_encoder(), args.mode, tpose=tgt_rig.canonical_tpose())
        generation = gen.info
        mot = gen.motion.slice(0, int(round(args.seconds * config.FPS)))
    else:
        src_rig, src_clip = retarget.load_rig(args.bvh)
        mot = retarget.motion_from_clip(src_clip, src_rig).resample(config.FPS)
        first = int(round(args.start * config.FPS))
        if first >= mot.num_frames:
            raise ValueError(f"--start {args.start}: the source is only {mot.duration:.2f} s long")
        mot = mot.slice(first, first + int(round(args.seconds * config.FPS)))
    clip = retarget.clip_from_motion(mot, tgt_rig)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    coll = scene.collection
    arm = armature_from_rig(tgt_rig, "HM_dancer", coll)
    arm_rig = rig_from_armature(arm)
    action = apply_motion(arm, mot, f"HM {name}", arm_rig)
    body = add_body_mesh(arm, arm_rig, coll)
    height = float(np.ptp(arm_rig.tpose.positions[:, 2]))
    track = mot.root * (arm_rig.tpose.leg_length(arm_rig) / mot.leg_length)
    setup_scene(scene, mot.num_frames, int(config.FPS), (w, h), args.engine)
    add_stage(scene, coll, track, max(1.2, height))
    t1 = time.perf_counter()
    # All or nothing: outputs are made in a staging folder and moved into place only when all exist,
    # so a failure leaves neither a partial set nor a damaged earlier one (with --force).
    args.out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".hm-stage-", dir=args.out))
    try:
        render_still(scene, max(1, mot.num_frames // 2), stage / "out.png")  # poster frame
        render_mp4(scene, stage / "out.mp4")
        bvh.write_bvh(stage / "out.bvh", clip)
        for key in ("png", "mp4", "bvh"):
            os.replace(stage / f"out.{key}", out[key])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    t2 = time.perf_counter()
    summary = {
        "source": str(args.bvh) if args.bvh is not None else "generated", "generation": generation,
        "rig": tgt_rig.name, "frames": mot.num_frames, "fps": config.FPS,
        "seconds": mot.duration, "action": action.name, "body": body.name,
        "outputs": {k: str(v) for k, v in out.items()},
        "timing_s": {"retarget_and_keys": round(t1 - t0, 3), "render": round(t2 - t1, 3)},
        "blender": bpy.app.version_string,
    }
    tmp = out["json"].with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    tmp.replace(out["json"])
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(_argv() if argv is None else argv)
    try:
        summary = run(args)
    except (ValueError, KeyError, OSError, RuntimeError, bvh.BVHError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 1
    o = summary["outputs"]
    print(f"{summary['frames']} frames at {summary['fps']:g} fps on {summary['rig']}: {o['mp4']}, {o['bvh']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
