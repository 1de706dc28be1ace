"""Symbol binding on the costume (seed 002 section 5.1, eq. 9), bpy glue over motion_core.patterns.symbols.

    T = G(F_vis) * I_base + eps(t) M_symbol

On the dressed bodice material, the base pattern (I_base, the image texture DressCostume made)
and a symbol texture (M_symbol: the bank's prototype least like the base, for contrast, in the
palette's inverted colours) meet in a Mix node (Add) whose factor is eps(t), keyed with constant
interpolation: 0, then 1 at each trigger frame for SYMBOL_HOLD_S. G(F_vis), the seed's Gaussian
pyramid guided by the visual features, is the identity here (the texture is used as it is).
EEVEE and Cycles show the keyed change; Workbench's texture mode shows the base texture only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from .costume import pattern_image
from .motion_core import config
from .motion_core.patterns import symbols
from .motion_core.patterns.bank import PatternBank
from .motion_core.patterns.costume import PartChoice, texture_path
from .motion_core.pipeline import Job
from .motion_core.skeleton.motion import Motion

MIX_NODE = "HM Symbol eps(t)"
#: custom property of a generated dance's action: its symbol schedule (JSON), for Animate Pattern
SCHEDULE_KEY = "heritage_motion_symbols"
SYMBOL_PART = "HM Bodice"


def _socket(sockets, identifier: str):
    return next(s for s in sockets if s.identifier == identifier)


def key_epsilon(mat: bpy.types.Material, eps: np.ndarray, frame_start: int, time_scale: float = 1.0) -> int:
    """Key the Mix node's factor to eps(t) (constant interpolation, only where it changes). Returns keys."""
    nt = mat.node_tree
    assert nt is not None  # add_symbol put the Mix node in this material's node tree
    node = nt.nodes[MIX_NODE]
    sock = _socket(node.inputs, "Factor_Float")
    path = f'nodes["{MIX_NODE}"].inputs[{list(node.inputs).index(sock)}].default_value'
    change = [0] + [t for t in range(1, len(eps)) if eps[t] != eps[t - 1]]
    action = bpy.data.actions.new(f"{mat.name} eps(t)")
    ad = nt.animation_data or nt.animation_data_create()
    ad.action = action
    if hasattr(action, "fcurve_ensure_for_datablock"):  # 4.4+: layered actions
        fc = action.fcurve_ensure_for_datablock(nt, path, index=0)
    else:
        fc = action.fcurves.new(path, index=0)
    fc.keyframe_points.add(len(change))
    co = np.empty(2 * len(change), np.float32)
    co[0::2] = np.asarray(change, np.float32) * time_scale + frame_start
    co[1::2] = eps[change]
    fc.keyframe_points.foreach_set("co", co)
    fc.keyframe_points.foreach_set("interpolation", [0] * len(change))  # 0 = CONSTANT
    fc.update()
    return len(change)


def add_symbol(mat: bpy.types.Material, symbol_img: bpy.types.Image) -> None:
    """Insert eq. 9's ``+ eps(t) M_symbol`` between the base texture and the shader."""
    nt = mat.node_tree
    assert nt is not None  # a dressed pattern material (costume.pattern_material) has a node tree
    base = next(n for n in nt.nodes if n.type == "TEX_IMAGE")  # type: ignore[comparison-overlap]  # the 3.4 stub types Node.type as "CUSTOM" only
    bsdf = nt.nodes.get("Principled BSDF")
    sym = nt.nodes.new("ShaderNodeTexImage")
    sym.name = "HM Symbol texture"
    sym.image = symbol_img  # type: ignore[attr-defined]  # nodes.new returns the base Node; this is an image node
    sym.extension = "REPEAT"  # type: ignore[attr-defined]  # over the whole part, half a repeat off the base pattern
    coord = nt.nodes.new("ShaderNodeTexCoord")
    mapping = nt.nodes.new("ShaderNodeMapping")
    mapping.inputs["Location"].default_value = (0.5, 0.5, 0.0)  # type: ignore[attr-defined]  # default_value is on the typed socket subclasses
    nt.links.new(coord.outputs["UV"], mapping.inputs["Vector"])
    nt.links.new(mapping.outputs["Vector"], sym.inputs["Vector"])
    mix = nt.nodes.new("ShaderNodeMix")
    mix.name = MIX_NODE
    mix.data_type = "RGBA"  # type: ignore[attr-defined]  # a ShaderNodeMix (not in the 3.4 stub as returned by nodes.new)
    mix.blend_type = "ADD"  # type: ignore[attr-defined]  # (as above)
    _socket(mix.inputs, "Factor_Float").default_value = 0.0
    nt.links.new(base.outputs["Color"], _socket(mix.inputs, "A_Color"))
    nt.links.new(sym.outputs["Color"], _socket(mix.inputs, "B_Color"))
    if bsdf is not None:
        nt.links.new(_socket(mix.outputs, "Result_Color"), bsdf.inputs["Base Color"])


@dataclass
class BindSymbols:
    """Key a symbol change on the dressed bodice where d h_sem/dt > 0.35 (needs DressCostume first).
    job.extra["symbols"] and the audit's costume section get the schedule."""

    bank: PatternBank
    bank_path: Path
    model: symbols.MotionSemantic
    frame_start: int = 1
    name: str = "symbols"

    def __call__(self, job: Job) -> None:
        assert job.motion is not None and "costume" in job.extra, "BindSymbols needs a motion and DressCostume"
        costume = job.extra["costume"]
        if not costume.get("dressed"):
            return  # nothing was dressed (no costume slots): no material to key
        part = next((p for p in costume["parts"] if p["part"] == SYMBOL_PART), costume["parts"][0])
        mat = bpy.data.materials[part["material"]]
        sched = symbols.schedule(job.motion.positions(), self.model, job.motion.fps)
        used = {p["prototype"] for p in costume["parts"]}
        order = np.argsort(self.bank.prototypes @ self.bank.prototypes[part["prototype"]])  # least like the base first
        proto = next((int(i) for i in order if int(i) not in used), int(order[0]))
        choice = PartChoice("HM Symbol", proto, 0.0, texture_path(self.bank, self.bank_path, int(self.bank.medoid[proto])),
                            self.bank.provenance(proto), tuple(part["ink_srgb"]), tuple(part["ground_srgb"]), 0.0)
        add_symbol(mat, pattern_image(choice, f"{mat.name} symbol"))
        retimed = float(job.extra.get("retimed", 1.0))
        keys = key_epsilon(mat, sched.eps, self.frame_start, retimed)
        record = {**sched.to_json(), "material": mat.name, "keys": keys, "symbol_prototype": proto,
                  "symbol": choice.provenance["representative"], "frame_start": self.frame_start,
                  "equation": "T = G(F_vis) * I_base + eps(t) M_symbol (seed 002 eq. 9 of section 5.1); G = identity",
                  "lag_goal_s": config.SYMBOL_LAG_GOAL_S}
        job.extra["symbols"] = record
        costume["symbols"] = record


def store_schedule(action: bpy.types.Action, motion: Motion, frame_start: int,
                   time_scale: float = 1.0) -> dict[str, Any] | None:
    """The dance's symbol schedule, from its canonical motion (as BindSymbols computes it), stored on
    its action as JSON under SCHEDULE_KEY for Animate Pattern's "Symbol schedule" driver. None (and
    nothing stored) without the motion-semantic weights."""
    if not symbols.WEIGHTS.exists():
        return None
    sched = symbols.schedule(motion.positions(), symbols.load_motion_semantic(), motion.fps)
    record = {**sched.to_json(), "frame_start": int(frame_start), "time_scale": float(time_scale),
              "frames": int(motion.num_frames)}
    action[SCHEDULE_KEY] = json.dumps(record)
    return record
