"""Rule packs (#4): validation, taboo interception, projected-gradient IK, priors, audit.

The generation tests check taboo domains from joint positions computed by a separate path (the
written BVH, re-read and run through plain forward kinematics), not from the code's own flags.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest

from motion_core.models.registry import SHIPPED
from motion_core.rigs.bvh import read_bvh
from motion_core.rigs.retarget import load_rig, motion_from_clip
from motion_core.rules.angles import local_matrices, measure, with_local
from motion_core.rules.ik import contact_slide_m, contacts, lock_feet, solve
from motion_core.rules.intercept import blend_to_pose, intercept, project_limits
from motion_core.rules.pack import RulePackError, builtin_packs, load_pack, parse_pack
from motion_core.skeleton import canonical
from motion_core.skeleton.kinematics import forward_kinematics
from motion_core.skeleton.rotations import axis_angle_to_matrix

from .conftest import BANDAI, need

PEACOCK = "dai-peacock-illustrative"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "motion_core", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def bvh_arm_angles(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From a written canonical-rig BVH alone: (T, 2) elbow flexion and wrist flexion in degrees
    (left, right), and (T, J, 3) joint positions. 0 = straight, as the peacock rule reads them."""
    clip = read_bvh(path)
    sk = clip.skeleton
    rots, trans = clip.local_transforms()
    g, pos = forward_kinematics(sk.parents, rots, trans)
    ends = {j: off for j, off in sk.end_sites}
    names = sk.names
    elbow, wrist = [], []
    for s in ("l_", "r_"):
        sh, el, wr = (names.index(s + n) for n in ("upper_arm", "forearm", "hand"))
        tip = pos[:, wr] + np.einsum("tij,j->ti", g[:, wr], ends[wr])

        def angle(a, b):
            a = a / np.linalg.norm(a, axis=-1, keepdims=True)
            b = b / np.linalg.norm(b, axis=-1, keepdims=True)
            return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1, 1)))
        elbow.append(angle(pos[:, el] - pos[:, sh], pos[:, wr] - pos[:, el]))
        wrist.append(angle(pos[:, wr] - pos[:, el], tip - pos[:, wr]))
    return np.stack(elbow, 1), np.stack(wrist, 1), pos


# --- packs ------------------------------------------------------------------------------------

def test_builtin_packs_validate_and_every_rule_names_a_known_source():
    names = builtin_packs()
    assert {"default-humanoid", PEACOCK, "seed002-symbol-and-colour-examples"} <= set(names)
    for name in names:
        p = load_pack(name)
        assert len(p.sha256) == 64
        for t in p.taboos:
            assert t.source in p.sources
        for rule in p.symbols + p.colour_rules:
            assert rule["source"] in p.sources
        assert all(src in p.sources or src == "default-humanoid" for src in p.limit_sources.values())
        if p.status == "illustrative":
            assert "AWAITING EXPERT REVIEW" in p.status_note
    peacock = load_pack(PEACOCK)
    assert [c.describe() for c in peacock.taboos[0].any_of[0]] == ["l_hand bend > 65 deg"]
    colours = load_pack("seed002-symbol-and-colour-examples")
    kinds = {c["kind"] for c in colours.colour_rules}
    assert kinds == {"avoid-combination", "restrict-to-gender", "context-meaning"}
    margins = {s["id"]: s["margin"] for s in colours.symbols}
    assert margins["tibetan-vajra-pestle"] == 1.2 and margins["zhuang-brocade-geometric"] == 0.8


def _peacock_data():
    from importlib import resources
    return json.loads(resources.files("motion_core.rules").joinpath("packs", PEACOCK + ".json").read_text())


@pytest.mark.parametrize("edit, key, fragment", [
    (lambda d: d["taboos"][0]["when_any"][0].update(joint="l_wirst"), "taboos[0].when_any[0].joint", "unknown joint"),
    (lambda d: d["taboos"][0]["when_any"][0].update(measure="twist"), "taboos[0].when_any[0].measure", "allowed: rot, bend"),
    (lambda d: d["taboos"][0]["when_any"][0].update(op="=>"), "taboos[0].when_any[0].op", "allowed"),
    (lambda d: d["taboos"][0].update(source="hearsay"), "taboos[0].source", "every rule names its source"),
    (lambda d: d["taboos"][0].pop("source"), "taboos[0].source", "every rule names its source"),
    (lambda d: d["taboos"][0].update(mask=["lower_limb"]), "taboos[0].mask", "overlaps 'preserve'"),
    (lambda d: d["taboos"][0].update(mask=["pelvis"]), "taboos[0].mask", "cannot be replaced"),
    (lambda d: d["reference"]["theta_ref"].update(l_forearm=[0, 0, 0]), "reference.theta_ref", "inside taboo"),
    (lambda d: d.update(joint_limits={"l_knee": {"x": [10, -10], "source": "seed002-eq10-11"}}),
     "joint_limits.l_knee.x", "min <= max"),
    (lambda d: d.update(joint_limits={"tail": {"x": [0, 1], "source": "seed002-eq10-11"}}), "joint_limits.tail",
     "unknown joint"),
    (lambda d: d.update(status="official"), "status", "allowed"),
    (lambda d: d.update(colour_rules=[{"id": "c", "kind": "paint", "source": "seed002-eq10-11"}]),
     "colour_rules[0].kind", "allowed"),
    (lambda d: d.update(extra=1), "extra", "unknown key"),
])
def test_validation_errors_name_file_key_value_and_what_is_allowed(tmp_path, edit, key, fragment):
    data = _peacock_data()
    edit(data)
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RulePackError) as e:
        load_pack(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: {key}") and fragment in msg, msg


def test_invalid_json_and_missing_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "heritage-motion-rules",\n "name": }')
    with pytest.raises(RulePackError, match=r"bad.json: line 2 column \d+: invalid JSON"):
        load_pack(bad)
    with pytest.raises(RulePackError, match="not a built-in pack"):
        load_pack(tmp_path / "none.json")


def test_aliases_and_descendant_closure():
    data = _peacock_data()
    data["taboos"][0]["mask"] = ["l_upper_arm"]
    pack = parse_pack(data, "x.json", load_pack("default-humanoid").limits)
    assert pack.taboos[0].mask == ("l_upper_arm", "l_forearm", "l_hand")


# --- real mocap ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dance():
    path = need(BANDAI / "dataset-1" / "data" / "dataset-1_dance-short_normal_001.bvh")
    rig, clip = load_rig(path)
    return motion_from_clip(clip, rig).resample(25).slice(0, 400)


def test_default_limits_hold_real_mocap():
    files = sorted((need(BANDAI / "dataset-1" / "data")).glob("*.bvh"))[::6]
    pack = load_pack("default-humanoid")
    inside = []
    for f in files:
        rig, clip = load_rig(f)
        rot = measure(motion_from_clip(clip, rig).resample(25))["rot"][:, 1:]
        inside.append(((rot >= pack.limits[1:, :, 0]) & (rot <= pack.limits[1:, :, 1])).all((1, 2)))
    share = np.concatenate(inside).mean()
    assert share > 0.98, share


def test_interception_removes_injected_taboo_and_leaves_the_rest_exactly(dance):
    pack = load_pack(PEACOCK)
    # inject a sharply bent left wrist (80 deg) on frames 100-139
    local = local_matrices(dance.global_matrices())
    hand = canonical.INDEX["l_hand"]
    local[100:140, hand] = axis_angle_to_matrix(np.array([0, 1.0, 0]), np.radians(-80.0))
    injected = with_local(dance, local, [hand])
    assert (measure(injected)["bend"][100:140, hand] > 65).all()
    out, records = intercept(injected, pack)
    bend = measure(out)["bend"]
    assert (bend[:, canonical.INDEX["l_hand"]] <= 65).all() and (bend[:, canonical.INDEX["r_hand"]] <= 65).all()
    assert (bend[:, canonical.INDEX["l_forearm"]] >= 20).all() and (bend[:, canonical.INDEX["r_forearm"]] >= 20).all()
    rec = records[0]
    assert rec.unresolved_frames == 0 and any(a <= 100 and b >= 140 for a, b in rec.runs)
    replaced = set(rec.joints)
    untouched = [j for j, n in enumerate(canonical.JOINTS) if n not in replaced]
    assert {"l_thigh", "l_shin", "l_foot", "pelvis", "head"}.isdisjoint(replaced)
    assert np.array_equal(out.rotations[:, untouched], injected.rotations[:, untouched])
    assert np.array_equal(out.positions()[:, untouched], injected.positions()[:, untouched])
    # blended, not popped: the arm's largest velocity change stays within 2x the clip's own
    v = rec.max_velocity_change_m_s
    assert v["after"] <= 2 * max(v["before"], 1.0), v


def test_blend_with_zero_weight_is_identity(dance):
    out = blend_to_pose(dance, np.zeros((dance.num_frames, len(canonical.JOINTS))), np.zeros((21, 3)))
    assert np.array_equal(out.rotations, dance.rotations)


def test_projection_brings_every_joint_inside_the_limits(dance):
    pack = load_pack("default-humanoid")
    local = local_matrices(dance.global_matrices())
    knee = canonical.INDEX["l_shin"]
    local[:50, knee] = axis_angle_to_matrix(np.array([0, 0, 1.0]), np.radians(60.0))  # knee sideways 60 deg
    bad = with_local(dance, local, [knee])
    out, records = project_limits(bad, pack)
    rot = measure(out)["rot"][:, 1:]
    assert ((rot >= pack.limits[1:, :, 0] - 1e-6) & (rot <= pack.limits[1:, :, 1] + 1e-6)).all()
    assert any(r["joint"] == "l_shin" and r["axis"] == "z" and r["frames"] >= 50 for r in records)


def test_projected_gradient_ik_reaches_reachable_targets(dance):
    m = dance.slice(0, 120)
    pack = load_pack("default-humanoid")
    rng = np.random.default_rng(1)
    chain = ["l_upper_arm", "l_forearm", "r_thigh", "r_shin"]
    cj = [canonical.INDEX[c] for c in chain]
    local = local_matrices(m.global_matrices())
    axes = rng.normal(size=(m.num_frames, len(cj), 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    local[:, cj] = local[:, cj] @ axis_angle_to_matrix(axes, np.radians(rng.uniform(0, 12, (m.num_frames, len(cj)))))
    truth = with_local(m, local, cj).positions()
    eff = ["l_forearm", "l_hand", "r_shin", "r_foot"]
    targets = {e: truth[:, canonical.INDEX[e]] for e in eff}
    before = max(np.linalg.norm(m.positions()[:, canonical.INDEX[e]] - targets[e], axis=-1).max() for e in eff)
    res = solve(m, targets, chain, pack, delta=0.01)
    after = max(np.linalg.norm(res.motion.positions()[:, canonical.INDEX[e]] - targets[e], axis=-1).max() for e in eff)
    assert before > 0.05 and after < 0.01 and res.converged.all()
    moved = {canonical.INDEX[n] for n in ("l_upper_arm", "l_forearm", "l_hand", "r_thigh", "r_shin", "r_foot", "r_toe")}
    untouched = [j for j in range(21) if j not in moved]
    assert np.array_equal(res.motion.rotations[:, untouched], m.rotations[:, untouched])
    rot = measure(res.motion)["rot"][:, 1:]
    assert ((rot >= pack.limits[1:, :, 0] - 1e-6) & (rot <= pack.limits[1:, :, 1] + 1e-6)).all()


def test_ik_never_steps_into_a_taboo_domain(dance):
    pack = load_pack(PEACOCK)
    m, _ = intercept(dance.slice(0, 60), pack)
    pos = m.positions()
    # pull the left hand towards a straight-arm position: the elbow would have to open below 20 deg
    sh, el, wr = (canonical.INDEX[n] for n in ("l_upper_arm", "l_forearm", "l_hand"))
    upper, fore = np.linalg.norm(m.tpose[el] - m.tpose[sh]), np.linalg.norm(m.tpose[wr] - m.tpose[el])
    goals = {"l_forearm": pos[:, sh] + [upper, 0, 0], "l_hand": pos[:, sh] + [upper + fore, 0, 0]}  # arm straight out
    free = solve(m, goals, ["l_upper_arm", "l_forearm"], load_pack("default-humanoid"), max_iter=60)
    elbow = canonical.INDEX["l_forearm"]
    assert (measure(free.motion)["bend"][:, elbow] < 20).mean() > 0.5  # the goal does ask for a taboo pose
    res = solve(m, goals, ["l_upper_arm", "l_forearm"], pack, max_iter=60)
    assert (measure(res.motion)["bend"][:, elbow] >= 20).all()
    assert res.rejected_taboo > 0


def test_foot_locks_reduce_skating_on_real_walk():
    path = need(BANDAI / "dataset-1" / "data" / "dataset-1_walk_normal_001.bvh")
    rig, clip = load_rig(path)
    m = motion_from_clip(clip, rig).resample(25)
    # add a slow 0.2 m/s drift to the whole body: planted feet now skate
    drift = np.zeros_like(m.root)
    drift[:, 0] = np.arange(m.num_frames) * 0.2 / 25
    from motion_core.skeleton.motion import Motion
    skating = Motion(m.rotations, m.root + drift, m.tpose, m.present, m.fps)
    planted = contacts(m)
    assert planted["l"].sum() > 20
    out, report = lock_feet(skating, load_pack("default-humanoid"))
    assert report["locks"] > 0
    assert contact_slide_m(out, contacts(skating)) < 0.5 * contact_slide_m(skating, contacts(skating))
    assert np.array_equal(out.root, skating.root)


# --- end to end: CLI -----------------------------------------------------------------------------

needs_model = pytest.mark.skipif(not SHIPPED.exists(), reason=f"no shipped model at {SHIPPED}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    pytest.importorskip("tokenizers", reason="needs the text encoder package (README setup)")
    if not SHIPPED.exists():
        pytest.skip(f"no shipped model at {SHIPPED}")
    out = tmp_path_factory.mktemp("gen")
    prompt = "a feminine dance, slow and graceful"  # 8 s of it enter the taboo domain unconstrained (57 frames)
    runs = {}
    for rules in ("default-humanoid", PEACOCK):
        bvh = out / f"{rules}.bvh"
        r = cli("generate", prompt, "--seconds", "8", "--seed", "0", "--rules", rules, "--out", bvh)
        assert r.returncode == 0, r.stderr
        runs[rules] = bvh
    return out, runs


@needs_model
def test_peacock_pack_leaves_no_taboo_frame_checked_from_positions(generated):
    _, runs = generated
    elbow0, wrist0, pos0 = bvh_arm_angles(runs["default-humanoid"])
    elbow, wrist, pos = bvh_arm_angles(runs[PEACOCK])
    taboo0 = (wrist0 > 65).any(1) | (elbow0 < 20).any(1)
    assert taboo0.sum() > 0, "the test needs an unconstrained clip that does enter the taboo domain"
    assert not ((wrist > 65 + 1e-6).any() or (elbow < 20 - 1e-6).any())
    # the lower limbs and the root follow the same trajectory with and without the pack
    names = read_bvh(runs[PEACOCK]).skeleton.names
    legs = [names.index(n) for n in names if n.split("_")[-1] in ("thigh", "shin", "foot", "toe") or n == "pelvis"]
    assert np.abs(pos[:, legs] - pos0[:, legs]).max() < 1e-4


@needs_model
def test_audit_records_the_three_stages(generated):
    out, runs = generated
    audit = json.loads((out / f"{PEACOCK}.audit.json").read_text())
    assert audit["format"] == "heritage-motion-audit"
    pre = audit["pre"]["rule_pack"]
    assert pre["name"] == PEACOCK and pre["status"] == "illustrative" and len(pre["sha256"]) == 64
    assert "AWAITING EXPERT REVIEW" in audit["pre"]["warning"]
    inter = audit["during"]["interceptions"]
    assert inter and inter[0]["rule"] == "peacock-male-gesture" and inter[0]["source"] == "seed002-eq10-11"
    assert inter[0]["runs"] and inter[0]["joints_replaced"]
    assert audit["after"]["before"]["taboo_frames"]["peacock-male-gesture"] > 0
    assert audit["after"]["after"]["taboo_frames"]["peacock-male-gesture"] == 0
    assert audit["request"]["seed"] == 0 and audit["model"]["file"]


@needs_model
def test_bad_pack_stops_generation_with_its_message(tmp_path):
    data = _peacock_data()
    data["taboos"][0]["when_any"][1]["joint"] = "right_wrist"
    pack = tmp_path / "p.json"
    pack.write_text(json.dumps(data))
    out = tmp_path / "x.bvh"
    r = cli("generate", "a dance", "--rules", pack, "--out", out)
    assert r.returncode == 1 and "taboos[0].when_any[1].joint = 'right_wrist': unknown joint" in r.stderr
    assert not out.exists() and not (tmp_path / "x.audit.json").exists()


@needs_model
def test_prior_from_the_sfu_clip_pulls_generation_towards_it(tmp_path):
    from .conftest import SFU
    clip = need(SFU / "0018_TraditionalChineseDance001.bvh")
    pack = tmp_path / "chinese-dance.json"
    r = cli("prior", "build", clip, "--out", pack, "--terms", "research and evaluation only")
    assert r.returncode == 0, r.stderr
    p = load_pack(pack)
    assert p.status == "user-reference" and p.prior is not None and "0018_TraditionalChineseDance001.bvh" in \
        p.sources["reference-clips"]["citation"]
    r = cli("generate", "a graceful dance", "--seconds", "6", "--rules", pack, "--out", tmp_path / "g.bvh")
    assert r.returncode == 0, r.stderr
    after = json.loads((tmp_path / "g.audit.json").read_text())["after"]
    assert after["after"]["prior"]["mean_angle_to_prior_deg"] < 0.8 * after["before"]["prior"]["mean_angle_to_prior_deg"]
    # the pack refuses to be overwritten
    r = cli("prior", "build", clip, "--out", pack)
    assert r.returncode == 1 and "exists" in r.stderr


def test_rules_cli_lists_and_validates(tmp_path):
    r = cli("rules", "list")
    assert r.returncode == 0 and PEACOCK in r.stdout and "illustrative" in r.stdout
    bad = tmp_path / "b.json"
    data = copy.deepcopy(_peacock_data())
    data["sources"] = {}
    bad.write_text(json.dumps(data))
    r = cli("rules", "validate", bad)
    assert r.returncode == 1 and "sources" in r.stderr


def test_rules_check_reports_real_clips_against_a_pack():
    clip = need(BANDAI / "dataset-1" / "data" / "dataset-1_dance-short_normal_001.bvh")
    r = cli("rules", "check", "dai-peacock-illustrative", clip)
    assert r.returncode == 0, r.stderr
    assert "dataset-1_dance-short_normal_001.bvh: 1584 frames" in r.stdout and "in taboo peacock-male-gesture" in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("total: 1584 frames at 25 fps; inside every joint limit")
    r = cli("rules", "check", "dai-peacock-illustrative")
    assert r.returncode == 1 and "give BVH files" in r.stderr
