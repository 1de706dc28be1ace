"""``python -m motion_core``: inspect, retarget and generate BVH; validate rule packs; build priors;
build pattern banks; restore and identify pattern images in batch.

Exit codes: 0 success; 1 bad input (one-line reason on stderr); 2 bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from . import config
from .config import FPS
from .inputs import expand_inputs
from .rigs.axes import AxisConvention, parse_unit
from .rigs.bonemap import NotHumanoidError, build_bone_map, guess_family, load_override
from .rigs.builtin import NAMES as BUILTIN_RIGS
from .rigs.builtin import builtin_rig
from .rigs.bvh import BvhClip, BVHError, read_bvh, write_bvh
from .rigs.retarget import Rig, make_rig, motion_from_clip, retarget_clip
from .rules.pack import RulePack
from .skeleton import canonical


def seed_arg(text: str) -> int:
    """argparse type of --seed: a whole number from 0 to 2**32 - 1 (argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number from 0 to {2 ** 32 - 1}") from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"{value}: expected a whole number from 0 to {2 ** 32 - 1}")
    return value


class UserError(Exception):
    """A problem with the user's input, reported as one line and exit code 1."""


def _axes(args: argparse.Namespace) -> AxisConvention | None:
    if args.unit is None and args.up is None:
        return None
    return AxisConvention(args.up or "Y", parse_unit(args.unit) if args.unit else 0.01)


def _load(path: str, map_file: str | None, axes: AxisConvention | None) -> tuple[Rig, BvhClip]:
    if path in BUILTIN_RIGS and not Path(path).exists():
        return builtin_rig(path)
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file, and not a built-in rig ({', '.join(BUILTIN_RIGS)})")
    clip = read_bvh(p)
    override = load_override(map_file, clip.skeleton) if map_file else None
    return make_rig(clip.skeleton, p.name, axes, override, clip), clip


def cmd_inspect(args: argparse.Namespace) -> int:
    clip = read_bvh(args.file)
    sk = clip.skeleton
    info: dict[str, Any] = {
        "file": str(args.file),
        "joints": sk.num_joints,
        "channels": sk.num_channels,
        "frames": clip.num_frames,
        "fps": round(clip.fps, 4),
        "duration_s": round(clip.duration, 3),
        "family": guess_family(sk.names),
    }
    try:
        override = load_override(args.map, sk) if args.map else None
        rig = make_rig(sk, Path(args.file).name, _axes(args), override, clip)
        motion = motion_from_clip(clip, rig)
        pos = motion.positions()
        info.update({
            "humanoid": True,
            "axes": rig.axes.describe(),
            "height_m": round(float(np.median(pos[:, canonical.INDEX["head"], 2]
                                               - pos[:, [canonical.INDEX["l_foot"], canonical.INDEX["r_foot"]], 2].mean(1))), 3),
            "mapped": rig.bone_map.mapping,
            "unmapped": rig.bone_map.unmapped,
        })
    except NotHumanoidError as e:
        bm = build_bone_map(sk, require_humanoid=False)
        info.update({"humanoid": False, "missing": e.missing, "mapped": bm.mapping, "unmapped": bm.unmapped})
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['file']}")
    print(f"  joints {info['joints']}, channels {info['channels']}, frames {info['frames']}, "
          f"{info['fps']:g} fps, {info['duration_s']:.2f} s")
    print(f"  skeleton: {info['family'] or 'not a known family'}; "
          + (f"humanoid, {info['axes']}, ankle-to-head {info['height_m']} m" if info["humanoid"]
             else f"NOT humanoid: missing {', '.join(info['missing'])}"))
    print(f"  mapped {len(info['mapped'])}/{len(canonical.JOINTS)} canonical joints"
          + (f"; unmapped rig joints: {', '.join(info['unmapped'])}" if info["unmapped"] else ""))
    return 0


def cmd_retarget(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        raise UserError(f"{out} exists; choose another --out or pass --force to replace it")
    src_rig, src_clip = _load(args.input, args.map, _axes(args))
    tgt_rig, _ = _load(args.to, args.target_map, None)
    fps = None if args.fps == "source" else float(args.fps)
    if fps is not None and not 1 <= fps <= 240:
        raise UserError(f"--fps {args.fps}: expected 1 to 240 or 'source'")
    result = retarget_clip(src_clip, src_rig, tgt_rig, fps)
    write_bvh(out, result)
    print(f"{out}: {result.num_frames} frames at {result.fps:g} fps on {tgt_rig.name} "
          f"({tgt_rig.skeleton.num_joints} joints)")
    if tgt_rig.left_in_rest():
        print(f"  target joints kept in T-pose relative to their parent: {', '.join(tgt_rig.left_in_rest())}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .models.generate import request_seconds
    from .models.registry import load_model
    from .pipeline import ApplyRules, GenerateMotion, OutputSet, Request, WriteAudit, WriteBVH, make_job, run
    from .text.encoder import load_text_encoder

    out = Path(args.out)
    seconds = request_seconds(args.prompt, args.seconds, 10.0)
    request = Request(args.prompt, seconds, args.seed, args.mode, feet=not args.no_foot_locks, temperature=args.temperature)
    rig, _ = _load(args.rig, args.map, None)
    job = make_job(request, args.rules, rig.canonical_tpose())  # a bad pack stops here, before anything is made
    settings = {"prompt": args.prompt, "seconds": seconds, "seed": args.seed, "mode": args.mode, "feet": request.feet,
                "rules": job.pack.name, "rules_sha256": job.pack.sha256, "rig": str(args.rig), "map": args.map}
    outputs = OutputSet(out.parent, out.stem, {"bvh": out.suffix or ".bvh", "audit": ".audit.json"}, settings)
    if outputs.existing() and not args.force:
        raise UserError(f"{outputs.existing()[0]} exists; choose another --out or pass --force to replace it")
    model = load_model(args.model)
    encoder = load_text_encoder(args.text_encoder)
    with outputs.claim(), outputs.staging() as staged:
        run(job, [GenerateMotion(model, encoder), ApplyRules(), WriteBVH(rig, staged["bvh"]),
                  WriteAudit(staged["audit"], lambda job: {"bvh": str(outputs.paths["bvh"]), "rig": rig.name})])
    assert job.generation is not None and job.audit is not None
    info, audit, pack = job.generation.info, job.audit, job.pack
    pp = info["prior_pair"]
    print(f"{outputs.paths['bvh']}: {info['frames']} frames at {info['fps']:g} fps on {rig.name}; read as "
          f"'{pp['content']}' / '{pp['style']}' (similarity {pp['similarity']}), component {info['component']}, "
          f"mode {info['mode']}, seed {info['seed']}")
    print(f"  rules {pack.name} {pack.version} ({pack.status}): {audit.during.taboo_intervals} taboo interval(s) "
          f"replaced, {len(audit.during.limit_projections)} joint axes clipped, compliant frames "
          f"{audit.after.compliant_share:.1%}; audit {outputs.paths['audit']}")
    if pack.status == "illustrative":
        print(f"  note: {pack.status_note}")
    if (info.get("understanding") or {}).get("warning"):
        print(f"warning: {info['understanding']['warning']}", file=sys.stderr)
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from .rules.pack import builtin_packs, load_pack

    if args.action == "list":
        for name in sorted(builtin_packs()):
            p = load_pack(name)
            print(f"{name:40s} {p.version:8s} {p.status:16s} {p.title}")
        return 0
    p = load_pack(args.pack)
    if args.action == "check":
        return _check_clips(p, args.clips)
    print(f"{p.file}: valid; {p.name} {p.version} ({p.status}), {len(p.taboos)} taboo(s), "
          f"{len(p.symbols)} symbol(s), {len(p.colour_rules)} colour rule(s), prior: {'yes' if p.prior else 'no'}, "
          f"sha256 {p.sha256[:16]}")
    return 0


def _check_clips(pack: RulePack, inputs: list[str]) -> int:
    """How reference clips sit against a pack: frames outside the joint limits, frames in each taboo."""
    from .rigs.retarget import load_rig
    from .rules.apply import compliance
    from .rules.prior_build import clip_files

    if not inputs:
        raise UserError("rules check: give BVH files or folders after the pack")
    total = outside = compliant = 0
    taboo: dict[str, int] = {t.id: 0 for t in pack.taboos}
    for f in clip_files(inputs):
        rig, clip = load_rig(f)
        c = compliance(motion_from_clip(clip, rig).resample(FPS), pack)
        total += c.frames
        outside += c.frames_outside_limits
        compliant += round(c.compliant_share * c.frames)
        for k, v in c.taboo_frames.items():
            taboo[k] += v
        print(f"{f.name}: {c.frames} frames, {c.frames_outside_limits} outside the limits"
              + "".join(f", {v} in taboo {k}" for k, v in c.taboo_frames.items()))
    print(f"total: {total} frames at {FPS:g} fps; inside every joint limit {1 - outside / total:.1%}"
          + "".join(f"; in taboo {k} {v / total:.1%}" for k, v in taboo.items())
          + f"; compliant {compliant / total:.1%} ({pack.name} {pack.version})")
    return 0


def cmd_prior(args: argparse.Namespace) -> int:
    from .files import write_json_atomic
    from .rules.pack import DEFAULT_PACK, load_pack, parse_pack
    from .rules.prior_build import build_prior_pack

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UserError(f"{out} exists; choose another --out or pass --force to replace it")
    data = build_prior_pack(args.clips, args.name or out.stem.lower().replace("_", "-"), args.terms or "")
    parse_pack(data, str(out), load_pack(DEFAULT_PACK).limits)  # what we write must validate
    write_json_atomic(out, data)
    prior = data["prior"]
    print(f"{out}: prior from {len(args.clips)} input(s), {prior['frames']} frames at {FPS:g} fps; "
          f"{len(prior['joints'])} joints. Use it with: python -m motion_core generate PROMPT --rules {out}")
    return 0


def cmd_patterns(args: argparse.Namespace) -> int:
    """patterns build FOLDER --out BANK: a bank from your images; patterns query TEXT: what it retrieves."""
    from .patterns.costume import SHIPPED_DIR, load_bank
    from .patterns.encoder import load_encoder
    from .text.encoder import load_text_encoder

    if args.action == "build":
        from .patterns.library import build_library

        if not args.out:
            raise UserError("patterns build: give --out BANK.npz")
        out = Path(args.out).with_suffix(".npz")
        if (out.exists() or out.with_suffix(".json").exists()) and not args.force:
            raise UserError(f"{out} exists; choose another --out or pass --force to replace it")

        def progress(f: float, msg: str) -> None:
            print(f"[{f:4.0%}] {msg}", flush=True)

        bank = build_library(args.target, out, load_encoder(SHIPPED_DIR / "pattern_encoder.npz"), load_text_encoder(),
                             progress=progress)
        print(f"{out}: {len(bank.items)} images, {len(bank.prototypes)} prototypes, {len(bank.concepts)} captions. "
              f"Use it in the batch with --pattern-bank {out}")
        return 0
    bank = load_bank(args.bank)
    s = load_text_encoder().encode([args.target])[0]
    for proto in bank.prototypes_for_text(s, k=args.k):
        pv = bank.provenance(proto)
        rep = pv["representative"]
        print(f"prototype {proto}: {pv['members']} members, labels {pv['labels']}; "
              f"representative {rep['path']} ({rep['licence']})")
    return 0


def _image_paths(items: list[str]) -> list[Path]:
    """Files given, and the images directly inside folders given (sorted), for restore/identify."""
    return expand_inputs(items, IMAGE_SUFFIXES, f"images ({', '.join(sorted(IMAGE_SUFFIXES))})")


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


def _read_image(path: Path) -> np.ndarray:
    from .patterns.library import pil_reader

    try:
        return pil_reader(path)
    except OSError as e:  # Pillow's "cannot identify image file" and friends
        raise UserError(f"not a readable image ({e})") from None


def _mask_for(image: Path, masks: Path | None) -> Path | None:
    """The damage mask of ``image`` in folder ``masks``: the file with the same stem and an image suffix."""
    if masks is None:
        return None
    found = sorted(p for p in masks.iterdir() if p.stem == image.stem and p.suffix.lower() in IMAGE_SUFFIXES)
    return found[0] if found else None


def cmd_restore(args: argparse.Namespace) -> int:
    """restore IMAGE|FOLDER ... --out FOLDER: each image's restoration as OUT/<name>_restored.png, with
    its provenance (model, source file, notes) in OUT/<name>_restored.json. Existing outputs are kept
    unless --force; an image that fails is reported and the others go on (exit 1 if any failed)."""
    from .files import write_atomic, write_json_atomic
    from .patterns.animate import png_bytes
    from .patterns.image_input import ImageInputError, rgb_image
    from .patterns.restore import colour_warning, load_restorer

    if args.only_masked and not args.masks:
        raise UserError("--only-masked needs --masks FOLDER (a damage mask per image, white = damaged)")
    masks_dir = Path(args.masks) if args.masks else None
    if masks_dir is not None and not masks_dir.is_dir():
        raise UserError(f"--masks {masks_dir}: no such folder")
    paths = _image_paths(args.images)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    restorer = load_restorer(args.weights)
    failed = 0
    for i, path in enumerate(paths, 1):
        target = out / f"{path.stem}_restored.png"
        try:
            if target.exists() and not args.force:
                raise UserError(f"{target} exists; pass --force to replace it")
            checked = rgb_image(_read_image(path), path.name)
            h, w = checked.rgb.shape[:2]
            if h * w > config.RESTORE_MAX_PIXELS:
                raise UserError(f"{w}x{h} px; restoration takes at most {config.RESTORE_MAX_PIXELS // 1_000_000} "
                                "megapixels: scale or crop it first")
            mask_file = _mask_for(path, masks_dir)
            if mask_file is None and args.only_masked:
                raise UserError(f"no mask named {path.stem}.* in {masks_dir} (--only-masked needs one)")
            mask = None
            if mask_file is not None:
                m = rgb_image(_read_image(mask_file), mask_file.name).rgb
                if m.shape != checked.rgb.shape:
                    raise UserError(f"mask {mask_file.name} is {m.shape[1]}x{m.shape[0]} px, the image {w}x{h}")
                mask = m.mean(axis=2) > 0.5
            rgb = restorer.restore(checked.rgb, mask, only_masked=args.only_masked)
            warning = colour_warning(checked.rgb)
            prov = {**restorer.provenance, "made_by": "python -m motion_core restore", "source_file": str(path),
                    "mask_file": str(mask_file) if mask_file else None,
                    "mask_pixels": int(mask.sum()) if mask is not None else None,
                    "only_masked_pixels": bool(args.only_masked),
                    "notes": checked.notes + ([warning] if warning else [])}
            record = write_json_atomic(target.with_suffix(".json"), prov)  # first: no image without its record
            try:
                write_atomic(target, png_bytes(rgb))
            except OSError:
                record.unlink(missing_ok=True)
                raise
            print(f"[{i}/{len(paths)}] {path} -> {target}" + (f" ({warning})" if warning else ""), flush=True)
        except (UserError, ImageInputError, ValueError) as e:
            failed += 1
            print(f"error: {path}: {e}", file=sys.stderr, flush=True)
    if failed:
        print(f"error: {failed} of {len(paths)} images not restored (see above)", file=sys.stderr)
    return 1 if failed else 0


def cmd_identify(args: argparse.Namespace) -> int:
    """identify IMAGE|FOLDER ...: the classifier's top three suggestions (or "unknown") per image, as
    text or JSON lines (--json). Nothing is written."""
    from .patterns.classifier import identify, load_classifier
    from .patterns.image_input import ImageInputError

    paths = _image_paths(args.images)
    clf = load_classifier(args.weights)
    failed = 0
    for path in paths:
        try:
            res = identify(_read_image(path), text=args.text or None, classifier=clf, name=path.name)
        except (UserError, ImageInputError, ValueError) as e:
            failed += 1
            print(f"error: {path}: {e}", file=sys.stderr, flush=True)
            continue
        if args.json:
            print(json.dumps({"file": str(path), **res.to_json()}, ensure_ascii=False), flush=True)
        else:
            print(f"{path}: {res.summary()}", flush=True)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m motion_core", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def axes_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--unit", help="source unit: m, cm, mm, inch or metres per unit (default: inferred)")
        sp.add_argument("--up", choices=["Y", "Z"], help="source up axis (default: inferred)")

    sp = sub.add_parser("inspect", help="joints, frames, fps, duration and the skeleton recognised")
    sp.add_argument("file")
    sp.add_argument("--map", help="bone-map override JSON {canonical joint: rig joint}")
    sp.add_argument("--json", action="store_true", help="print JSON")
    axes_args(sp)
    sp.set_defaults(func=cmd_inspect)

    sp = sub.add_parser("retarget", help="retarget a BVH onto another rig")
    sp.add_argument("input", help="source BVH")
    sp.add_argument("--to", required=True, help=f"target BVH or built-in rig ({', '.join(BUILTIN_RIGS)})")
    sp.add_argument("--out", required=True, help="output BVH (never overwritten without --force)")
    sp.add_argument("--map", help="bone-map override for the source")
    sp.add_argument("--target-map", help="bone-map override for the target")
    sp.add_argument("--fps", default=str(FPS), help=f"output frame rate, or 'source' (default {FPS:g})")
    sp.add_argument("--force", action="store_true", help="replace an existing --out file")
    axes_args(sp)
    sp.set_defaults(func=cmd_retarget)

    sp = sub.add_parser("generate", help="prompt -> dance on a rig, as BVH (numpy only)")
    sp.add_argument("prompt", help='what to generate, e.g. "a proud bow"')
    sp.add_argument("--seconds", type=float, default=None,
                    help="1 to 60; default: a duration named in the prompt ('12 seconds'), else 10")
    sp.add_argument("--seed", type=seed_arg, default=0, help="same prompt + seed = same motion (0 to 2**32-1, default 0)")
    sp.add_argument("--temperature", type=float, default=None,
                    help="sampling temperature, 0 (the means) to 2; default: the model's own (0.6)")
    sp.add_argument("--mode", choices=["canonical", "diverse"], default="canonical",
                    help="canonical: the culturally weighted component; diverse: sample by mixture weight")
    sp.add_argument("--rig", default="canonical", help=f"target rig: {', '.join(BUILTIN_RIGS)} or a BVH file")
    sp.add_argument("--map", help="bone-map override for --rig")
    sp.add_argument("--out", required=True, help="output BVH; a JSON with the generation record goes beside it")
    sp.add_argument("--model", help="motion model .npz (default: the shipped one)")
    sp.add_argument("--text-encoder", help="text encoder .npz (default: vendored, else the installed package)")
    sp.add_argument("--rules", default="default-humanoid",
                    help="rule pack: a JSON file or a built-in name (python -m motion_core rules list); "
                         "default: default-humanoid (physiological limits only)")
    sp.add_argument("--no-foot-locks", action="store_true", help="leave planted feet as generated")
    sp.add_argument("--force", action="store_true", help="replace an existing --out file")
    sp.set_defaults(func=cmd_generate)

    sp = sub.add_parser("rules", help="list the built-in rule packs, validate one, or check clips against one")
    sp.add_argument("action", choices=["list", "validate", "check"])
    sp.add_argument("pack", nargs="?", default="default-humanoid", help="pack file or built-in name")
    sp.add_argument("clips", nargs="*", help="for check: BVH files or folders of them")
    sp.set_defaults(func=cmd_rules)

    sp = sub.add_parser("prior", help="build a rule pack's prior from your reference BVH clips")
    sp.add_argument("action", choices=["build"])
    sp.add_argument("clips", nargs="+", help="BVH files or folders of them")
    sp.add_argument("--out", required=True, help="pack JSON to write")
    sp.add_argument("--name", help="pack name (default: from --out)")
    sp.add_argument("--terms", help="the clips' terms of use, recorded in the pack")
    sp.add_argument("--force", action="store_true", help="replace an existing --out file")
    sp.set_defaults(func=cmd_prior)

    sp = sub.add_parser("patterns", help="build a pattern bank from your images, or query a bank with text")
    sp.add_argument("action", choices=["build", "query"])
    sp.add_argument("target", help="build: a folder with images and captions.jsonl; query: the text")
    sp.add_argument("--out", help="build: the bank to write (BANK.npz and BANK.json)")
    sp.add_argument("--bank", help="query: a bank .npz (default: the shipped kamon bank)")
    sp.add_argument("--k", type=int, default=4, help="query: prototypes to list (default 4)")
    sp.add_argument("--force", action="store_true", help="build: replace an existing bank")
    sp.set_defaults(func=cmd_patterns)

    sp = sub.add_parser("restore", help="restore worn pattern images with the restoration GAN (new files, never in place)")
    sp.add_argument("images", nargs="+", help="image files or folders of them")
    sp.add_argument("--out", required=True, help="folder for <name>_restored.png and its provenance .json")
    sp.add_argument("--weights", help="restoration weights .npz (default: the shipped Edo-print model)")
    sp.add_argument("--force", action="store_true", help="replace existing outputs")
    sp.add_argument("--masks", help="folder of damage masks, one per image with the image's name (white = damaged)")
    sp.add_argument("--only-masked", action="store_true",
                    help="change only the masked pixels (and 1 px around them), keep the rest (needs --masks)")
    sp.set_defaults(func=cmd_restore)

    sp = sub.add_parser("identify", help="suggest what pattern each image shows (top three, or unknown)")
    sp.add_argument("images", nargs="+", help="image files or folders of them")
    sp.add_argument("--text", help="a description that helps (culture, medium, a partial blazon)")
    sp.add_argument("--weights", help="classifier .npz (default: the shipped kamon model)")
    sp.add_argument("--json", action="store_true", help="one JSON object per image")
    sp.set_defaults(func=cmd_identify)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (UserError, BVHError, NotHumanoidError, ValueError, KeyError, OSError, RuntimeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
