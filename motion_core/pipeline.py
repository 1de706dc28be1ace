"""The one pipeline from prompt to outputs, shared by the CLI, the batch and the add-on's operators.

    prompt -> text embedding -> motion model -> rules (prior, taboos, limits, IK; + audit)
           -> onto the rig -> (textures and symbols) -> render -> outputs placed together

A :class:`Job` carries the request and what each stage adds; a stage is any callable
``stage(job) -> None`` with a ``name``. This module holds the Blender-free stages
(:class:`GenerateMotion`, :class:`ApplyRules`, :class:`WriteBVH`, :class:`WriteAudit`);
``addon/stages.py`` adds the Blender ones (key an action, render video and poster). Each driver
only gathers inputs, picks its stage list, calls :func:`run` and reports. A new stage is written
once and added to the lists that need it.

Files are made in a staging folder and placed together by :class:`OutputSet`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from .files import file_lock, lock_is_held, write_json_atomic
from .models.generate import Generation, MotionGenerator, generate
from .rigs.bvh import write_bvh
from .rigs.retarget import Rig, bvh_rig, clip_from_motion
from .rules import ik
from .rules.apply import apply_pack
from .rules.audit import AuditRecord, build_audit
from .rules.pack import DEFAULT_PACK, RulePack, load_pack
from .skeleton.motion import Motion
from .text.encoder import TextEncoder

T = TypeVar("T")


@dataclass
class Request:
    """What the user asked for: all that is needed to make the motion again."""

    prompt: str
    seconds: float = 10.0
    seed: int = 0
    mode: str = "canonical"
    feet: bool = True  # foot-contact locks by IK
    temperature: float | None = None  # sampling temperature; None: the model's default


@dataclass
class Job:
    """One request travelling through the stages. ``motion`` is always the canonical
    :class:`~motion_core.skeleton.motion.Motion` (25 fps); rig-specific forms stay inside stages."""

    request: Request
    pack: RulePack
    #: (21, 3) the target rig's canonical T-pose in metres (None: the model's own skeleton)
    tpose: np.ndarray | None = None
    generation: Generation | None = None
    motion: Motion | None = None
    audit: AuditRecord | None = None
    #: files made so far, by kind ("bvh", "audit", "mp4", "png"): staged paths until placed
    files: dict[str, Path] = field(default_factory=dict)
    #: what stages hand each other that the core does not know (the Blender action, render info)
    extra: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    name: str

    def __call__(self, job: Job) -> None: ...


def make_job(request: Request, rules: str | Path | RulePack | None = DEFAULT_PACK,
             tpose: np.ndarray | None = None) -> Job:
    """A job with its rule pack validated first: a bad pack raises RulePackError before any work."""
    pack = rules if isinstance(rules, RulePack) else load_pack(rules or DEFAULT_PACK)
    return Job(request, pack, tpose)


def run(job: Job, stages: Sequence[Stage], progress: Callable[[float, str], None] | None = None) -> Job:
    """Run ``stages`` in order on ``job``; ``progress(fraction done, stage name)`` after each."""
    for i, stage in enumerate(stages):
        stage(job)
        if progress is not None:
            progress((i + 1) / len(stages), stage.name)
    return job


@dataclass
class GenerateMotion:
    """Prompt -> text embedding -> motion model -> canonical motion at 25 fps."""

    model: MotionGenerator
    encoder: TextEncoder
    name: str = "motion"

    def __call__(self, job: Job) -> None:
        r = job.request
        job.generation = generate(r.prompt, r.seconds, r.seed, self.model, self.encoder, r.mode, tpose=job.tpose,
                                  temperature=r.temperature)
        job.motion = job.generation.motion


@dataclass
class ApplyRules:
    """The rule pack (seed 002 eqs. 8-11): prior pull, taboo interception, limits, foot-lock IK;
    writes the audit record."""

    name: str = "rules"

    def __call__(self, job: Job) -> None:
        assert job.generation is not None and job.motion is not None, "ApplyRules needs GenerateMotion first"
        contacts = job.generation.contacts
        planted = None if contacts is None else ik.planted(contacts)
        res = apply_pack(job.motion, job.pack, job.generation.joint_std_deg, feet=job.request.feet, planted=planted)
        job.motion = res.motion
        job.audit = build_audit(job.pack, res.during, res.before, res.after, job.generation.info)


@dataclass
class WriteBVH:
    """The canonical motion on ``rig`` as a BVH file (``job.files["bvh"]``)."""

    rig: Rig
    path: Path
    frames: int | None = None  # keep only the first frames (a render shorter than the motion)
    name: str = "bvh"

    def __call__(self, job: Job) -> None:
        assert job.motion is not None
        motion = job.motion if self.frames is None else job.motion.slice(0, self.frames)
        # A rig from a Blender armature has no channels: write through its BVH form (same pose).
        write_bvh(self.path, clip_from_motion(motion, bvh_rig(self.rig)))
        job.files["bvh"] = self.path


@dataclass
class WriteAudit:
    """The audit record as JSON (``job.files["audit"]``), with ``output`` describing the files; for a
    job without rules (a retargeted clip) the record in ``job.extra["record"]``."""

    path: Path
    output: Callable[[Job], dict[str, Any]] = field(default=lambda job: {})
    name: str = "audit"

    def __call__(self, job: Job) -> None:
        if job.audit is not None:
            job.audit.output.update(self.output(job))
            data = job.audit.to_json()
        else:  # a motion-capture clip: no rules ran; record what was done
            data = {**job.extra.get("record", {}), "output": self.output(job)}
        write_json_atomic(self.path, data)
        job.files["audit"] = self.path


class OutputConflict(ValueError):
    """Outputs that are in the way: another request's set, or files this tool did not place as a set.
    The message names the folder and the files, and what to do."""


#: The manifest's format tag; the manifest is written last, so it marks a complete set.
MANIFEST_FORMAT = "heritage-motion-output-set"
STAGE_PREFIX = ".hm-stage-"


def request_key(settings: dict[str, Any]) -> str:
    """A short stable hash of the settings that change an output (12 hex digits of SHA-256 of
    their sorted JSON): two requests with the same key make the same files."""
    blob = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:12]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class OutputSet:
    """The files one request makes, named ``folder/NAME.SUFFIX``, placed as one set.

    ``kinds`` maps a kind ("bvh", "audit", ...) to a suffix (".bvh", ".audit.json", ...);
    ``request`` holds the settings that change the output (recorded, and hashed into :attr:`key`).

    How a set is made safe against kills, collisions and concurrent runs:

    * :meth:`claim` takes an exclusive lock on ``folder/.NAME.hm-lock`` (``files.file_lock``): a
      second process making the same set waits, then finds it complete and skips it.
    * :meth:`staging` makes every file in a hidden folder ``.hm-stage-NAME-*`` (itself locked while
      in use), then places them: first a manifest ``.NAME.hm-set.json`` in state ``placing`` (the
      request, the files and their SHA-256), then one rename per file, then the manifest again in
      state ``complete``. The manifest is written last, so a set without a ``complete`` manifest is
      never taken for finished.
    * :meth:`prepare` (under the claim) decides: skip a complete set of the same request, finish an
      interrupted placement whose files are intact (else redo it), refuse another request's set or
      files placed by hand, and remove staging folders whose lock is no longer held (their process
      is gone: the kernel drops a dead process's locks).
    """

    def __init__(self, folder: Path, name: str, kinds: dict[str, str], request: dict[str, Any] | None = None):
        self.folder, self.name = Path(folder), name
        self.paths = {k: self.folder / f"{name}{suffix}" for k, suffix in kinds.items()}
        self.request = dict(request or {})
        self.key = request_key(self.request)
        self.manifest = self.folder / f".{name}.hm-set.json"
        self.lock_path = self.folder / f".{name}.hm-lock"

    def existing(self) -> list[Path]:
        return [p for p in self.paths.values() if p.exists()]

    def read_manifest(self) -> dict | None:
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT else None

    def is_complete(self) -> bool:
        """The manifest says complete, for this request, and every file it lists is there with its size."""
        m = self.read_manifest()
        if m is None or m.get("state") != "complete" or m.get("key") != self.key:
            return False
        return all((self.folder / f["file"]).is_file() and (self.folder / f["file"]).stat().st_size == f["bytes"]
                   for f in m.get("files", {}).values())

    @contextmanager
    def claim(self, wait: bool = True) -> Iterator[None]:
        """Hold this set's lock (waiting for another process that holds it, unless ``wait`` is false)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OSError(f"cannot write to {self.folder}: {e.strerror or e}") from None
        with file_lock(self.lock_path, wait):
            yield

    def prepare(self, force: bool = False, replace_other: bool = False) -> bool:
        """Call under :meth:`claim`. True when the set must be made, False when it is complete
        (``force``: redo it anyway). Raises :class:`OutputConflict` for files of another request
        (unless ``replace_other``) or files without a manifest (unless ``force``)."""
        m = self.read_manifest()
        if m is not None and m.get("key") == self.key and m.get("state") == "placing":
            self._finish(m)  # an interrupted placement: finish it from its staging folder if intact
            m = self.read_manifest()
        remove_abandoned_stages(self.folder, self.name)
        if m is not None and m.get("key") == self.key:
            return force or not self.is_complete()  # ours: a damaged or interrupted set is redone
        there = self.existing()
        if m is not None and there and not replace_other:
            diff = sorted(k for k in set(self.request) | set(m.get("request", {}))
                          if self.request.get(k) != m.get("request", {}).get(k))
            raise OutputConflict(f"{self.folder}: {self.name}.* were made for a different request (it differs in "
                                 f"{', '.join(diff) or 'settings'}); choose another name, or remove those files")
        if m is None and there and not force:
            raise OutputConflict(f"{self.folder}: {', '.join(sorted(p.name for p in there))} exist but were not "
                                 f"placed as a set by this tool; pass --force to replace them ({self.name})")
        return True

    def _finish(self, m: dict) -> bool:
        stage = self.folder / str(m.get("stage", ""))
        if not str(m.get("stage", "")).startswith(STAGE_PREFIX) or lock_is_held(stage / ".hm-lock"):
            return False
        files = m.get("files", {})

        def intact(p: Path, f: dict) -> bool:
            return p.is_file() and _sha256(p) == f["sha256"]

        placed = {k: intact(self.folder / f["file"], f) for k, f in files.items()}
        if not all(placed[k] or intact(stage / f["file"], f) for k, f in files.items()):
            return False
        for k, f in files.items():
            if not placed[k]:
                os.replace(stage / f["file"], self.folder / f["file"])
        write_json_atomic(self.manifest, {**m, "state": "complete"})
        shutil.rmtree(stage, ignore_errors=True)
        return True

    @contextmanager
    def staging(self) -> Iterator[dict[str, Path]]:
        """Yield staged paths; when the block ends without error, place them (see the class doc).
        The staging folder is removed either way (a killed process leaves it for :meth:`prepare`)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{self.name}-", dir=self.folder))
        except OSError as e:
            raise OSError(f"cannot write to {self.folder}: {e.strerror or e}") from None
        try:
            with file_lock(stage / ".hm-lock"):
                yield {k: stage / p.name for k, p in self.paths.items()}
                self._place(stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _place(self, stage: Path) -> None:
        files: dict[str, dict[str, Any]] = {
            k: {"file": p.name, "bytes": (stage / p.name).stat().st_size, "sha256": _sha256(stage / p.name)}
            for k, p in self.paths.items() if (stage / p.name).exists()}
        manifest = {"format": MANIFEST_FORMAT, "format_version": 1, "name": self.name, "key": self.key,
                    "request": self.request, "stage": stage.name, "files": files, "state": "placing"}
        write_json_atomic(self.manifest, manifest)
        for f in files.values():
            os.replace(stage / f["file"], self.folder / f["file"])
        write_json_atomic(self.manifest, {**manifest, "state": "complete"})


def remove_abandoned_stages(folder: Path, name: str | None = None) -> list[Path]:
    """Remove staging folders (``.hm-stage-*``; of set ``name`` only, if given) whose lock is not held:
    their process has ended. A folder still named by an interrupted set's manifest is kept for
    :meth:`OutputSet.prepare` to finish from. Returns the folders removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    keep = set()
    for mf in folder.glob(".*.hm-set.json"):
        try:
            m = json.loads(mf.read_text(encoding="utf-8"))
            if m.get("state") == "placing" and (name is None or m.get("name") != name):
                keep.add(m.get("stage"))
        except (OSError, ValueError, AttributeError):
            continue
    removed = []
    for d in folder.glob(f"{STAGE_PREFIX}{name + '-' if name else ''}*"):
        lock = d / ".hm-lock"
        if d.is_dir() and d.name not in keep and lock.exists() and not lock_is_held(lock):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def parse_shard(text: str) -> tuple[int, int]:
    """'2/5' -> (2, 5): the second of five shards. ValueError in the user's terms otherwise."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected I/N, e.g. 2/5 (the second of five shards)") from None
    if not (1 <= count <= 100_000 and 1 <= index <= count):
        raise ValueError(f"--shard {text!r}: expected 1 <= I <= N")
    return index, count


def shard(items: Sequence[T], index: int, count: int) -> list[T]:
    """Shard ``index`` of ``count`` (1-based) of ``items``: contiguous, in order, sizes differing by at
    most one. The shards of one list are disjoint and together are the whole list."""
    n = len(items)
    return list(items[(index - 1) * n // count:index * n // count])
