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

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .files import write_json_atomic
from .models.generate import Generation, MotionGenerator, generate
from .rigs.bvh import write_bvh
from .rigs.hierarchy import POSITION_CHANNELS, Skeleton
from .rigs.retarget import Rig, clip_from_motion, make_rig
from .rules.apply import apply_pack
from .rules.audit import AuditRecord, build_audit
from .rules.pack import DEFAULT_PACK, RulePack, load_pack
from .skeleton.motion import Motion
from .text.encoder import TextEncoder


@dataclass
class Request:
    """What the user asked for: all that is needed to make the motion again."""

    prompt: str
    seconds: float = 10.0
    seed: int = 0
    mode: str = "canonical"
    feet: bool = True  # foot-contact locks by IK


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


def make_job(request: Request, rules: str | os.PathLike[str] | RulePack | None = DEFAULT_PACK,
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
        job.generation = generate(r.prompt, r.seconds, r.seed, self.model, self.encoder, r.mode, tpose=job.tpose)
        job.motion = job.generation.motion


@dataclass
class ApplyRules:
    """The rule pack (seed 002 eqs. 8-11): prior pull, taboo interception, limits, foot-lock IK;
    writes the audit record."""

    name: str = "rules"

    def __call__(self, job: Job) -> None:
        assert job.generation is not None and job.motion is not None, "ApplyRules needs GenerateMotion first"
        res = apply_pack(job.motion, job.pack, job.generation.joint_std_deg, feet=job.request.feet)
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
        write_bvh(self.path, clip_from_motion(motion, bvh_rig(self.rig)))
        job.files["bvh"] = self.path


def bvh_rig(rig: Rig) -> Rig:
    """``rig`` as a BVH can carry it. A rig read from an armature has bone rolls (rest rotations) and
    no channels, which a BVH cannot hold: it becomes the same joints at the same rest positions,
    unrotated, with position and rotation channels on the root and rotations on the others."""
    sk = rig.skeleton
    if any(sk.channels) and np.allclose(sk.rest_rotations, np.eye(3)):
        return rig
    rest = np.empty((sk.num_joints, 3, 3))
    pos = np.zeros((sk.num_joints, 3))
    for j, p in enumerate(sk.parents):
        rest[j] = sk.rest_rotations[j] if p < 0 else rest[p] @ sk.rest_rotations[j]
        pos[j] = sk.offsets[j] if p < 0 else pos[p] + rest[p] @ sk.offsets[j]
    offsets = np.array([pos[j] - (pos[p] if p >= 0 else 0) for j, p in enumerate(sk.parents)])
    rot = ("Zrotation", "Xrotation", "Yrotation")
    channels = [(*POSITION_CHANNELS, *rot) if p < 0 else rot for p in sk.parents]
    ends = [(j, rest[j] @ off) for j, off in sk.end_sites]
    flat = Skeleton(list(sk.names), sk.parents, offsets, channels, ends)
    return make_rig(flat, rig.name, rig.axes, override=dict(rig.bone_map.mapping))


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


class OutputSet:
    """The files one request makes, named ``folder/NAME.SUFFIX``, placed all at once.

    ``kinds`` maps a kind ("bvh", "audit", ...) to a suffix (".bvh", ".audit.json", ...).
    :meth:`staging` yields staged paths in a hidden folder beside the outputs; when the block ends
    without error every staged file is moved into place, and the staging folder is removed either way.
    """

    def __init__(self, folder: Path, name: str, kinds: dict[str, str]):
        self.folder, self.name = Path(folder), name
        self.paths = {k: self.folder / f"{name}{suffix}" for k, suffix in kinds.items()}

    def existing(self) -> list[Path]:
        return [p for p in self.paths.values() if p.exists()]

    @contextmanager
    def staging(self) -> Iterator[dict[str, Path]]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=".hm-stage-", dir=self.folder))
        except OSError as e:
            raise OSError(f"cannot write to {self.folder}: {e.strerror or e}") from None
        try:
            yield {k: stage / p.name for k, p in self.paths.items()}
            for p in self.paths.values():
                if (stage / p.name).exists():
                    os.replace(stage / p.name, p)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

