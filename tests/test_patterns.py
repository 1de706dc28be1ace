"""Pattern memory (seed 002 sections 3 and 5): damage simulator, numpy encoder against torch, banks
(prototypes, provenance, licences), colour rules, costume plans and the user's own library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motion_core import config
from motion_core.patterns import damage as dmg
from motion_core.patterns.bank import PatternBank, kmeans_pp, purity
from motion_core.patterns.colour import DEFAULT_PALETTE, apply_colour_rules, colour_name, ink_share, recolour
from motion_core.patterns.costume import SHIPPED_BANK, SHIPPED_DIR, load_bank, plan_costume
from motion_core.patterns.encoder import load_encoder
from motion_core.patterns.library import LibraryError, build_library, to_square
from motion_core.rules.audit import AuditRecord
from motion_core.rules.pack import load_pack

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "patterns"


def _data():
    if not DATA.exists():
        pytest.skip(f"needs {DATA} (the shared pattern data beside the checkout); not present here")
    return DATA


@pytest.fixture(scope="module")
def bank() -> PatternBank:
    return load_bank()


@pytest.fixture(scope="module")
def text():
    from motion_core.text.encoder import load_text_encoder
    return load_text_encoder()


# --- damage ----------------------------------------------------------------------------------

def _crest(size=64):
    y, x = np.mgrid[0:size, 0:size]
    ring = np.abs(np.hypot(y - size / 2, x - size / 2) - size / 3) < size / 12
    img = np.ones((size, size, 3), np.float32) * 0.95
    img[ring] = 0.05
    return img


def test_damage_is_seeded_and_bounded():
    img = _crest()
    a, b, c = dmg.damage(img, 3), dmg.damage(img, 3), dmg.damage(img, 4)
    assert a.shape == img.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1


def test_each_kind_of_wear_does_what_it_says():
    img = _crest()
    rng = np.random.default_rng
    faded = dmg.fade(img, rng(0), fade_dose=1.5, yellowing=0.0)
    ink = img[..., 0] < 0.5
    assert faded[ink].mean() > img[ink].mean() + 0.05  # ink loses density
    # spectral model: short wavelengths fade fastest, so faded black ink is bluest
    assert faded[ink][:, 2].mean() > faded[ink][:, 0].mean()
    yellowed = dmg.fade(img, rng(0), fade_dose=0.0, yellowing=1.0)
    paper = ~ink
    assert yellowed[paper][:, 2].mean() < yellowed[paper][:, 0].mean()  # paper warms
    holes = dmg.insect_holes(img, rng(1), holes=8)
    assert (np.abs(holes - img).sum(-1) > 0.3).mean() > 0.002
    occluded = dmg.occlude(img, rng(2), occlusion=1.0, abrasion=0.0)
    assert (np.abs(occluded - img).sum(-1) > 0.02).mean() > 0.03  # the verso and the fold shadow
    mouldy = dmg.mould(img, rng(3), mould=1.0)
    assert (mouldy[paper][:, 2] < img[paper][:, 2] - 0.02).mean() > 0.01
    with pytest.raises(ValueError):
        dmg.damage(np.zeros((8, 8)), 0)


# --- banks -----------------------------------------------------------------------------------

def test_kmeans_pp_and_purity():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 16)
    x = centres[np.repeat(np.arange(4), 20)] + 0.05 * rng.normal(size=(80, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    c, assign = kmeans_pp(x, 4, seed=1)
    labels = [str(i) for i in np.repeat(np.arange(4), 20)]
    assert purity(assign, labels) == 1.0
    assert purity(np.zeros(80, int), labels) == 0.25
    assert purity(np.array([0, 0, 1]), ["a", None, "b"]) == 1.0  # unlabelled left out
    assert kmeans_pp(x[:3], 128)[0].shape == (3, 16)  # K capped at N


def test_numpy_encoder_agrees_with_torch():
    torch = pytest.importorskip("torch")
    from training.patterns.model import PatternNet

    path = SHIPPED_DIR / "pattern_encoder.npz"
    z = np.load(path)
    net = PatternNet()
    net.load_state_dict({k: torch.from_numpy(z[k].astype(np.float32)) for k in z.files if not k.startswith("meta_")})
    x = np.random.default_rng(0).integers(0, 256, (6, 64, 64, 3)).astype(np.uint8)
    with torch.no_grad():
        f_t, s_t = net(torch.from_numpy(x.astype(np.float32) / 255))
    f, s = load_encoder(path).encode(x)
    assert np.abs(f - f_t.numpy()).max() < 1e-4 and np.abs(s - s_t.numpy()).max() < 1e-4


def test_shipped_bank_is_kamon_only_and_traceable(bank):
    assert len(bank.prototypes) == 128 and bank.info["data"] == "kamon"
    assert "CC BY-SA 4.0" in bank.info["notice"]
    notice = (SHIPPED_DIR / "PATTERNS_NOTICE.md").read_text()
    assert "CC BY-SA 4.0" in notice and (SHIPPED_DIR / "LICENSE-CC-BY-SA-4.0.txt").exists()
    assert all(it["dataset"] == "kamon" and it["path"].startswith("kamon/") for it in bank.items)
    assert all(it.get("licence") and it.get("source") for it in bank.items)
    for j in range(len(bank.prototypes)):
        prov = bank.provenance(j)
        assert prov["members"] >= 1 and sum(prov["licences"].values()) == prov["members"]
        rep = bank.items[int(bank.medoid[j])]
        assert rep["source"] in ("edo", "edo-undescribed")  # only CC BY-SA prints ship as images
        assert (SHIPPED_DIR / rep["texture"]).exists()
    shipped = {p.name for p in SHIPPED_DIR.rglob("*") if p.is_file()}
    assert not any("batik" in n.lower() or "decor" in n.lower() for n in shipped)


def test_memory_weights_and_gate(bank):
    f, s = bank.vis[:3], bank.sem[:3]
    w = bank.memory_weights(f, "vis")
    assert w.shape == (3, 128) and np.allclose(w.sum(1), 1)
    g = bank.gate(f, s)
    assert ((g > 0) & (g < 1)).all()
    assert (bank.gate(f, None) == 1).all() and (bank.gate(None, s) == 0).all()
    top = bank.retrieve(f, s, k=5)
    assert top.shape == (3, 5) and (top[:, 0] == np.arange(3)).all()  # an item finds itself first


def test_text_retrieves_its_crests_on_real_data(bank, text):
    """A kamon name in English finds prototypes whose members carry that charge."""
    hits = 0
    queries = {"paulownia crest with three flower stalks": "kiri", "tomoe: swirling commas in a circle": "tomoe",
               "hollyhock leaves crest": "aoi", "wisteria flowers crest": "fuji"}
    for q, label in queries.items():
        protos = bank.prototypes_for_text(text.encode([q])[0], k=3)
        hits += any(label in bank.provenance(p)["labels"] for p in protos)
    assert hits >= 3, hits


# --- colour rules and the costume plan -------------------------------------------------------

def test_colour_names():
    assert colour_name((0.02, 0.02, 0.02)) == "black"
    assert colour_name((0.95, 0.85, 0.2)) == "yellow"
    assert colour_name((0.8, 0.1, 0.1)) == "red"
    assert colour_name((0.1, 0.15, 0.6)) == "blue"


def test_colour_rules_applied_with_sources():
    pack = load_pack("seed002-symbol-and-colour-examples")
    pal, report = apply_colour_rules(DEFAULT_PALETTE, pack.colour_rules, pack.name, pack.status, "a funeral dance")
    by = {r["rule"]: r for r in report}
    assert by["jingpo-menao-no-black-yellow"]["status"] == "applied"
    names = {colour_name(c) for g, i in pal.values() for c in (g, i)}
    assert not {"black", "yellow"} <= names
    assert by["han-red-wedding-funeral"]["status"] == "applied" and "red" not in names
    assert by["yi-tiger-totem-male-only"]["status"] == "not applicable"
    assert all(r["source"] and r["pack_status"] == "illustrative" for r in report)
    _, report = apply_colour_rules(DEFAULT_PALETTE, pack.colour_rules, pack.name, pack.status, "a wedding dance")
    assert {r["rule"]: r for r in report}["han-red-wedding-funeral"]["status"] == "checked"


def test_costume_plan_and_audit_round_trip(bank, text):
    pack = load_pack("default-humanoid")
    plan = plan_costume("a proud dance", text.encode(["a proud dance"])[0], bank, pack)
    rec = plan.to_audit()
    assert [p["part"] for p in rec["parts"]] == list(DEFAULT_PALETTE)
    assert len({p["prototype"] for p in rec["parts"]}) == 4
    for p in rec["parts"]:
        assert p["representative"]["licence"].startswith("CC BY-SA 4.0") and (SHIPPED_DIR / "textures" / p["texture"]).exists()
    assert rec["colour_rules"] == [] and "no colour rules" in rec["colour_rules_note"]
    assert "illustrative" in rec["warning"]
    from motion_core.rules.audit import Compliance, During
    c = Compliance(1, {}, 0, 1.0)
    a = AuditRecord({"prompt": "x"}, None, {}, pack.summary(), [], "", During(), c, c, costume=rec)
    back = AuditRecord.from_json(json.loads(json.dumps(a.to_json())))
    assert back.costume == json.loads(json.dumps(rec))


def test_recolour_ink_share():
    img = _crest()
    ink = ink_share(img)
    assert ink[img[..., 0] < 0.5].min() > 0.9 and ink[img[..., 0] > 0.5].max() < 0.1
    rgba = recolour(ink, (1, 0, 0), (0, 0, 1))
    assert rgba.shape == (64, 64, 4) and np.allclose(rgba[img[..., 0] > 0.5][:, :3], (1, 0, 0), atol=0.1)


# --- the user's own library ------------------------------------------------------------------

def _write_library(folder: Path, n: int = 6, data: Path | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    from PIL import Image
    lines = []
    srcs = sorted((data / "kamon" / "edo").glob("*.jpg"))[:n] if data else []
    for i in range(n):
        name = f"p{i}.png"
        if srcs:
            Image.open(srcs[i]).save(folder / name)
        else:
            Image.fromarray((_crest() * 255).astype(np.uint8)).save(folder / name)
        lines.append(json.dumps({"image": name, "caption": ["a ring crest", "a leaf crest"][i % 2],
                                 "culture": "Japanese", "licence": "CC BY-SA 4.0"}))
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n")


def test_library_builds_from_folder(tmp_path, text):
    pytest.importorskip("PIL")
    data = _data()
    _write_library(tmp_path / "lib", 6, data)
    enc = load_encoder(SHIPPED_DIR / "pattern_encoder.npz")
    steps = []
    bank = build_library(tmp_path / "lib", tmp_path / "out" / "mine.npz", enc, text, progress=lambda f, m: steps.append(f))
    assert len(bank.items) == 6 and len(bank.prototypes) == 6 and len(bank.concepts) == 2
    assert steps[-1] == 1.0 and steps == sorted(steps)
    again = PatternBank.load(tmp_path / "out" / "mine.npz")
    assert again.items[0]["licence"] == "CC BY-SA 4.0" and Path(again.items[0]["path"]).exists()
    top = again.prototypes_for_text(text.encode(["a leaf crest"])[0], k=1)[0]
    assert again.items[int(again.medoid[top])]["caption"] == "a leaf crest"


@pytest.mark.parametrize("breakage", ["no captions", "no images", "unreadable", "missing field", "uncaptioned"])
def test_bad_library_folder_one_message_nothing_written(tmp_path, text, breakage):
    pytest.importorskip("PIL")
    lib = tmp_path / "lib"
    _write_library(lib, 3)
    if breakage == "no captions":
        (lib / "captions.jsonl").unlink()
    elif breakage == "no images":
        for p in lib.glob("*.png"):
            p.unlink()
    elif breakage == "unreadable":
        (lib / "p1.png").write_bytes(b"not an image")
    elif breakage == "missing field":
        lines = (lib / "captions.jsonl").read_text().splitlines()
        lines[0] = json.dumps({"image": "p0.png", "caption": "x"})
        (lib / "captions.jsonl").write_text("\n".join(lines))
    else:
        (lib / "extra.png").write_bytes((lib / "p0.png").read_bytes())
    out = tmp_path / "out"
    with pytest.raises(LibraryError) as e:
        build_library(lib, out / "bank.npz", load_encoder(SHIPPED_DIR / "pattern_encoder.npz"), text)
    assert "nothing was written" in str(e.value)
    assert not out.exists() or not any(out.iterdir())


def test_to_square_pads_and_resizes():
    a = np.zeros((10, 30, 4), np.float32)
    a[..., 3] = 1
    sq = to_square(a, 16)
    assert sq.shape == (16, 16, 3) and sq.dtype == np.uint8


def test_seed_constants_used():
    from training.patterns.train import concepts_for
    cs = concepts_for({"kamon"})
    assert {c["margin"] for c in cs} == {config.MARGIN_SACRED, config.MARGIN_DECORATIVE}
    assert SHIPPED_BANK.exists()


# --- symbol binding (seed 002 section 5.1) ---------------------------------------------------

def test_window_features_ignore_heading_and_place():
    from motion_core.patterns.symbols import window_features
    rng = np.random.default_rng(0)
    pose = np.cumsum(rng.normal(0, 0.01, (60, 21, 3)), axis=0) + rng.normal(0, 0.3, (1, 21, 3))
    a = np.deg2rad(70)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    moved = pose @ rot.T + np.array([3.0, -2.0, 0.5])
    assert np.allclose(window_features(pose), window_features(moved), atol=1e-4)
    assert window_features(pose).shape == (60, 128)


def test_triggers_and_epsilon():
    from motion_core.patterns.symbols import epsilon, semantic_rate, triggers
    rate = np.zeros(100)
    rate[[20, 22, 60]] = [0.5, 0.9, 0.3]
    assert triggers(rate) == [22]  # 20 is within the minimum gap of the stronger 22; 60 is under 0.35
    assert config.SYMBOL_RATE_THRESHOLD == 0.35
    e = epsilon(100, [22])
    assert e[21] == 0 and e[22] == 1 and e[22 + int(config.SYMBOL_HOLD_S * config.FPS)] == 0
    h = np.tile(np.eye(1, 384), (5, 1))
    assert semantic_rate(h).max() == 0


def test_symbol_schedule_on_a_generated_dance(text):
    from motion_core.models.generate import generate
    from motion_core.models.registry import SHIPPED, load_model
    from motion_core.patterns.symbols import WEIGHTS, load_motion_semantic, schedule
    if not SHIPPED.exists() or not WEIGHTS.exists():
        pytest.skip(f"needs {SHIPPED} and {WEIGHTS}")
    g = generate("a proud bow", 6, 0, load_model(), text)
    s = schedule(g.motion.positions(), load_motion_semantic())
    assert len(s.rate) == g.motion.num_frames and s.triggers
    assert all(s.rate[t] > config.SYMBOL_RATE_THRESHOLD for t in s.triggers)
    assert s.eps.max() == 1 and s.to_json()["trigger_frames"] == s.triggers


def test_cli_patterns_build_and_query(tmp_path, capsys):
    pytest.importorskip("PIL")
    from motion_core import cli
    _write_library(tmp_path / "lib", 4)
    assert cli.main(["patterns", "build", str(tmp_path / "lib"), "--out", str(tmp_path / "b.npz")]) == 0
    out = capsys.readouterr().out
    assert "[100%]" in out and "4 images" in out
    assert cli.main(["patterns", "build", str(tmp_path / "lib"), "--out", str(tmp_path / "b.npz")]) == 1  # exists
    assert cli.main(["patterns", "query", "a leaf crest", "--bank", str(tmp_path / "b.npz"), "--k", "1"]) == 0
    assert "a leaf crest" in capsys.readouterr().out
    (tmp_path / "bad").mkdir()
    assert cli.main(["patterns", "build", str(tmp_path / "bad"), "--out", str(tmp_path / "c.npz")]) == 1
    err = capsys.readouterr().err
    assert "captions.jsonl is missing" in err and "nothing was written" in err
    assert not (tmp_path / "c.npz").exists() and not (tmp_path / "c.json").exists()
