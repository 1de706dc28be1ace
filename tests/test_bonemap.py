import json

import numpy as np
import pytest

from motion_core.rigs.bonemap import NotHumanoidError, build_bone_map, guess_family, load_override, split_side
from motion_core.rigs.builtin import NAMES, builtin_rig
from motion_core.rigs.bvh import read_bvh
from motion_core.rigs.hierarchy import Skeleton
from motion_core.skeleton import canonical


@pytest.mark.parametrize("name, side, core", [
    ("UpperArm_L", "L", "upperarm"), ("upper_arm.R", "R", "upperarm"), ("LeftForeArm", "L", "forearm"),
    ("mixamorig:RightUpLeg", "R", "upleg"), ("l_shin", "L", "shin"), ("L_Thigh", "L", "thigh"),
    ("LHipJoint", "L", "hipjoint"), ("RThumb", "R", "thumb"), ("DEF-forearm.L", "L", "forearm"),
    ("Hips", None, "hips"), ("spine.003", None, "spine003"), ("Bip01 L Foot", "L", "foot"),
    ("hand-l", "L", "hand"), ("HandLeft", "L", "hand"), ("Leg", None, "leg"),
])
def test_side_conventions(name, side, core):
    assert split_side(name) == (side, core)


def _tree(names_parents: list[tuple[str, str | None]], spread=True) -> Skeleton:
    names = [n for n, _ in names_parents]
    parents = [names.index(p) if p else -1 for _, p in names_parents]
    rng = np.random.default_rng(len(names))
    offs = rng.uniform(1, 5, (len(names), 3)) if spread else np.zeros((len(names), 3))
    return Skeleton(names, np.array(parents), offs)


def _limbs(fmt, spine_parent, pelvis):
    out = []
    for s in ("L", "R"):
        out += [(fmt("clav", s), spine_parent), (fmt("uarm", s), fmt("clav", s)), (fmt("farm", s), fmt("uarm", s)),
                (fmt("hand", s), fmt("farm", s)), (fmt("thigh", s), pelvis), (fmt("shin", s), fmt("thigh", s)),
                (fmt("foot", s), fmt("shin", s)), (fmt("toe", s), fmt("foot", s))]
    return out


STYLES = {
    # Blender's "Human" naming with .L/.R
    "dot": lambda p, s: {"clav": "shoulder", "uarm": "upper_arm", "farm": "forearm", "hand": "hand", "thigh": "thigh",
                         "shin": "shin", "foot": "foot", "toe": "toe"}[p] + "." + s,
    "underscore": lambda p, s: {"clav": "Clavicle", "uarm": "UpperArm", "farm": "LowerArm", "hand": "Hand",
                                "thigh": "UpperLeg", "shin": "LowerLeg", "foot": "Foot", "toe": "Toes"}[p] + "_" + s,
    "left": lambda p, s: ("Left" if s == "L" else "Right") + {"clav": "Shoulder", "uarm": "Arm", "farm": "ForeArm",
                                                                "hand": "Hand", "thigh": "UpLeg", "shin": "Leg",
                                                                "foot": "Foot", "toe": "ToeBase"}[p],
    "prefix_l": lambda p, s: s.lower() + "_" + {"clav": "clavicle", "uarm": "upperarm", "farm": "forearm",
                                                "hand": "hand", "thigh": "thigh", "shin": "calf", "foot": "foot",
                                                "toe": "ball"}[p],
    "prefix_L": lambda p, s: s + "_" + {"clav": "Collar", "uarm": "Shoulder", "farm": "Elbow", "hand": "Wrist",
                                        "thigh": "Hip", "shin": "Knee", "foot": "Ankle", "toe": "Toe"}[p],
}


@pytest.mark.parametrize("style", STYLES)
def test_auto_map_naming_conventions(style):
    fmt = STYLES[style]
    sk = _tree([("Hips", None), ("Spine", "Hips"), ("Chest", "Spine"), ("Neck", "Chest"), ("Head", "Neck")]
               + _limbs(fmt, "Chest", "Hips"))
    bm = build_bone_map(sk)
    assert bm.mapping["l_upper_arm"] == fmt("uarm", "L")
    assert bm.mapping["r_forearm"] == fmt("farm", "R")
    assert bm.mapping["l_clavicle"] == fmt("clav", "L")
    assert bm.mapping["r_shin"] == fmt("shin", "R")
    assert bm.mapping["l_toe"] == fmt("toe", "L")
    assert (bm.mapping["pelvis"], bm.mapping["chest"], bm.mapping["head"]) == ("Hips", "Chest", "Head")
    assert bm.unmapped == []


@pytest.mark.parametrize("rig", NAMES)
def test_builtin_rigs_map_every_canonical_joint(rig):
    r, _ = builtin_rig(rig)
    assert set(r.bone_map.mapping) == set(canonical.JOINTS)


def test_known_family_maps(bandai_dance, sfu_chinese_dance):
    b = build_bone_map(read_bvh(bandai_dance).skeleton)
    assert b.mapping["l_clavicle"] == "Shoulder_L" and b.mapping["l_upper_arm"] == "UpperArm_L"
    assert b.unmapped == ["joint_Root"]
    s = build_bone_map(read_bvh(sfu_chinese_dance).skeleton)
    assert s.mapping["chest"] == "Spine1" and s.mapping["l_toe"] == "LeftToeBase"
    assert sorted(s.unmapped) == sorted(["LeftHandThumb", "L_Wrist_End", "RightHandThumb", "R_Wrist_End"])
    cmu = builtin_rig("cmu")[0].bone_map
    assert cmu.mapping["spine"] == "Spine" and "LowerBack" in cmu.unmapped and "LHipJoint" in cmu.unmapped
    rig = builtin_rig("rigify")[0].bone_map
    assert (rig.mapping["pelvis"], rig.mapping["chest"], rig.mapping["neck"], rig.mapping["head"]) == \
        ("spine", "spine.003", "spine.004", "spine.006")
    assert guess_family(read_bvh(bandai_dance).skeleton.names).startswith("Bandai")


def test_blender_bvh_importer_armature_names_map_like_the_file(bandai_dance):
    # Blender's BVH importer names bones after the BVH joints; the map follows the names.
    names = read_bvh(bandai_dance).skeleton.names
    sk = read_bvh(bandai_dance).skeleton
    assert build_bone_map(Skeleton(names, sk.parents, sk.offsets)).mapping == build_bone_map(sk).mapping


def test_non_humanoid_is_refused_with_the_missing_joints():
    sk = _tree([("root", None), ("body", "root"), ("tail", "body"), ("Head", "body")])
    with pytest.raises(NotHumanoidError) as exc:
        build_bone_map(sk, rig_name="dragon")
    assert "l_upper_arm" in exc.value.missing and "r_foot" in exc.value.missing
    assert "dragon is not a humanoid" in str(exc.value) and "l_upper_arm" in str(exc.value)


def test_override_file(tmp_path):
    sk = builtin_rig("cmu")[0].skeleton
    f = tmp_path / "map.json"
    f.write_text(json.dumps({"spine": "LowerBack", "l_toe": None}))
    bm = build_bone_map(sk, load_override(f, sk))
    assert bm.mapping["spine"] == "LowerBack" and "l_toe" not in bm.mapping and "LeftToeBase" in bm.unmapped
    f.write_text(json.dumps({"left_arm": "LeftArm"}))
    with pytest.raises(ValueError, match=r"map.json: key 'left_arm' is not a canonical joint"):
        load_override(f, sk)
    f.write_text(json.dumps({"l_hand": "LeftPaw"}))
    with pytest.raises(ValueError, match=r"'l_hand' maps to 'LeftPaw', which is not a joint"):
        load_override(f, sk)
    f.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read bone-map override"):
        load_override(f, sk)
