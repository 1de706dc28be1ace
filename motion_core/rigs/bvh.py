"""Read and write BVH motion capture files.

Accepts any channel count (0 to 6) and order per joint, End Sites, tabs or spaces, CRLF and a
UTF-8 byte-order mark. Bounded to what is physically meaningful (``config.BVH_*``): a frame time
of 1/1000 s to 10 s (1000 to 0.1 fps), at most 1,000,000 frames and 1 hour, a hierarchy at most
512 joints deep. Channel values are kept exactly as read (degrees and file units), so a write-then-read
round-trips to the printed precision (1e-6). Every malformed input raises :class:`BVHError`
naming the file, the line and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from .. import config
from ..files import write_atomic
from ..skeleton.rotations import euler_to_matrix
from .hierarchy import POSITION_CHANNELS, ROTATION_CHANNELS, VALID_CHANNELS, Skeleton


class BVHError(ValueError):
    """A BVH file that cannot be read; the message names file, line and expectation."""

    def __init__(self, source: str, line: int | None, message: str):
        self.source, self.line, self.reason = source, line, message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


@dataclass
class BvhClip:
    """A skeleton plus its channel values.

    Attributes:
        skeleton: the hierarchy, offsets in file units.
        frame_time: seconds per frame.
        values: (T, C) float64 channel values in file order; rotations in degrees.
    """

    skeleton: Skeleton
    frame_time: float
    values: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def duration(self) -> float:
        return self.num_frames * self.frame_time

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local transforms in file units.

        Returns:
            rotations (T, J, 3, 3): rest rotation times the animated rotation;
            translations (T, J, 3): position channels where present, else the rest offset
            (per axis, as most BVH readers do).
        """
        sk = self.skeleton
        t = self.num_frames
        starts = sk.channel_offsets()
        rots = np.empty((t, sk.num_joints, 3, 3))
        trans = np.broadcast_to(sk.offsets, (t, sk.num_joints, 3)).copy()
        for j, chans in enumerate(sk.channels):
            rot_idx = [starts[j] + n for n, c in enumerate(chans) if c in ROTATION_CHANNELS]
            order = "".join(c[0] for c in chans if c in ROTATION_CHANNELS)
            r = euler_to_matrix(self.values[:, rot_idx], order) if order else np.eye(3)
            rots[:, j] = sk.rest_rotations[j] @ r
            for n, c in enumerate(chans):
                if c in POSITION_CHANNELS:
                    trans[:, j, POSITION_CHANNELS.index(c)] = self.values[:, starts[j] + n]
        return rots, trans


# --------------------------------------------------------------------------------------------
# Reading


def read_bvh(path: str | os.PathLike) -> BvhClip:
    """Read a BVH file. Raises :class:`BVHError` (file, line, expectation) on bad input."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BVHError(str(path), None, f"cannot read file: {e.strerror or e}") from None
    return parse_bvh(raw, source=str(path))


def parse_bvh(data: bytes | str, source: str = "<string>") -> BvhClip:
    """Parse BVH text (bytes or str); ``source`` names it in error messages."""
    if isinstance(data, bytes):
        if b"\x00" in data[:65536]:
            raise BVHError(source, None, "this is a binary file, not a text BVH file")
        try:
            text = data.decode("utf-8-sig")  # a byte-order mark is merely unusual: accept it
        except UnicodeDecodeError:
            try:
                text = data.decode("latin-1")
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
                raise BVHError(source, None, "not a text BVH file") from None
    else:
        text = data.removeprefix("\ufeff")
    if not text.strip():
        raise BVHError(source, 1, "empty file; expected 'HIERARCHY'")
    lines = text.splitlines()
    skeleton, motion_line = _parse_hierarchy(lines, source)
    frame_time, values = _parse_motion(lines, motion_line, skeleton, source)
    return BvhClip(skeleton, frame_time, values)


def _parse_hierarchy(lines: list[str], source: str) -> tuple[Skeleton, int]:
    tokens: list[tuple[str, int]] = []
    motion_line = None
    for n, line in enumerate(lines, start=1):
        parts = line.split()
        if parts and parts[0].upper() == "MOTION":
            motion_line = n
            break
        tokens.extend((p, n) for p in parts)
    last_line = len(lines)
    pos = 0

    def peek() -> tuple[str, int]:
        return tokens[pos] if pos < len(tokens) else ("<end of hierarchy>", motion_line or last_line)

    def take(expected: str | None = None) -> tuple[str, int]:
        nonlocal pos
        tok, ln = peek()
        if pos >= len(tokens):
            raise BVHError(source, ln, f"file ends inside the hierarchy; expected {expected or 'more'}")
        if expected is not None and tok.upper() != expected.upper():
            raise BVHError(source, ln, f"expected {expected!r}, found {tok!r}")
        pos += 1
        return tok, ln

    def number(what: str) -> float:
        tok, ln = take()
        try:
            v = float(tok)
        except ValueError:
            raise BVHError(source, ln, f"expected a number for {what}, found {tok!r}") from None
        if not np.isfinite(v):
            raise BVHError(source, ln, f"{what} is {tok}; expected a finite number")
        return v

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: list[tuple[int, np.ndarray]] = []

    take("HIERARCHY")
    tok, ln = peek()
    if tok.upper() != "ROOT":
        raise BVHError(source, ln, f"expected 'ROOT', found {tok!r}")

    def joint_name(keyword_line: int) -> str:
        nonlocal pos
        parts = []
        while pos < len(tokens) and tokens[pos][1] == keyword_line and tokens[pos][0] != "{":
            parts.append(tokens[pos][0])
            pos += 1
        if not parts:
            raise BVHError(source, keyword_line, "joint without a name")
        return " ".join(parts)

    # Iterative descent: a stack of (joint index, line of its '{').
    stack: list[tuple[int, int]] = []
    while True:
        tok, ln = peek()
        up = tok.upper()
        if up in ("ROOT", "JOINT"):
            if up == "ROOT" and (stack or names):
                raise BVHError(source, ln, "a second ROOT; only one skeleton per file is supported")
            if up == "JOINT" and not stack:
                raise BVHError(source, ln, "JOINT outside of any joint block")
            take()
            name = joint_name(ln)
            if name in names:
                raise BVHError(source, ln, f"duplicate joint name {name!r}")
            _, brace_ln = take("{")
            if len(stack) >= config.BVH_MAX_DEPTH:
                raise BVHError(source, ln, f"joint {name!r} is {len(stack) + 1} joints deep; a hierarchy may be at "
                                           f"most {config.BVH_MAX_DEPTH} deep")
            parent = stack[-1][0] if stack else -1
            names.append(name)
            parents.append(parent)
            take("OFFSET")
            offsets.append([number("OFFSET x"), number("OFFSET y"), number("OFFSET z")])
            chans: tuple[str, ...] = ()
            if peek()[0].upper() == "CHANNELS":
                _, cln = take()
                count_tok, _ = take()
                try:
                    count = int(count_tok)
                except ValueError:
                    raise BVHError(source, cln, f"expected a channel count, found {count_tok!r}") from None
                if not 0 <= count <= 6:
                    raise BVHError(source, cln, f"channel count {count}; expected 0 to 6")
                got = []
                for _ in range(count):
                    ctok, cl = take()
                    canon = next((c for c in VALID_CHANNELS if c.lower() == ctok.lower()), None)
                    if canon is None:
                        raise BVHError(source, cl, f"unknown channel {ctok!r}; expected one of "
                                                   + ", ".join(VALID_CHANNELS))
                    if canon in got:
                        raise BVHError(source, cl, f"channel {canon} listed twice")
                    got.append(canon)
                chans = tuple(got)
            channels.append(chans)
            stack.append((len(names) - 1, brace_ln))
        elif up == "END":
            _, eln = take()
            take("Site")
            if not stack:
                raise BVHError(source, eln, "End Site outside of any joint block")
            take("{")
            take("OFFSET")
            off = np.array([number("End Site x"), number("End Site y"), number("End Site z")])
            take("}")
            end_sites.append((stack[-1][0], off))
        elif tok == "}":
            if not stack:
                raise BVHError(source, ln, "unbalanced '}': no open joint block")
            take()
            stack.pop()
            if not stack:
                break
        elif pos >= len(tokens):
            open_ln = stack[-1][1] if stack else ln
            raise BVHError(source, ln, f"unbalanced braces: the '{{' opened at line {open_ln} is never closed")
        else:
            raise BVHError(source, ln, f"unexpected {tok!r}; expected JOINT, End Site or '}}'")
    if pos < len(tokens):
        tok, ln = tokens[pos]
        raise BVHError(source, ln, f"unexpected {tok!r} after the hierarchy; expected 'MOTION'")
    if motion_line is None:
        raise BVHError(source, last_line, "file ends after the hierarchy; expected 'MOTION'")
    skeleton = Skeleton(names, np.array(parents), np.array(offsets), channels, end_sites)
    return skeleton, motion_line


def _header_value(lines: list[str], idx: int, key: str, source: str) -> str:
    if idx >= len(lines):
        raise BVHError(source, idx, f"file ends; expected '{key} ...'")
    line = lines[idx].strip()
    if not line.lower().startswith(key.lower()):
        raise BVHError(source, idx + 1, f"expected '{key} <value>', found {line[:40]!r}")
    return line[len(key):].strip()


def _parse_motion(lines: list[str], motion_line: int, sk: Skeleton, source: str) -> tuple[float, np.ndarray]:
    i = motion_line  # 0-based index of the line after MOTION
    while i < len(lines) and not lines[i].strip():
        i += 1
    frames_s = _header_value(lines, i, "Frames:", source)
    try:
        frames = int(frames_s)
    except ValueError:
        raise BVHError(source, i + 1, f"expected an integer frame count, found {frames_s!r}") from None
    if frames <= 0:
        raise BVHError(source, i + 1, f"frame count is {frames}; a BVH needs at least one frame")
    if frames > config.BVH_MAX_FRAMES:
        raise BVHError(source, i + 1, f"frame count is {frames}; at most {config.BVH_MAX_FRAMES:,} frames are read")
    i += 1
    ft_s = _header_value(lines, i, "Frame Time:", source)
    try:
        frame_time = float(ft_s)
    except ValueError:
        raise BVHError(source, i + 1, f"expected a frame time in seconds, found {ft_s!r}") from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise BVHError(source, i + 1, f"frame time is {ft_s}; expected a positive number of seconds")
    lo, hi = config.BVH_MIN_FRAME_TIME_S, config.BVH_MAX_FRAME_TIME_S
    if not lo <= frame_time <= hi:
        raise BVHError(source, i + 1, f"frame time is {ft_s} s ({1 / frame_time:.6g} fps); expected {lo:g} to {hi:g} s "
                                      f"per frame ({1 / hi:g} to {1 / lo:g} fps)")
    if frames * frame_time > config.BVH_MAX_DURATION_S:
        raise BVHError(source, i + 1, f"{frames} frames of {ft_s} s last {frames * frame_time:,.0f} s; at most "
                                      f"{config.BVH_MAX_DURATION_S:,.0f} s are read")
    i += 1
    ncols = sk.num_channels
    tokens: list[str] = []
    line_numbers: list[int] = []
    for n in range(i, len(lines)):
        parts = lines[n].split()
        if not parts:
            continue
        if len(parts) != ncols:
            if len(line_numbers) >= frames:
                raise BVHError(source, n + 1, f"extra data after the {frames} frames the header declares")
            raise BVHError(source, n + 1, f"frame {len(line_numbers) + 1} has {len(parts)} values; "
                                          f"expected {ncols} (one per channel)")
        tokens.extend(parts)
        line_numbers.append(n + 1)
    if len(line_numbers) < frames:
        raise BVHError(source, len(lines) + 1, f"file is truncated: it ends after {len(line_numbers)} "
                                               f"frame lines, but the header declares {frames}")
    if len(line_numbers) > frames:
        raise BVHError(source, line_numbers[frames], f"extra data after the {frames} frames the header declares")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        values = None
    if values is None or not np.all(np.isfinite(values)):
        _locate_bad_value(tokens, line_numbers, sk, ncols, source)
    return frame_time, values.reshape(frames, ncols) if ncols else np.zeros((frames, 0))


def _locate_bad_value(tokens: list[str], line_numbers: list[int], sk: Skeleton, ncols: int, source: str) -> NoReturn:
    col_names = [f"{name} {c}" for name, chans in zip(sk.names, sk.channels, strict=True) for c in chans]
    for k, tok in enumerate(tokens):
        try:
            v = float(tok)
        except ValueError:
            v = None
        if v is None or not np.isfinite(v):
            row, col = divmod(k, ncols)
            what = "not a number" if v is None else f"{tok} (not finite)"
            raise BVHError(source, line_numbers[row],
                           f"value {col + 1} ({col_names[col]}) is {tok!r}: {what}; expected a finite number")
    raise AssertionError("unreachable: no bad value found")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Writing


def format_bvh(clip: BvhClip) -> str:
    sk = clip.skeleton
    out = ["HIERARCHY"]
    ends: dict[int, list[np.ndarray]] = {}
    for j, off in sk.end_sites:
        ends.setdefault(j, []).append(off)

    def fmt3(v: Iterable[float]) -> str:
        return " ".join(f"{float(x):.6f}" for x in v)

    # Iterative (a stack, not recursion): any depth writes.
    stack: list[tuple[int, bool]] = [(0, False)]
    depth = np.zeros(sk.num_joints, dtype=np.int64)
    for j in range(1, sk.num_joints):
        depth[j] = depth[sk.parents[j]] + 1
    while stack:
        j, closing = stack.pop()
        ind = "\t" * int(depth[j])
        if closing:
            for off in ends.get(j, []):
                out.extend([f"{ind}\tEnd Site", f"{ind}\t{{", f"{ind}\t\tOFFSET {fmt3(off)}", f"{ind}\t}}"])
            out.append(f"{ind}}}")
            continue
        kw = "ROOT" if sk.parents[j] < 0 else "JOINT"
        out.append(f"{ind}{kw} {sk.names[j]}")
        out.append(f"{ind}{{")
        out.append(f"{ind}\tOFFSET {fmt3(sk.offsets[j])}")
        if sk.channels[j]:
            out.append(f"{ind}\tCHANNELS {len(sk.channels[j])} {' '.join(sk.channels[j])}")
        stack.append((j, True))
        stack.extend((c, False) for c in reversed(sk.children(j)))

    out += ["MOTION", f"Frames: {clip.num_frames}", f"Frame Time: {clip.frame_time!r}"]
    # The hierarchy is written depth-first; a skeleton stored parents-first in another order
    # must have its channel columns permuted to match, or the file would scramble them.
    starts = sk.channel_offsets()
    cols = np.concatenate([np.arange(starts[j], starts[j + 1]) for j in _depth_first(sk)]).astype(np.int64)
    vals = np.asarray(clip.values, dtype=np.float64)[:, cols]
    if vals.size:
        fmt = " ".join(["%.6f"] * vals.shape[1])
        out.extend(fmt % tuple(row) for row in vals)
    else:
        out.extend("" for _ in range(clip.num_frames))
    return "\n".join(out) + "\n"


def _depth_first(sk: Skeleton) -> list[int]:
    order: list[int] = []
    stack = [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(sk.children(j)))
    return order


def write_bvh(path: str | os.PathLike, clip: BvhClip, overwrite: bool = True) -> None:
    """Write atomically (:mod:`motion_core.files`): no half-written outputs."""
    if not np.all(np.isfinite(clip.values)):
        raise ValueError("refusing to write a BVH with NaN or infinite channel values")
    if clip.skeleton.num_channels == 0:
        raise ValueError(f"refusing to write {path}: its skeleton has no channels, so it would hold no motion")
    write_atomic(path, format_bvh(clip), overwrite)
