"""Headless batch: prompts in; for each, a dance keyed on a rig, a 25 FPS MP4, a BVH and an audit record.

    python -m addon.batch [--prompt "a feminine dance, slow"] [--seconds 4] [--seed 0] [--rules PACK] [--out DIR]
    python -m addon.batch --prompts prompts.jsonl --out DIR
    blender -b [scene.blend] -P addon/batch.py -- --prompts prompts.jsonl --out DIR
    blender -b [scene.blend] --command heritage_motion --prompts prompts.jsonl --out DIR     (4.2+, add-on enabled)
    python -m addon.batch --bvh IN.bvh [--rig rigify] ...          (render a motion-capture clip instead)

The costume is dressed with patterns from the shipped bank (the prompt picks them; --pattern-query
TEXT picks them instead; --pattern-bank BANK.npz uses your own library); --no-patterns keeps the
flat colours. With patterns, a symbol change is keyed on the bodice where the motion's semantic
trajectory changes fast (seed 002 eq. 9; EEVEE and Cycles show it; --no-symbols turns it off).

Each line of a prompts file is a JSON object: ``{"prompt": "...", "seed": 0, "seconds": 10, "rules":
"dai-peacock-illustrative", "rig": "rigify", "mode": "canonical", "name": "..."}``; only "prompt" is
required (a rule-pack or rig path is relative to the prompts file). The default dancer's shape:
``"body": "feminine" | "masculine" | 0..1, "age": 11..90 (years), "height", "weight", "muscle": 0..1``
(0.5 average), and ``"standin": true`` for the lightweight stand-in. Without "rig", the dance goes
onto the armature of the opened .blend (``--armature NAME``, else the active or only armature),
or, with no .blend, onto the default costumed dancer.

Outputs per prompt, in --out: NAME.mp4, NAME.bvh, NAME.audit.json, NAME.png (poster). NAME is the
prompt's slug, a hash of every setting that changes the output, the seed and the rig, so two
different requests never share a name (a "name" given in the file that two different requests use
is an error). The files are made in a staging folder and placed as one set, with a manifest written
last (``.NAME.hm-set.json``); each set is locked while it is made (``.NAME.hm-lock``), so a second
batch into the same folder waits for it and then skips it. A rerun skips complete sets, finishes or
redoes an interrupted one (a kill at any point resumes), and removes staging folders left by killed
runs; --force redoes complete sets of the same request, never another request's. A failing prompt is
reported (``error: line N: ...``) and the others still run; the exit code is then 1 (0 when all
succeed, 2 for a bad command line).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script by blender -P: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "addon"  # noqa: A001

import bpy  # noqa: E402

from . import stages  # noqa: E402
from . import symbols as addon_symbols  # noqa: E402
from .dancer import add_dancer  # noqa: E402
from .makehuman import Shape  # noqa: E402
from .motion_core import config  # noqa: E402
from .motion_core.cli import seed_arg  # noqa: E402
from .motion_core.files import LockHeld  # noqa: E402
from .motion_core.models import registry  # noqa: E402
from .motion_core.models.generate import ModelError, check_seed, request_seconds  # noqa: E402
from .motion_core.patterns import symbols  # noqa: E402
from .motion_core.patterns.costume import SHIPPED_BANK, PatternBankError  # noqa: E402
from .motion_core.pipeline import (  # noqa: E402
    ApplyRules,
    GenerateMotion,
    Job,
    OutputConflict,
    OutputSet,
    Request,
    WriteAudit,
    WriteBVH,
    make_job,
    parse_shard,
    remove_abandoned_stages,
    request_key,
    shard,
)
from .motion_core.pipeline import run as run_stages  # noqa: E402
from .motion_core.rigs import builtin as builtin_rigs  # noqa: E402
from .motion_core.rigs import bvh, retarget  # noqa: E402
from .motion_core.rules import pack as rule_pack  # noqa: E402
from .motion_core.text.encoder import TextEncoderError  # noqa: E402
from .rig_io import add_body_mesh, armature_from_rig, rig_from_armature  # noqa: E402

DEFAULT_PROMPT = "a feminine dance, slow and graceful"
DEFAULT_SECONDS = 4.0
MIN_RENDER_SECONDS = 0.2  # product choice: five frames, the shortest clip worth a video
DANCER = "dancer"
SHAPE_KEYS = ("body", "age", "height", "weight", "muscle")
KEYS = ("prompt", "seed", "seconds", "rules", "rig", "mode", "temperature", "name", *SHAPE_KEYS, "standin")


class ItemError(ValueError):
    """One prompt cannot be done; the message says why in the user's terms."""


def _argv() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m addon.batch", description=__doc__.splitlines()[0])
    p.add_argument("--prompt", default=None, help=f"one prompt (default: {DEFAULT_PROMPT!r} unless --prompts/--bvh)")
    p.add_argument("--prompts", type=Path, default=None, help="a JSON-lines file of prompts (see above)")
    p.add_argument("--seed", type=seed_arg, default=0, help="same prompt and seed, same dance (0 to 2**32-1, default 0)")
    p.add_argument("--mode", choices=["canonical", "diverse"], default="canonical")
    p.add_argument("--temperature", type=float, default=None,
                   help="sampling temperature, 0 (the means) to 2; default: the model's own (0.6)")
    p.add_argument("--rules", default=rule_pack.DEFAULT_PACK, help="rule pack: built-in name or JSON file")
    p.add_argument("--bvh", type=Path, default=None, help="retarget this BVH instead of generating")
    p.add_argument("--rig", default=None, help=f"target: '{DANCER}' (the costumed default), a built-in rig "
                   f"({', '.join(builtin_rigs.NAMES)}) or a BVH file; default: the .blend's armature, else {DANCER}")
    p.add_argument("--armature", default=None, help="the armature to use in the opened .blend")
    p.add_argument("--seconds", type=float, default=None,
                   help="length, 0.2 to 60 s (default: a duration the prompt names, e.g. '12 seconds', else 4)")
    p.add_argument("--start", type=float, default=0.0, help="start time in a --bvh source, seconds")
    p.add_argument("--out", type=Path, default=Path("out") / "main", help="output folder (default out/main)")
    p.add_argument("--name", default=None, help="output base name for a single prompt")
    p.add_argument("--resolution", default="640x360", help="WIDTHxHEIGHT (default 640x360)")
    p.add_argument("--engine", choices=["WORKBENCH", "EEVEE", "CYCLES"], default="WORKBENCH")
    p.add_argument("--contact-sheet", action="store_true",
                   help="also write NAME.sheet.png: 8 frames of the video in a grid")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="with --prompts: do only shard I of N (contiguous, disjoint; for render farms, see docs/scale.md)")
    p.add_argument("--force", action="store_true",
                   help="redo complete outputs of the same request, and replace files this tool did not place")
    p.add_argument("--no-patterns", action="store_true", help="do not dress the costume with patterns")
    p.add_argument("--no-symbols", action="store_true", help="do not key the symbol change (seed 002 eq. 9)")
    p.add_argument("--pattern-query", default="", help="text that picks the patterns (default: the prompt)")
    p.add_argument("--pattern-bank", type=Path, default=None, help="a pattern bank .npz (default: the shipped kamon bank)")
    g = p.add_argument_group("the default dancer's shape (MakeHuman's macro targets)")
    g.add_argument("--body", default="feminine", help="feminine, masculine or 0 (feminine) to 1 (default feminine)")
    g.add_argument("--age", type=float, default=25.0, help="years, 11 to 90 (default 25)")
    for k in ("height", "weight", "muscle"):
        g.add_argument(f"--{k}", type=float, default=0.5, help="0 to 1, 0.5 average (default)")
    g.add_argument("--standin", action="store_true", help="a lightweight stand-in (capsules, no costume)")
    return p.parse_args(argv)


def _resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ItemError(f"--resolution {text!r}: expected WIDTHxHEIGHT, e.g. 640x360") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise ItemError(f"--resolution {text!r}: out of range")
    return w, h


def read_prompts(path: Path) -> list[tuple[int, dict | ItemError]]:
    """(line number, item or the error for that line) for each non-blank line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ItemError(f"{path}: cannot read ({e})") from None
    out: list[tuple[int, dict | ItemError]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("expected a JSON object")
            unknown = sorted(set(item) - set(KEYS))
            if unknown:
                raise ValueError(f"unknown key {unknown[0]!r}; allowed: {', '.join(KEYS)}")
            if not isinstance(item.get("prompt"), str) or not item["prompt"].strip():
                raise ValueError("'prompt' (a non-empty string) is required")
            for key in ("rules", "rig"):
                if isinstance(item.get(key), str) and item[key].endswith((".json", ".bvh")):
                    item[key] = str((path.parent / item[key]).resolve())
            out.append((n, item))
        except RecursionError:
            out.append((n, ItemError(f"{path}:{n}: JSON nested too deeply; expected one flat object")))
        except ValueError as e:
            out.append((n, ItemError(f"{path}:{n}: {e}")))
    return out


def _file_sha(path: str | Path | None) -> str | None:
    """SHA-256 of a file the output depends on (a rig, a clip, a .blend); None when there is none."""
    if not path or not Path(path).is_file():
        return None
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _weights_sha() -> str | None:
    """SHA-256 of the shipped motion model the batch generates with (hashed once per file version)."""
    p = Path(registry.SHIPPED)
    st = p.stat() if p.is_file() else None
    return _sha_cached(str(p), st.st_mtime_ns if st else 0, st.st_size if st else 0)


@functools.lru_cache(maxsize=4)
def _sha_cached(path: str, _mtime_ns: int, _size: int) -> str | None:
    return _file_sha(path)


def _settings(item: dict, args, seconds: float, seed: int, job: Job, blend: str) -> dict:
    """Every setting that changes the output: recorded in the set's manifest and hashed into its name."""
    rig = item.get("rig", args.rig)
    bvh_file = item.get("bvh")
    return {
        "prompt": item["prompt"], "seed": seed, "seconds": seconds, "mode": item.get("mode", args.mode),
        "temperature": item.get("temperature", args.temperature),
        "rules": None if bvh_file else job.pack.name, "rules_sha256": None if bvh_file else job.pack.sha256,
        "rig": rig, "rig_sha256": _file_sha(rig) if rig and str(rig).lower().endswith(".bvh") else None,
        "blend": blend or None, "blend_sha256": _file_sha(blend) if blend and rig is None else None,
        "armature": args.armature if blend and rig is None else None,
        "bvh": str(bvh_file) if bvh_file else None, "bvh_sha256": _file_sha(bvh_file), "start": args.start if bvh_file else None,
        "engine": args.engine, "resolution": args.resolution.lower(), "contact_sheet": args.contact_sheet or None,
        "patterns": not args.no_patterns, "symbols": not (args.no_patterns or args.no_symbols),
        "pattern_query": args.pattern_query or None,
        "pattern_bank_sha256": _file_sha(args.pattern_bank) if args.pattern_bank else None,
        # the weights that make the motion: a retrained model makes new names, never reuses old ones
        "model_sha256": None if bvh_file else _weights_sha(),
        **(_shape_settings(item, args) if (rig or DANCER) == DANCER and not (blend and rig is None) else {}),
    }


def _shape_settings(item: dict, args) -> dict:
    """The default dancer's shape and stand-in choice: they change the video."""
    shape = dancer_shape(item, args)
    return {"shape": {k: round(float(getattr(shape, k)), 4) for k in ("gender", "age", "height", "weight", "muscle")},
            "standin": bool(item.get("standin", args.standin))}


def _item_name(item: dict, default_rig: str | None, key: str) -> str:
    """The prompt's slug, the request's hash (8 hex digits), the seed and the rig: two requests that
    differ in anything that changes the output get different names."""
    if item.get("name"):
        return stages.slug(str(item["name"]))
    rig = Path(str(item.get("rig") or default_rig or DANCER)).stem
    if item.get("bvh") is not None:
        return f"{stages.slug(Path(item['bvh']).stem, 40)}-{key[:8]}_{rig}"
    return f"{stages.slug(item['prompt'], 40)}-{key[:8]}-s{int(item.get('seed', 0))}_{rig}"


def _outputs(folder: Path, name: str, bvh_mode: bool, settings: dict) -> OutputSet:
    """The files one prompt makes; a --bvh clip has no audit, only a record of what was done."""
    kinds = {"mp4": ".mp4", "bvh": ".bvh", "audit": ".json" if bvh_mode else ".audit.json", "png": ".png"}
    if settings.get("contact_sheet"):
        kinds["sheet"] = ".sheet.png"
    return OutputSet(folder, name, kinds, settings)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _scene_armature(name: str | None):
    scene = bpy.context.scene
    assert scene is not None  # Blender always has a current scene (also in background mode)
    arms = [o for o in scene.objects if o.type == "ARMATURE"]
    if name:
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != "ARMATURE":
            raise ItemError(f"--armature {name!r}: no armature of that name in {bpy.data.filepath or 'the scene'}")
        return obj
    view_layer = bpy.context.view_layer
    assert view_layer is not None  # Blender always has one (also in background mode)
    active = view_layer.objects.active
    if active is not None and active.type == "ARMATURE":
        return active
    return arms[0] if len(arms) == 1 else None


def dancer_shape(item: dict, args) -> Shape:
    """The default dancer's shape from a prompt line's keys, else the command line's."""
    try:
        b = item.get("body", args.body)
        body = Shape.from_body(float(b) if _numeric(b) else b)
        values = {k: item.get(k, getattr(args, k)) for k in ("age", "height", "weight", "muscle")}
        for k, v in values.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{k} {v!r}: expected a number")
        return Shape(body, **{k: float(v) for k, v in values.items()})
    except ValueError as e:
        raise ItemError(str(e)) from None


def _numeric(v) -> bool:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return True
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _prepare_scene(args, rig_choice: str | None, blend: str, item: dict | None = None):
    """Reset to the user's .blend (reloaded for every prompt) or to an empty scene with a dancer.
    Returns (armature object, target rig for the BVH)."""
    if blend:
        bpy.ops.wm.open_mainfile(filepath=blend)
    else:
        # read_factory_settings would also reset preferences and disable this add-on
        bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    assert scene is not None  # Blender always has a current scene (also in background mode)
    coll = scene.collection
    if rig_choice is None and blend:
        obj = _scene_armature(args.armature)
        if obj is None:
            raise ItemError(f"{blend} has no single armature; pass --armature NAME or give a 'rig'")
        return obj, stages.check_armature(obj)
    rig_choice = rig_choice or DANCER
    if rig_choice == DANCER:
        item = item or {}
        obj, _body = add_dancer(coll, shape=dancer_shape(item, args), lightweight=bool(item.get("standin", args.standin)))
        return obj, rig_from_armature(obj)
    if Path(rig_choice).suffix.lower() == ".bvh":
        if not Path(rig_choice).exists():
            raise ItemError(f"rig {rig_choice}: file not found")
        tgt, _ = retarget.load_rig(rig_choice)
    else:
        try:
            tgt, _ = builtin_rigs.builtin_rig(rig_choice)
        except KeyError as e:
            raise ItemError(f"rig {rig_choice!r}: {e.args[0]}") from None
    obj = armature_from_rig(tgt, "HM_dancer", coll)
    arm_rig = rig_from_armature(obj)
    add_body_mesh(obj, arm_rig, coll)
    return obj, arm_rig


def _item_seconds(item: dict, args) -> float:
    lo, hi = MIN_RENDER_SECONDS, config.MAX_SECONDS
    given = item.get("seconds", args.seconds)
    try:
        seconds = request_seconds(item["prompt"], given, DEFAULT_SECONDS, lo, hi) if item.get("bvh") is None \
            else float(given if given is not None else DEFAULT_SECONDS)
    except (TypeError, ValueError) as e:
        raise ItemError(str(e) if not isinstance(e, TypeError) else f"seconds {given!r}: expected a number") from None
    if not lo <= seconds <= hi:
        raise ItemError(f"seconds {seconds:g}: expected {lo:g} to {hi:g}")
    return seconds


def run_item(item: dict, args, models: stages.Models, blend: str = "", claimed: dict | None = None) -> dict:
    """Do one prompt (or the --bvh clip); returns the summary. Raises ItemError or another ValueError.
    ``claimed``: name -> (key, where) of the sets this run has made, to catch two requests sharing a name."""
    w, h = _resolution(args.resolution)
    seconds = _item_seconds(item, args)
    bvh_mode = item.get("bvh") is not None
    seed = check_seed(item.get("seed", args.seed), "seed" if "seed" in item else "--seed")
    if (item.get("rig", args.rig) or DANCER) == DANCER:
        dancer_shape(item, args)  # validated before the scene is touched, like the pack
    # The pack is validated before the scene is touched.
    temperature = item.get("temperature", args.temperature)
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))):
        raise ItemError(f"temperature {temperature!r}: expected a number from 0 to {config.MAX_TEMPERATURE:g}")
    job = make_job(Request(item["prompt"], max(seconds, config.MIN_SECONDS), seed, item.get("mode", args.mode),
                           temperature=None if temperature is None else float(temperature)),
                   None if bvh_mode else (item.get("rules") or args.rules))
    settings = _settings(item, args, seconds, seed, job, blend)
    key = request_key(settings)
    name = item.get("_name") or _item_name(item, args.rig, key)
    if claimed is not None:
        if name in claimed and claimed[name][0] != key:
            raise ItemError(f"name {name!r} is already used by {claimed[name][1]} for a different request; "
                            "give each request its own name")
        claimed[name] = (key, item.get("_where", "an earlier line"))
    outputs = _outputs(args.out, name, bvh_mode, settings)
    out = {k: str(v) for k, v in outputs.paths.items()}
    try:
        with outputs.claim(wait=False):
            pass
    except LockHeld:
        print(f"{name}: another process is making it; waiting", flush=True)
    with outputs.claim():  # held until the set is placed: a second batch waits, then skips it
        if not outputs.prepare(force=args.force):
            return {"skipped": True, "outputs": out, "name": name, "warnings": []}
        return _make(item, args, models, blend, job, outputs, name, seconds, (w, h), bvh_mode)


def _make(item: dict, args, models: stages.Models, blend: str, job: Job, outputs: OutputSet, name: str,
          seconds: float, size: tuple[int, int], bvh_mode: bool) -> dict:
    out = {k: str(v) for k, v in outputs.paths.items()}
    warnings: list[str] = []
    t0 = time.perf_counter()
    obj, rig = _prepare_scene(args, item.get("rig", args.rig), blend, item)
    scene = bpy.context.scene
    assert scene is not None  # Blender always has a current scene (also in background mode)
    frames = int(round(seconds * config.FPS))
    if bvh_mode:
        src_rig, src_clip = retarget.load_rig(item["bvh"])
        mot = retarget.motion_from_clip(src_clip, src_rig).resample(config.FPS)
        first = int(round(args.start * config.FPS))
        if first >= mot.num_frames:
            raise ItemError(f"--start {args.start}: the source is only {mot.duration:.2f} s long")
        job.motion = mot.slice(first, first + frames)
        if job.motion.num_frames < frames:
            # Product choice: the video has the clip's length; nothing is invented past its end.
            warnings.append(f"{item['bvh']}: the clip has {job.motion.num_frames / config.FPS:.2f} s from --start "
                            f"{args.start:g}, less than the {seconds:g} s asked; the outputs are "
                            f"{job.motion.num_frames / config.FPS:.2f} s long")
            frames = job.motion.num_frames
        job.extra["record"] = {"source": str(item["bvh"]), "frames": job.motion.num_frames, "warnings": warnings}
        make_motion: list = []
    else:
        job.tpose = rig.canonical_tpose()
        make_motion = [GenerateMotion(models.model(), models.encoder()), ApplyRules()]
    action_name = f"HM {name}" if bvh_mode else stages.action_name(item["prompt"])
    dress: list = []
    if not args.no_patterns:
        bank_path = args.pattern_bank or SHIPPED_BANK
        dress = [stages.DressCostume(obj, models.encoder(), models.bank(bank_path), Path(bank_path), args.pattern_query,
                                     required=False)]
        if not args.no_symbols and symbols.WEIGHTS.exists():  # seed 002 eq. 9: eps(t) keyed on the bodice
            dress.append(addon_symbols.BindSymbols(models.bank(bank_path), Path(bank_path),
                                                   symbols.load_motion_semantic(), scene.frame_start))
    run_stages(job, [*make_motion, stages.KeyAction(obj, rig, action_name, scene.frame_start), *dress])
    if job.generation is not None and (job.generation.info.get("understanding") or {}).get("warning"):
        warnings.append(job.generation.info["understanding"]["warning"])
    for m in warnings:
        warn(f"{name}: {m}")
    t1 = time.perf_counter()

    def record(job: Job) -> dict:
        rec = {"files": out, "render": {**job.extra["render"], "output": out["mp4"]}, "blender": bpy.app.version_string,
               "timing_s": {"dance": round(t1 - t0, 3), "render": round(time.perf_counter() - t1, 3)},
               "warnings": warnings}
        if job.audit is None and "costume" in job.extra:  # a motion-capture clip: no audit record to carry it
            rec["costume"] = job.extra["costume"]
        return rec

    # All or nothing: made in a staging folder, placed as one set with its manifest written last.
    with outputs.staging() as staged:
        pelvis = rig.bone_map.mapping["pelvis"]
        run_stages(job, [stages.RenderVideo(obj, pelvis, staged["mp4"], args.engine, size, frames),
                         stages.RenderPoster(staged["png"]), WriteBVH(rig, staged["bvh"], frames),
                         *([stages.RenderContactSheet(staged["sheet"])] if "sheet" in staged else []),
                         WriteAudit(staged["audit"], record)])
    summary = job.audit.to_json() if job.audit is not None else {**job.extra["record"], "output": record(job)}
    return {"skipped": False, "name": name, "action": job.extra["action"].name, "armature": obj.name, "frames": frames,
            "outputs": out, "record": summary, "warnings": warnings}


def run(args: argparse.Namespace) -> dict:
    """The single-prompt (or --bvh) main job; raises on failure. Returns the summary."""
    if args.bvh is not None and args.prompt is not None:
        raise ItemError("give either --prompt or --bvh, not both")
    if args.bvh is not None and not args.bvh.exists():
        raise ItemError(f"{args.bvh}: file not found")
    if args.prompt is not None and not args.prompt.strip():
        raise ItemError("--prompt is empty; describe the motion, e.g. --prompt \"a proud bow\"")
    if args.bvh is not None:
        item = {"prompt": args.bvh.stem, "bvh": args.bvh, "seed": 0}
    else:
        item = {"prompt": args.prompt or DEFAULT_PROMPT, "seed": args.seed}
    if args.name:
        item["_name"] = stages.slug(args.name)
    remove_abandoned_stages(args.out)
    return run_item(item, args, stages.Models(), bpy.data.filepath)


def run_batch(args: argparse.Namespace) -> tuple[list[dict], list[str]]:
    """Every prompt of --prompts; returns (summaries, error lines). One failure does not stop the rest."""
    blend = bpy.data.filepath
    models = stages.Models()
    done, errors = [], []
    claimed: dict[str, tuple[str, str]] = {}
    remove_abandoned_stages(args.out)
    items = read_prompts(args.prompts)
    if args.shard:
        items = shard(items, *parse_shard(args.shard))
    for n, item in items:
        if isinstance(item, ItemError):
            errors.append(f"error: {item}")
            print(errors[-1], file=sys.stderr)
            continue
        try:
            summary = run_item({**item, "_where": f"line {n}"}, args, models, blend, claimed)
            done.append(summary)
            state = "skipped (outputs exist)" if summary["skipped"] else f"{summary['frames']} frames"
            print(f"line {n}: {summary['name']}: {state}", flush=True)
        except (ValueError, OSError, RuntimeError, bvh.BVHError, rule_pack.RulePackError, ModelError, TextEncoderError,
                OutputConflict, PatternBankError) as e:
            errors.append(f"error: line {n}: {e}")
            print(errors[-1], file=sys.stderr, flush=True)
    return done, errors


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(_argv() if argv is None else argv)
    except SystemExit as e:  # argparse: usage error
        return int(e.code or 0) and 2
    try:
        if args.prompts is not None:
            if args.prompt or args.bvh:
                raise ItemError("give --prompts, or --prompt/--bvh, not both")
            if args.shard:
                parse_shard(args.shard)  # a bad --shard is refused before any work
            done, errors = run_batch(args)
            made = sum(1 for d in done if not d["skipped"])
            print(f"{made} made, {len(done) - made} skipped, {len(errors)} failed; outputs in {args.out}")
            return 1 if errors else 0
        summary = run(args)
    except (ValueError, KeyError, OSError, RuntimeError, bvh.BVHError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 1
    o = summary["outputs"]
    if summary["skipped"]:
        print(f"outputs of this request exist, nothing to do: {o['mp4']} (--force redoes them)")
    else:
        print(f"{summary['frames']} frames at {config.FPS:g} fps on {summary['armature']}: {o['mp4']}, {o['bvh']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
