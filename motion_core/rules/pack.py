"""Rule packs: cultural and physiological rules as data, each with its source.

The format is documented in ``docs/rule_packs.md``. A pack is a JSON file; :func:`load_pack`
validates it and raises :class:`RulePackError` naming the file, the key, the value and what is
allowed. Built-in packs live in ``motion_core/packs`` and are found by name.

Angles are in degrees, measured as in :mod:`motion_core.joint_angles`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from ..skeleton import canonical
from .angles import ALIASES, AXES, MEASURES, joint_index

FORMAT = "heritage-motion-rules"
FORMAT_VERSION = 1
STATUSES = ("default", "illustrative", "user-reference", "expert-reviewed")
OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
SACREDNESS_MARGIN = {"sacred": config.MARGIN_SACRED, "decorative": config.MARGIN_DECORATIVE}
COLOUR_KINDS: dict[str, dict[str, type]] = {
    "avoid-combination": {"colours": list, "context": str},
    "restrict-to-gender": {"symbol": str, "gender": str},
    "context-meaning": {"colour": str, "meanings": dict},
}

_TRUNK = ("spine", "chest", "neck", "head")
REGIONS: dict[str, tuple[str, ...]] = {
    "left_upper_limb": ("l_clavicle", "l_upper_arm", "l_forearm", "l_hand"),
    "right_upper_limb": ("r_clavicle", "r_upper_arm", "r_forearm", "r_hand"),
    "left_lower_limb": ("l_thigh", "l_shin", "l_foot", "l_toe"),
    "right_lower_limb": ("r_thigh", "r_shin", "r_foot", "r_toe"),
    "trunk": _TRUNK,
    "head": ("neck", "head"),
}
REGIONS["upper_limb"] = REGIONS["left_upper_limb"] + REGIONS["right_upper_limb"]
REGIONS["lower_limb"] = REGIONS["left_lower_limb"] + REGIONS["right_lower_limb"]
#: Mask token: the limb (or the trunk) containing each offending joint, frame by frame.
OFFENDING = "offending-region"
DEFAULT_PACK = "default-humanoid"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class RulePackError(ValueError):
    """A pack that does not validate. The message names file, key, value and what is allowed."""


@dataclass(frozen=True)
class Condition:
    measure: str  # "rot" or "bend"
    joint: int
    axis: int | None  # 0..2 for "rot", None for "bend"
    op: str
    deg: float

    def describe(self) -> str:
        name = canonical.JOINTS[self.joint]
        what = f"{name} rot.{AXES[self.axis]}" if self.axis is not None else f"{name} bend"
        return f"{what} {self.op} {self.deg:g} deg"


@dataclass
class Taboo:
    id: str
    description: str
    source: str
    any_of: list[list[Condition]]  # union of intersections (seed 002 eq. 10: a union of conditions)
    mask: tuple[str, ...]  # joint names, or OFFENDING
    preserve: tuple[str, ...]  # joint names that must never be replaced
    blend_frames: int


@dataclass
class RulePack:
    name: str
    version: str
    title: str
    status: str
    status_note: str
    sources: dict[str, dict]
    limits: np.ndarray  # (21, 3, 2) degrees; +-inf where unlimited
    limit_sources: dict[str, str]  # joint -> source id
    taboos: list[Taboo]
    theta_ref: np.ndarray  # (21, 3) degrees, "rot" measure
    reference_source: str | None
    prior: dict | None  # {"mean": (21,3), "std": (21,3), "joints": [...], "observed": ..., "source": id}
    symbols: list[dict]
    colour_rules: list[dict]
    file: str
    sha256: str
    raw: dict = field(repr=False, default_factory=dict)

    def summary(self) -> dict:
        """What an audit records about the pack."""
        return {"name": self.name, "version": self.version, "title": self.title, "status": self.status,
                "status_note": self.status_note, "file": self.file, "sha256": self.sha256,
                "taboos": [t.id for t in self.taboos], "has_prior": self.prior is not None}


class _Ctx:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, value: Any, allowed: str) -> RulePackError:
        shown = json.dumps(value) if not isinstance(value, str) else repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return RulePackError(f"{self.file}: {key} = {shown}: {allowed}")

    def get(self, obj: dict[str, Any], key: str, path: str, kind: type, required: bool = True, default: Any = None) -> Any:
        if key not in obj:
            if required:
                raise self.fail(f"{path}.{key}".lstrip("."), None, f"required ({_kind_name(kind)})")
            return default
        value = obj[key]
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind)
        if not ok:
            raise self.fail(f"{path}.{key}".lstrip("."), value, f"expected {_kind_name(kind)}")
        return value

    def joint(self, name: Any, key: str) -> int:
        if not isinstance(name, str):
            raise self.fail(key, name, "expected a joint name")
        try:
            return joint_index(name)
        except KeyError:
            raise self.fail(key, name, "unknown joint; allowed: " + ", ".join(canonical.JOINTS)
                            + "; aliases: " + ", ".join(ALIASES)) from None

    def source(self, value: Any, key: str, sources: dict[str, Any]) -> str:
        if not isinstance(value, str) or value not in sources:
            raise self.fail(key, value, "every rule names its source: one of the ids under 'sources' ("
                            + ", ".join(sources) + ")")
        return value


def _kind_name(kind: type) -> str:
    return {str: "a string", float: "a number", int: "an integer", list: "a list", dict: "an object",
            bool: "true or false"}.get(kind, str(kind))


def _angle_pair(ctx: _Ctx, value: Any, key: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ctx.fail(key, value, "expected [min, max] in degrees")
    lo, hi = float(value[0]), float(value[1])
    if not (-180 <= lo <= hi <= 180):
        raise ctx.fail(key, value, "expected -180 <= min <= max <= 180 degrees")
    return lo, hi


def _vector3(ctx: _Ctx, value: Any, key: str, lo: float = -180, hi: float = 180) -> np.ndarray:
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise ctx.fail(key, value, "expected [x, y, z] in degrees")
    v = np.array(value, dtype=np.float64)
    if (v < lo).any() or (v > hi).any():
        raise ctx.fail(key, value, f"expected components from {lo:g} to {hi:g} degrees")
    return v


def _region(ctx: _Ctx, items: Any, key: str, allow_offending: bool) -> tuple[str, ...]:
    if not isinstance(items, list) or not items:
        raise ctx.fail(key, items, "expected a non-empty list of joints or regions (" + ", ".join(REGIONS) + ")")
    out: list[str] = []
    for i, item in enumerate(items):
        if allow_offending and item == OFFENDING:
            out.append(OFFENDING)
        elif isinstance(item, str) and item in REGIONS:
            out.extend(REGIONS[item])
        else:
            if isinstance(item, str) and item not in canonical.INDEX and item not in ALIASES:
                raise ctx.fail(f"{key}[{i}]", item, "unknown joint or region; regions: " + ", ".join(REGIONS)
                               + (f", {OFFENDING}" if allow_offending else "") + "; joints: "
                               + ", ".join(canonical.JOINTS))
            out.append(canonical.JOINTS[ctx.joint(item, f"{key}[{i}]")])
    return tuple(dict.fromkeys(out))


def _condition(ctx: _Ctx, c: Any, key: str) -> Condition:
    if not isinstance(c, dict):
        raise ctx.fail(key, c, "expected a condition {measure, joint, [axis], op, deg}")
    unknown = set(c) - {"measure", "joint", "axis", "op", "deg"}
    if unknown:
        raise ctx.fail(f"{key}.{sorted(unknown)[0]}", c[sorted(unknown)[0]], "unknown key in a condition")
    measure = ctx.get(c, "measure", key, str)
    if measure not in MEASURES:
        raise ctx.fail(f"{key}.measure", measure, "allowed: " + ", ".join(MEASURES))
    j = ctx.joint(c.get("joint"), f"{key}.joint")
    axis = None
    if measure == "rot":
        a = ctx.get(c, "axis", key, str)
        if a not in AXES:
            raise ctx.fail(f"{key}.axis", a, "allowed: x, y, z")
        axis = AXES.index(a)
    elif "axis" in c:
        raise ctx.fail(f"{key}.axis", c["axis"], "only 'rot' conditions take an axis")
    elif j == 0:
        raise ctx.fail(f"{key}.joint", c["joint"], "the pelvis has no bend; use measure 'rot'")
    op = ctx.get(c, "op", key, str)
    if op not in OPS:
        raise ctx.fail(f"{key}.op", op, "allowed: " + ", ".join(OPS))
    deg = float(ctx.get(c, "deg", key, float))
    if not -180 <= deg <= 180:
        raise ctx.fail(f"{key}.deg", deg, "expected -180 to 180 degrees")
    return Condition(measure, j, axis, op, deg)


def _objects(ctx: _Ctx, data: dict[str, Any], name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key path, object) for each item of the optional list ``name``; a non-object item is an error."""
    for i, item in enumerate(ctx.get(data, name, "", list, required=False, default=[])):
        key = f"{name}[{i}]"
        if not isinstance(item, dict):
            raise ctx.fail(key, item, "expected an object")
        yield key, item


def _with_descendants(names: tuple[str, ...]) -> tuple[str, ...]:
    """Close a joint set under descendants, so that replacing it moves nothing outside it."""
    mask = canonical.subtree_mask([canonical.INDEX[n] for n in names])
    return tuple(canonical.JOINTS[j] for j in np.flatnonzero(mask))


def offending_region(joint: int) -> tuple[str, ...]:
    """The region replaced when ``joint`` offends under the ``offending-region`` mask."""
    name = canonical.JOINTS[joint]
    for region in ("left_upper_limb", "right_upper_limb", "left_lower_limb", "right_lower_limb", "head"):
        if name in REGIONS[region]:
            return REGIONS[region]
    return _with_descendants(("spine",))  # the trunk carries everything above the pelvis


def parse_pack(data: dict, file: str, base_limits: np.ndarray | None = None, sha256: str = "") -> RulePack:
    """Validate a decoded pack. ``base_limits`` (21, 3, 2) are inherited with ``extends``."""
    ctx = _Ctx(file)
    if not isinstance(data, dict):
        raise ctx.fail("(top level)", data, "expected a JSON object")
    known = {"format", "format_version", "name", "version", "title", "status", "status_note", "culture", "dance",
             "sources", "extends", "joint_limits", "taboos", "reference", "prior", "symbols", "colour_rules",
             "description"}
    for k in data:
        if k not in known:
            raise ctx.fail(k, data[k], "unknown key; allowed: " + ", ".join(sorted(known)))
    if data.get("format") != FORMAT:
        raise ctx.fail("format", data.get("format"), f"expected {FORMAT!r}")
    if data.get("format_version") != FORMAT_VERSION:
        raise ctx.fail("format_version", data.get("format_version"), f"this version reads {FORMAT_VERSION}")
    name = ctx.get(data, "name", "", str)
    if not _NAME.match(name):
        raise ctx.fail("name", name, "lower-case letters, digits and '-', up to 64 characters")
    version = ctx.get(data, "version", "", str)
    title = ctx.get(data, "title", "", str)
    status = ctx.get(data, "status", "", str)
    if status not in STATUSES:
        raise ctx.fail("status", status, "allowed: " + ", ".join(STATUSES))
    status_note = ctx.get(data, "status_note", "", str, required=status in ("illustrative", "user-reference"),
                          default="")
    sources = ctx.get(data, "sources", "", dict)
    if not sources:
        raise ctx.fail("sources", sources, "at least one source; every rule names one")
    for sid, s in sources.items():
        if not isinstance(s, dict) or not isinstance(s.get("citation"), str) or not s["citation"].strip():
            raise ctx.fail(f"sources.{sid}", s, "expected {\"citation\": text, [\"locator\"], [\"terms\"]}")

    limits = np.full((len(canonical.JOINTS), 3, 2), np.inf)
    limits[..., 0] = -np.inf
    limit_sources: dict[str, str] = {}
    extends = ctx.get(data, "extends", "", str, required=False)
    if extends is not None:
        if extends != DEFAULT_PACK:
            raise ctx.fail("extends", extends, f"allowed: {DEFAULT_PACK!r}")
        if base_limits is not None:
            limits = base_limits.copy()
            limit_sources.update({canonical.JOINTS[j]: f"{DEFAULT_PACK}" for j in range(1, len(canonical.JOINTS))})
    for jname, spec in ctx.get(data, "joint_limits", "", dict, required=False, default={}).items():
        key = f"joint_limits.{jname}"
        j = ctx.joint(jname, key)
        if j == 0:
            raise ctx.fail(key, jname, "the pelvis is the global root and takes no limits")
        if not isinstance(spec, dict):
            raise ctx.fail(key, spec, "expected {\"x\": [min, max], \"y\": ..., \"z\": ..., \"source\": id}")
        for k in spec:
            if k not in ("x", "y", "z", "source", "note"):
                raise ctx.fail(f"{key}.{k}", spec[k], "allowed keys: x, y, z, source, note")
        limit_sources[canonical.JOINTS[j]] = ctx.source(spec.get("source"), f"{key}.source", sources)
        for a, ax in enumerate(AXES):
            if ax in spec:
                limits[j, a] = _angle_pair(ctx, spec[ax], f"{key}.{ax}")

    theta_ref = np.zeros((len(canonical.JOINTS), 3))
    reference_source = None
    ref = ctx.get(data, "reference", "", dict, required=False)
    if ref is not None:
        reference_source = ctx.source(ref.get("source"), "reference.source", sources)
        for jname, v in ctx.get(ref, "theta_ref", "reference", dict).items():
            j = ctx.joint(jname, f"reference.theta_ref.{jname}")
            theta_ref[j] = _vector3(ctx, v, f"reference.theta_ref.{jname}")
        outside = (theta_ref[1:] < limits[1:, :, 0] - 1e-9) | (theta_ref[1:] > limits[1:, :, 1] + 1e-9)
        if outside.any():
            j, a = map(int, np.argwhere(outside)[0])
            raise ctx.fail(f"reference.theta_ref.{canonical.JOINTS[j + 1]}", theta_ref[j + 1].tolist(),
                           f"axis {AXES[a]} lies outside the joint limits {limits[j + 1, a].tolist()}")

    taboos: list[Taboo] = []
    for key, t in _objects(ctx, data, "taboos"):
        for k in t:
            if k not in ("id", "description", "source", "when_any", "mask", "preserve", "blend_frames"):
                raise ctx.fail(f"{key}.{k}", t[k], "allowed keys: id, description, source, when_any, mask, "
                               "preserve, blend_frames")
        tid = ctx.get(t, "id", key, str)
        desc = ctx.get(t, "description", key, str)
        src = ctx.source(t.get("source"), f"{key}.source", sources)
        terms = ctx.get(t, "when_any", key, list)
        if not terms:
            raise ctx.fail(f"{key}.when_any", terms, "at least one condition")
        any_of: list[list[Condition]] = []
        for k, term in enumerate(terms):
            tkey = f"{key}.when_any[{k}]"
            if isinstance(term, dict) and "all" in term:
                if set(term) != {"all"} or not isinstance(term["all"], list) or not term["all"]:
                    raise ctx.fail(tkey, term, "expected {\"all\": [condition, ...]}")
                any_of.append([_condition(ctx, c, f"{tkey}.all[{m}]") for m, c in enumerate(term["all"])])
            else:
                any_of.append([_condition(ctx, term, tkey)])
        mask = _region(ctx, t.get("mask", [OFFENDING]), f"{key}.mask", allow_offending=True)
        preserve = _region(ctx, t.get("preserve", ["lower_limb"]), f"{key}.preserve", allow_offending=False)
        fixed = [m for m in mask if m != OFFENDING]
        if "pelvis" in fixed:
            raise ctx.fail(f"{key}.mask", t.get("mask"), "the pelvis (root trajectory) cannot be replaced")
        mask = tuple(_with_descendants(tuple(fixed))) + ((OFFENDING,) if OFFENDING in mask else ())
        clash = set(mask) & set(preserve)
        if clash:
            raise ctx.fail(f"{key}.mask", t.get("mask"), "overlaps 'preserve' at " + ", ".join(sorted(clash))
                           + " (a mask includes every joint below the ones named)")
        blend = ctx.get(t, "blend_frames", key, int, required=False, default=6)
        if not 0 <= blend <= 50:
            raise ctx.fail(f"{key}.blend_frames", blend, "expected 0 to 50 frames")
        taboos.append(Taboo(tid, desc, src, any_of, mask, preserve, blend))
    if len({t.id for t in taboos}) != len(taboos):
        raise ctx.fail("taboos", [t.id for t in taboos], "taboo ids must be unique")
    if taboos and ref is None:
        raise ctx.fail("reference", None, "a pack with taboos needs a safe reference pose (reference.theta_ref) "
                       "to replace offending joints with")
    for taboo in taboos:  # the safe pose must itself be allowed, or interception could never succeed
        fired = _fires_on_pose(taboo, theta_ref)
        if fired:
            raise ctx.fail("reference.theta_ref", "(safe pose)", f"lies inside taboo {taboo.id!r} ({fired}); "
                           "choose a reference outside every taboo domain")

    prior = None
    pr = ctx.get(data, "prior", "", dict, required=False)
    if pr is not None:
        psrc = ctx.source(pr.get("source"), "prior.source", sources)
        mean = np.zeros((len(canonical.JOINTS), 3))
        std = np.full((len(canonical.JOINTS), 3), np.inf)
        used = []
        for jname, spec in ctx.get(pr, "joints", "prior", dict).items():
            key = f"prior.joints.{jname}"
            j = ctx.joint(jname, key)
            if j == 0 or not isinstance(spec, dict):
                raise ctx.fail(key, spec, "expected a non-pelvis joint with {\"mean\": [x,y,z], \"std\": [x,y,z]}")
            mean[j] = _vector3(ctx, spec.get("mean"), f"{key}.mean")
            std[j] = _vector3(ctx, spec.get("std"), f"{key}.std", 0.5, 180)
            used.append(canonical.JOINTS[j])
        weight = float(ctx.get(pr, "weight", "prior", float, required=False, default=config.LAMBDA_REF))
        if not 0 <= weight <= 100:
            raise ctx.fail("prior.weight", weight, "expected 0 to 100")
        prior = {"mean": mean, "std": std, "joints": used, "source": psrc, "weight": weight,
                 "observed": pr.get("observed", {}), "frames": pr.get("frames")}

    symbols = []
    for key, s in _objects(ctx, data, "symbols"):
        ctx.get(s, "id", key, str)
        ctx.get(s, "description", key, str)
        level = ctx.get(s, "sacredness", key, str)
        if level not in SACREDNESS_MARGIN:
            raise ctx.fail(f"{key}.sacredness", level, "allowed: sacred (margin 1.2), decorative (margin 0.8)")
        ctx.source(s.get("source"), f"{key}.source", sources)
        symbols.append({**s, "margin": SACREDNESS_MARGIN[level]})
    colour_rules = []
    for key, c in _objects(ctx, data, "colour_rules"):
        ctx.get(c, "id", key, str)
        kind = ctx.get(c, "kind", key, str)
        if kind not in COLOUR_KINDS:
            raise ctx.fail(f"{key}.kind", kind, "allowed: " + ", ".join(COLOUR_KINDS))
        for field_name, ftype in COLOUR_KINDS[kind].items():
            ctx.get(c, field_name, key, ftype)
        ctx.source(c.get("source"), f"{key}.source", sources)
        colour_rules.append(dict(c))
    return RulePack(name, version, title, status, status_note, sources, limits, limit_sources, taboos, theta_ref,
                    reference_source, prior, symbols, colour_rules, file, sha256, data)


def _fires_on_pose(t: Taboo, rot: np.ndarray) -> str:
    """Check a taboo on one pose given by local rotations (the canonical T-pose proportions)."""
    from .angles import bend_from_directions, globals_from_rot, segment_directions

    g = globals_from_rot(rot[None], np.eye(3)[None])
    values = {"rot": rot[None], "bend": bend_from_directions(segment_directions(g, canonical.TPOSE))}
    for term in t.any_of:
        if all(evaluate_condition(c, values)[0] for c in term):
            return " and ".join(c.describe() for c in term)
    return ""


def evaluate_condition(c: Condition, values: dict[str, np.ndarray]) -> np.ndarray:
    """(T,) bool: frames where the condition holds. ``values`` as from joint_angles.measure()."""
    x = values["rot"][:, c.joint, c.axis] if c.measure == "rot" else values["bend"][:, c.joint]
    return OPS[c.op](x, c.deg)


def builtin_packs() -> dict[str, str]:
    """{name: file name} of the packs shipped in motion_core/packs."""
    root = resources.files(__package__).joinpath("packs")
    return {p.name[:-5]: p.name for p in root.iterdir() if p.name.endswith(".json")}


def builtin_titles() -> dict[str, str]:
    """{name: title} of the built-in packs, read without validating them (cheap, for menus)."""
    root = resources.files(__package__).joinpath("packs")
    return {name: json.loads(root.joinpath(file).read_text(encoding="utf-8")).get("title", name)
            for name, file in sorted(builtin_packs().items())}


def _read(path_or_name: str | Path) -> tuple[str, bytes]:
    packs = builtin_packs()
    p = Path(path_or_name)
    if str(path_or_name) in packs and not p.exists():
        res = resources.files(__package__).joinpath("packs", packs[str(path_or_name)])
        return f"built-in pack {path_or_name}", res.read_bytes()
    if not p.exists():
        raise RulePackError(f"{path_or_name}: no such file, and not a built-in pack ({', '.join(sorted(packs))})")
    try:
        if p.stat().st_size > config.PACK_MAX_BYTES:  # before reading it
            raise RulePackError(f"{p}: {p.stat().st_size:,} bytes; a rule pack may be at most {config.PACK_MAX_BYTES:,} bytes")
        return str(p), p.read_bytes()
    except OSError as e:
        raise RulePackError(f"{p}: cannot read ({e.strerror})") from None


class _BigInt(ValueError):
    pass


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > config.PACK_MAX_INT_DIGITS:
        raise _BigInt(text)
    return int(text)


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def decode_json(blob: bytes, file: str) -> object:
    """Rule-pack JSON, bounded (``config.PACK_*``: size, nesting, integer digits); a UTF-8 byte-order
    mark is accepted. Raises RulePackError naming the file (and the line where there is one)."""
    if len(blob) > config.PACK_MAX_BYTES:
        raise RulePackError(f"{file}: {len(blob):,} bytes; a rule pack may be at most {config.PACK_MAX_BYTES:,} bytes")
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RulePackError(f"{file}: not UTF-8 text") from None
    depth = 0
    for m in _JSON_TOKENS.finditer(text):  # nesting, counted outside strings before Python's parser recurses
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > config.PACK_MAX_DEPTH:
                raise RulePackError(f"{file}: line {_line_of(text, m.start())}: JSON nested more than "
                                    f"{config.PACK_MAX_DEPTH} levels deep; a rule pack needs at most 6")
        elif c in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_int=_bounded_int)
    except _BigInt as e:
        num = e.args[0]
        pos = re.search(r"(?<![\d.eE+-])" + re.escape(num) + r"(?![\d.eE])", text)
        where = f"line {_line_of(text, pos.start())}: " if pos else ""
        raise RulePackError(f"{file}: {where}an integer of {len(num.lstrip('-'))} digits; at most "
                            f"{config.PACK_MAX_INT_DIGITS} digits are allowed") from None
    except json.JSONDecodeError as e:
        raise RulePackError(f"{file}: line {e.lineno} column {e.colno}: invalid JSON ({e.msg})") from None
    except (ValueError, RecursionError) as e:
        raise RulePackError(f"{file}: invalid JSON ({e})") from None


def load_pack(path_or_name: str | Path) -> RulePack:
    """Load and validate a rule pack from a file or a built-in name."""
    file, blob = _read(path_or_name)
    data: Any = decode_json(blob, file)  # parse_pack says what is wrong with a non-object
    base = None
    if isinstance(data, dict) and data.get("extends") == DEFAULT_PACK:
        base = load_pack(DEFAULT_PACK).limits
    return parse_pack(data, file, base, hashlib.sha256(blob).hexdigest())
