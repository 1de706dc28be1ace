"""Scenarios for the add-on as a user gets it: installed from the built zip and enabled.

Run inside Blender by ``run_addon.py`` (the bpy 5.0.1 module under pytest, and Debian's
``blender -b`` 3.4.1). Nothing here imports the repository's ``addon`` or ``motion_core``: every
call goes through ``bpy.ops.heritage_motion.*`` or the installed package. Each function raises
AssertionError on failure.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import bpy

# bpy-only helpers: scenarios.py imports nothing of the repository at module level
from scenarios import fcurves, import_bvh, movie_info


def _fresh():
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)  # keeps the add-on enabled


def _state():
    return (sorted(bpy.data.actions.keys()), sorted(bpy.data.objects.keys()),
            {o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects})


def refused(call, fragment: str) -> None:
    """An operator called from Python that reports an ERROR raises RuntimeError with the report."""
    try:
        result = call()
    except RuntimeError as e:
        assert fragment in str(e), e
        return
    raise AssertionError(f"expected an error report containing {fragment!r}, got {result}")


def installed(module: str, addon_dir: Path) -> None:
    assert hasattr(bpy.ops.heritage_motion, "generate") and hasattr(bpy.ops.heritage_motion, "add_dancer")
    pkg = importlib.import_module(module)
    core = importlib.import_module(module + ".motion_core")
    assert Path(core.__file__).resolve().is_relative_to(addon_dir.resolve()), (core.__file__, addon_dir)
    assert Path(pkg.__file__).resolve().is_relative_to(addon_dir.resolve())
    assert "torch" not in __import__("sys").modules
    if bpy.app.version >= (4, 2, 0):
        assert pkg._cli is not None, "the command-line entry (blender --command heritage_motion) is registered"


def add_dancer_and_generate() -> None:
    _fresh()
    assert bpy.ops.heritage_motion.add_dancer() == {"FINISHED"}
    arm = bpy.context.active_object
    assert arm.type == "ARMATURE"
    body = next(o for o in bpy.data.objects if o.parent == arm and o.type == "MESH")
    slots = [s.material.name for s in body.material_slots]
    assert {"HM Skin", "HM Bodice", "HM Skirt", "HM Sleeves", "HM Headdress"} <= {n.split(".")[0] for n in slots}, slots
    assert any(m.type == "ARMATURE" and m.object == arm for m in body.modifiers)
    assert len(body.data.polygons) > 10000 and "UVMap" in body.data.uv_layers  # MakeHuman's body, with UVs
    assert "spine.004" in arm.data.bones and "toe.L" in arm.data.bones
    skin = next(s.material for s in body.material_slots if s.material.name.startswith("HM Skin"))
    assert any(n.bl_idname == "ShaderNodeBsdfPrincipled" for n in skin.node_tree.nodes)
    assert any(n.bl_idname == "ShaderNodeBump" for n in skin.node_tree.nodes)  # MPFB2's pore bump
    height = max(v.co.z for v in body.data.vertices)
    # the shape from the panel: a tall masculine dancer is taller; the stand-in is light
    s = bpy.context.scene.heritage_motion
    s.body, s.height = 1.0, 1.0
    assert bpy.ops.heritage_motion.add_dancer() == {"FINISHED"}
    tall = next(o for o in bpy.data.objects if o.parent == bpy.context.active_object and o.type == "MESH")
    assert max(v.co.z for v in tall.data.vertices) > height + 0.15
    assert bpy.ops.heritage_motion.add_dancer(standin=True) == {"FINISHED"}
    light = next(o for o in bpy.data.objects if o.parent == bpy.context.active_object and o.type == "MESH")
    assert len(light.data.polygons) < 2000
    s.body, s.height = 0.0, 0.5
    bpy.context.view_layer.objects.active = arm
    r = bpy.ops.heritage_motion.generate(prompt="a feminine peacock dance, slow", seconds=3, seed=1,
                                         rules="dai-peacock-illustrative")
    assert r == {"FINISHED"}, r
    action = arm.animation_data.action
    assert action.name.startswith("HM a feminine peacock dance")
    curves = fcurves(action)
    assert curves and all(len(fc.keyframe_points) == 75 for fc in curves)
    assert bpy.context.scene.render.fps == 25 and bpy.context.scene.render.fps_base == 1.0
    audit = json.loads(action["heritage_motion_audit"])
    assert audit["pre"]["rule_pack"]["name"] == "dai-peacock-illustrative"
    assert audit["after"]["after"]["taboo_frames"]["peacock-male-gesture"] == 0
    assert audit["request"]["seed"] == 1 and audit["request"]["frames"] == 75
    # the dancer really moves: the left hand travels between frames 1 and 60
    hand = "hand.L"
    bpy.context.scene.frame_set(1)
    a = arm.pose.bones[hand].head.copy()
    bpy.context.scene.frame_set(60)
    assert (arm.pose.bones[hand].head - a).length > 0.01
    # a second dance never replaces the first: it stays, with a fake user so saving keeps it
    first = action.name
    assert bpy.ops.heritage_motion.generate(prompt="a proud bow", seconds=2) == {"FINISHED"}
    assert arm.animation_data.action.name != first and bpy.data.actions[first].use_fake_user
    # NLA: the dance goes on a strip and the active action stays
    active = arm.animation_data.action.name
    assert bpy.ops.heritage_motion.generate(prompt="a happy wave", seconds=2, use_nla=True) == {"FINISHED"}
    assert arm.animation_data.action.name == active
    strips = [s for t in arm.animation_data.nla_tracks for s in t.strips]
    assert strips and strips[-1].action.name.startswith("HM a happy wave")
    # a scene at 30 fps that keeps its rate: keys are spaced so the dance keeps its speed
    bpy.context.scene.render.fps = 30
    assert bpy.ops.heritage_motion.generate(prompt="a proud bow", seconds=2, scene_fps="KEEP") == {"FINISHED"}
    fc = fcurves(arm.animation_data.action)[0]
    xs = [k.co.x for k in fc.keyframe_points]
    assert bpy.context.scene.render.fps == 30 and abs((xs[1] - xs[0]) - 1.2) < 1e-4, xs[:3]


def dress_dancer_and_a_users_mesh() -> None:
    """Dress Dancer: the default dancer's four costume slots get new pattern materials (the old ones
    kept), the audit of its action names the patterns; a user's mesh gets only its active slot dressed."""
    _fresh()
    bpy.ops.heritage_motion.add_dancer()
    arm = bpy.context.active_object
    body = next(o for o in bpy.data.objects if o.parent == arm and o.type == "MESH")
    assert bpy.ops.heritage_motion.generate(prompt="a proud bow", seconds=1) == {"FINISHED"}
    before = {m.name for m in bpy.data.materials}
    bpy.context.scene.heritage_motion.pattern_query = "paulownia crest"
    assert bpy.ops.heritage_motion.dress_dancer() == {"FINISHED"}
    names = [sl.material.name for sl in body.material_slots]
    assert names[0].startswith("HM Skin") and all(n.startswith("HM Pattern ") for n in names[1:]), names
    assert before <= {m.name for m in bpy.data.materials}  # nothing removed or renamed
    assert all(bpy.data.materials[n].use_fake_user for n in before if n.startswith("HM ") and n != "HM Skin")
    audit = json.loads(arm.animation_data.action["heritage_motion_audit"])
    parts = audit["costume"]["parts"]
    assert audit["costume"]["query"] == "paulownia crest" and len(parts) == 4
    assert all(p["representative"]["licence"].startswith("CC BY-SA 4.0") for p in parts)
    tex = next(n for n in body.material_slots[1].material.node_tree.nodes if n.type == "TEX_IMAGE")
    assert tex.image is not None and tex.image.size[0] > 0
    # a user's own mesh (with UVs): only its active slot, a new material; the user's stays untouched
    _fresh()
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    mine, other = bpy.data.materials.new("My Red"), bpy.data.materials.new("My Blue")
    mine.diffuse_color = (1, 0, 0, 1)
    cube.data.materials.append(mine)
    cube.data.materials.append(other)
    cube.active_material_index = 0
    uvs = len(cube.data.uv_layers)
    assert bpy.ops.heritage_motion.dress_dancer(slots="ACTIVE") == {"FINISHED"}
    assert cube.material_slots[0].material.name.startswith("HM Pattern ") and cube.material_slots[1].material == other
    assert mine.use_fake_user and tuple(mine.diffuse_color) == (1, 0, 0, 1) and len(cube.data.uv_layers) == uvs
    assert "heritage_motion_costume" in cube
    assert any(n.type == "MAPPING" for n in cube.material_slots[0].material.node_tree.nodes)  # tiles on the user's UVs


def pattern_library_and_preview(tmp: Path) -> None:
    """Build a library from a folder through bpy.data.images (no Pillow in Blender), use it, preview the
    prototypes as a grid image; a bad folder is refused with one message and leaves nothing behind."""
    _fresh()
    lib = tmp / "my-patterns"
    lib.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, rgb in enumerate([(0.8, 0.1, 0.1), (0.1, 0.2, 0.8), (0.9, 0.8, 0.2)]):
        img = bpy.data.images.new(f"p{i}", 32, 24)
        px = [c for y in range(24) for x in range(32) for c in ((*rgb, 1.0) if (x // 4 + y // 4) % 2 else (1, 1, 1, 1))]
        img.pixels = px
        img.filepath_raw = str(lib / f"p{i}.png")
        img.file_format = "PNG"
        img.save()
        lines.append(json.dumps({"image": f"p{i}.png", "caption": ["red checks", "blue checks", "gold checks"][i],
                                 "culture": "test", "licence": "CC0"}))
    (lib / "captions.jsonl").write_text("\n".join(lines) + "\n")
    s = bpy.context.scene.heritage_motion
    s.library_folder = str(lib)
    assert bpy.ops.heritage_motion.build_pattern_library() == {"FINISHED"}
    assert s.pattern_bank.endswith("heritage_motion_bank.npz") and Path(s.pattern_bank).exists()
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    cube.data.materials.append(bpy.data.materials.new("Mine"))
    s.pattern_query = "blue checks"
    assert bpy.ops.heritage_motion.dress_dancer(slots="ALL") == {"FINISHED"}
    rec = json.loads(cube["heritage_motion_costume"])
    assert rec["bank"]["data"] == "user library" and rec["parts"][0]["representative"]["licence"] == "CC0"
    assert rec["parts"][0]["representative"]["label"] == "blue checks", rec["parts"][0]
    assert bpy.ops.heritage_motion.preview_pattern_bank() == {"FINISHED"}
    prev = bpy.data.images["HM Pattern Bank Preview"]
    assert prev.size[0] == 16 * 64 and prev.size[1] == 64
    bad = tmp / "bad-patterns"
    bad.mkdir(exist_ok=True)
    (bad / "x.png").write_bytes(b"not a png")
    (bad / "captions.jsonl").write_text('{"image": "x.png", "caption": "x"}\n')
    s.library_folder = str(bad)
    refused(lambda: bpy.ops.heritage_motion.build_pattern_library(), "nothing was written")
    assert sorted(p.name for p in bad.iterdir()) == ["captions.jsonl", "x.png"]
    s.pattern_bank = ""


def generate_on_rigify_metarig() -> None:
    _fresh()
    bpy.ops.preferences.addon_enable(module="rigify")
    bpy.ops.object.armature_human_metarig_add()
    arm = bpy.context.active_object
    assert bpy.ops.heritage_motion.generate(prompt="a feminine dance", seconds=2) == {"FINISHED"}
    assert len(fcurves(arm.animation_data.action)) > 50


def generate_on_bvh_import(bvh: Path) -> None:
    _fresh()
    import_bvh(bvh)  # raises ImporterBroken on Debian's 3.4.1
    arm = bpy.context.active_object
    imported = arm.animation_data.action.name
    assert bpy.ops.heritage_motion.generate(prompt="a proud dance", seconds=2) == {"FINISHED"}
    assert arm.animation_data.action.name != imported and imported in bpy.data.actions


def render_ten_frames(out: Path, module: str) -> None:
    _fresh()
    bpy.ops.heritage_motion.add_dancer()
    bpy.ops.heritage_motion.generate(prompt="a feminine dance", seconds=2)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 10
    s = scene.heritage_motion
    s.resolution_x, s.resolution_y = 160, 90
    mp4 = out / "ten.mp4"
    assert bpy.ops.heritage_motion.render(filepath=str(mp4)) == {"FINISHED"}
    n, fps = movie_info(mp4)
    assert (n, round(fps, 3)) == (10, 25.0), (n, fps)
    assert json.loads((out / "ten.audit.json").read_text())["format"] == "heritage-motion-audit"
    # Cycles through the same operator (EEVEE needs a GPU: its settings are checked without rendering)
    s.engine = "CYCLES"
    scene.frame_end = 2
    s.resolution_x, s.resolution_y = 64, 36
    assert bpy.ops.heritage_motion.render(filepath=str(out / "cycles.mp4")) == {"FINISHED"}
    assert movie_info(out / "cycles.mp4")[0] == 2 and scene.render.use_motion_blur
    look = importlib.import_module(module + ".render").apply_look(scene, "EEVEE")
    assert "motion blur" in look and any("ambient occlusion" in x for x in look), look
    s.engine = "WORKBENCH"
    scene.frame_end = 10
    # a second render never overwrites the file
    before = mp4.stat().st_mtime_ns
    refused(lambda: bpy.ops.heritage_motion.render(filepath=str(mp4)), "exists")
    assert mp4.stat().st_mtime_ns == before


def bad_selections_change_nothing(tmp: Path) -> None:
    _fresh()
    bpy.ops.mesh.primitive_cube_add()
    for active, fragment in ((None, "Select an armature"), ("Cube", "not an armature")):
        bpy.context.view_layer.objects.active = bpy.data.objects.get(active) if active else None
        before = _state()
        refused(lambda: bpy.ops.heritage_motion.generate(prompt="a dance"), fragment)
        assert _state() == before
    # an armature that is not a humanoid: one bone
    data = bpy.data.armatures.new("stick")
    stick = bpy.data.objects.new("stick", data)
    bpy.context.scene.collection.objects.link(stick)
    bpy.context.view_layer.objects.active = stick
    bpy.ops.object.mode_set(mode="EDIT")
    b = data.edit_bones.new("bone")
    b.head, b.tail = (0, 0, 0), (0, 0, 1)
    bpy.ops.object.mode_set(mode="OBJECT")
    before = _state()
    refused(lambda: bpy.ops.heritage_motion.generate(prompt="a dance"), "not a humanoid rig")
    assert _state() == before and stick.animation_data is None
    # a broken rule pack: nothing generated
    bpy.ops.heritage_motion.add_dancer()
    bad = tmp / "bad-pack.json"
    bad.write_text('{"format": "heritage-motion-rules", "format_version": 1, "name": "x"')
    before = _state()
    refused(lambda: bpy.ops.heritage_motion.generate(prompt="a dance", rules="FILE", rules_file=str(bad)),
            "invalid JSON")
    assert _state() == before


def batch_from_prompts(module: str, tmp: Path, bvh: Path | None) -> None:
    """The headless batch on Mixamo, CMU and (with the data) Bandai-Namco skeletons too."""
    batch = importlib.import_module(module + ".batch")
    prompts = tmp / "prompts.jsonl"
    prompts.write_text("\n".join([
        json.dumps({"prompt": "a proud bow", "seconds": 0.4, "seed": 3}),
        json.dumps({"prompt": "a dance", "rules": "no-such-pack"}),
        json.dumps({"prompt": "a feminine peacock dance", "seconds": 0.4, "rules": "dai-peacock-illustrative",
                    "rig": "mixamo"}),
        json.dumps({"prompt": "a happy wave", "seconds": 0.4, "rig": "cmu"}),
        json.dumps({"prompt": "a slow turn", "seconds": 0.4, "body": "masculine", "age": 40, "height": 0.7}),
        json.dumps({"prompt": "a dance", "seconds": 0.4, "age": 5}),
    ] + ([json.dumps({"prompt": "an elderly walk", "seconds": 0.4, "rig": str(bvh)})] if bvh else [])) + "\n")
    out = tmp / "batch"
    args = ["--prompts", str(prompts), "--out", str(out), "--resolution", "96x54"]
    assert batch.main(args) == 1  # two lines failed (an unknown pack, an age out of range) ...
    made = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert len(made) == 4 * (5 if bvh else 4), made  # ... the others finished: mp4, bvh, audit.json, png each
    roots = {p.name.split("_")[-1]: p.read_text().split("ROOT", 1)[1].split()[0] for p in out.glob("*.bvh")}
    assert roots["mixamo.bvh"] == "mixamorig:Hips" and roots["cmu.bvh"] == "Hips" and roots["dancer.bvh"] == "spine", roots
    for f in out.glob("*_dancer.bvh"):  # the default dancer's BVH carries the motion (channels and frames)
        text = f.read_text()
        assert "CHANNELS 6 Xposition Yposition Zposition" in text and "Frames: 10" in text, text[:300]
    if bvh:
        assert roots[bvh.stem.split("_")[-1] + ".bvh"] == "joint_Root", roots  # the Bandai-Namco skeleton
    for mp4 in out.glob("*.mp4"):
        assert movie_info(mp4) == (10, 25.0) or movie_info(mp4)[0] == 10
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert batch.main(args) == 1  # rerun: finished prompts are skipped, the bad line still fails
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def writes_nothing_inside_the_addon(addon_dir: Path, before: set[str]) -> None:
    after = {str(p.relative_to(addon_dir)) for p in addon_dir.rglob("*")
             if "__pycache__" not in p.parts and p.is_file()}
    assert after == before, sorted(after ^ before)


def identify_pattern(module: str, tmp: Path) -> None:
    """Identify Pattern (issue #14) headless: a real kamon print by its image name and through a material
    slot -> 'suggested' custom properties with evidence; a noise image -> unknown; bad input refused."""
    _fresh()
    pkg_dir = Path(importlib.import_module(module).__file__).parent
    textures = sorted((pkg_dir / "motion_core" / "weights" / "patterns" / "textures").glob("*.jpg"))
    assert textures, "the shipped kamon textures (Ansei Bukan prints)"
    crest = bpy.data.images.load(str(textures[0]))
    assert bpy.ops.heritage_motion.identify_pattern(image=crest.name) == {"FINISHED"}
    rec = json.loads(crest["heritage_motion_identification"])
    assert rec["wording"].startswith("suggested") and len(rec["top3"]) == 3, rec
    assert rec["top3"][0]["confidence"] >= rec["top3"][1]["confidence"] >= rec["top3"][2]["confidence"]
    assert rec["culture"] == "japanese-crest" and 0 < rec["threshold"] < 1
    assert len(rec["evidence"]) == 3 and all(e["source_file"] and e["licence"] for e in rec["evidence"]), rec
    assert "CC BY-SA" in rec["model"]["licence"]
    # with a text, through the active material slot's Image Texture (no name given)
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    mat = bpy.data.materials.new("HM crest test")
    mat.use_nodes = True
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = crest
    cube.data.materials.append(mat)
    del crest["heritage_motion_identification"]
    assert bpy.ops.heritage_motion.identify_pattern(text="a Japanese family crest") == {"FINISHED"}
    rec2 = json.loads(crest["heritage_motion_identification"])
    assert rec2["used_text"] and rec2["text"] == "a Japanese family crest"
    # out of the label set: noise -> unknown
    noise = bpy.data.images.new("HM noise", 64, 64, alpha=False)
    rng = __import__("numpy").random.default_rng(0)
    px = rng.random((64, 64, 4)).astype("float32")
    px[..., 3] = 1
    noise.pixels.foreach_set(px.ravel())
    assert bpy.ops.heritage_motion.identify_pattern(image=noise.name) == {"FINISHED"}
    rec3 = json.loads(noise["heritage_motion_identification"])
    assert rec3["unknown"] and rec3["suggested"] == "unknown", rec3
    # bad input: nothing written
    refused(lambda: bpy.ops.heritage_motion.identify_pattern(image="no such image"), "no image named")
    empty = bpy.data.images.new("HM empty", 1, 1)
    empty.filepath = str(tmp / "missing.png")
    empty.source = "FILE"
    refused(lambda: bpy.ops.heritage_motion.identify_pattern(image=empty.name), "HM empty")
    assert "heritage_motion_identification" not in empty
    prefs = bpy.context.preferences.addons[module].preferences
    prefs.classifier_path = str(tmp / "no-such-classifier.npz")
    try:
        before = noise["heritage_motion_identification"]
        refused(lambda: bpy.ops.heritage_motion.identify_pattern(image=noise.name), "no classifier weights")
        assert noise["heritage_motion_identification"] == before
        # weights chosen in Preferences (here a copy of the shipped file, as a user's own would be) are used
        import shutil
        mine = tmp / "my-classifier.npz"
        shutil.copyfile(pkg_dir / "motion_core" / "weights" / "patterns" / "classifier.npz", mine)
        prefs.classifier_path = str(mine)
        assert bpy.ops.heritage_motion.identify_pattern(image=noise.name) == {"FINISHED"}
        assert json.loads(noise["heritage_motion_identification"])["model"]["weights"] == str(mine)
    finally:
        prefs.classifier_path = ""


def _pixels(img) -> list[float]:
    px = [0.0] * (img.size[0] * img.size[1] * img.channels)
    img.pixels.foreach_get(px)
    return px


def restore_pattern_image(tmp: Path) -> None:
    """Restore Pattern Image (issue #13) by image name, headless: a real worn Edo print from the kamon set
    (a generated stained pattern when ../shared/data is absent) -> a new image with provenance, the source
    untouched; with a mask; bad inputs refused with one message and nothing changed."""
    _fresh()
    edo = Path(__file__).resolve().parents[2] / "shared" / "data" / "patterns" / "kamon" / "edo"
    files = sorted(edo.glob("*.jpg")) if edo.is_dir() else []
    if files:
        src = bpy.data.images.load(str(files[len(files) // 2]))
        print(f"restore_pattern_image: real Edo print {files[len(files) // 2].name}")
    else:
        print(f"restore_pattern_image: {edo} not present; a generated stained pattern instead")
        src = bpy.data.images.new("stained pattern", 96, 80)
        src.pixels = [c for y in range(80) for x in range(96)
                      for c in (((0.15, 0.1, 0.1) if (x // 8 + y // 8) % 2 else (0.85, 0.8, 0.7))
                                if (x - 40) ** 2 + (y - 30) ** 2 > 81 else (0.45, 0.3, 0.15)) + (1.0,)]
    name = src.name
    before = _pixels(src)
    w, h = src.size
    assert bpy.ops.heritage_motion.restore_pattern_image(image=name) == {"FINISHED"}
    out = bpy.data.images[f"{name} restored"]
    assert tuple(out.size) == (w, h) and out.packed_file is not None
    prov = json.loads(out["heritage_motion_provenance"])
    assert prov["operator"] == "heritage_motion.restore_pattern_image" and prov["source_image"] == name, prov
    assert prov["source_filepath"] == (src.filepath or None) and "CC BY-SA 4.0" in prov["licence"], prov
    assert {"model", "version", "training_data", "steps", "seed"} <= set(prov), prov
    assert _pixels(src) == before and "heritage_motion_provenance" not in src, "the source is left as it was"
    after = _pixels(out)
    diff = max(abs(a - b) for a, b in zip(after, before, strict=True))
    assert 0.01 < diff <= 1.0, diff  # the model changed something, within range
    # the restored image restored again: the second result names the first and carries its provenance
    assert bpy.ops.heritage_motion.restore_pattern_image(image=out.name) == {"FINISHED"}
    again = json.loads(bpy.data.images[f"{out.name} restored"]["heritage_motion_provenance"])
    assert again["source_provenance"]["source_image"] == name and "CC BY-SA 4.0" in again["source_licence"]
    # with a damage mask (white = damaged)
    mask = bpy.data.images.new("damage mask", w, h)
    mask.pixels = [c for y in range(h) for x in range(w) for c in ((1.0,) * 4 if x < w // 4 else (0.0, 0.0, 0.0, 1.0))]
    assert bpy.ops.heritage_motion.restore_pattern_image(image=name, mask=mask.name) == {"FINISHED"}
    masked = json.loads(bpy.data.images[f"{name} restored.001"]["heritage_motion_provenance"])
    assert masked["mask_image"] == "damage mask" and masked["mask_pixels"] == h * (w // 4), masked
    # only the masked pixels (and 1 px around them) change; the rest stays as it was, as inpainting does
    assert bpy.ops.heritage_motion.restore_pattern_image(image=name, mask=mask.name, only_masked=True) == {"FINISHED"}
    kept = bpy.data.images[f"{name} restored.002"]
    assert json.loads(kept["heritage_motion_provenance"])["only_masked_pixels"] is True
    px = _pixels(kept)
    outside = [i for i in range(0, len(px), 4) if (i // 4) % w >= w // 4 + 1]
    assert max(abs(px[i + c] - before[i + c]) for i in outside for c in range(3)) < 1.5 / 255  # 8-bit source
    assert max(abs(px[i + c] - before[i + c]) for i in range(0, len(px), 4) if (i // 4) % w < w // 4
               for c in range(3)) > 0.01
    # an image with alpha: composited on white, and the note says so
    rgba = bpy.data.images.new("with alpha", 32, 32, alpha=True)
    rgba.pixels = [c for i in range(32 * 32) for c in (0.2, 0.3, 0.8, 0.5 if i % 3 else 1.0)]
    assert bpy.ops.heritage_motion.restore_pattern_image(image="with alpha") == {"FINISHED"}
    notes = json.loads(bpy.data.images["with alpha restored"]["heritage_motion_provenance"])["notes"]
    assert "alpha composited on white" in notes, notes
    # a strongly coloured image: restored, with a warning in the report and the provenance (out of domain)
    yellow = bpy.data.images.new("yellow batik", 32, 32)
    yellow.pixels = [c for i in range(32 * 32) for c in ((0.9, 0.8, 0.1, 1.0) if i % 4 else (0.1, 0.1, 0.1, 1.0))]
    assert bpy.ops.heritage_motion.restore_pattern_image(image="yellow batik") == {"FINISHED"}
    notes = json.loads(bpy.data.images["yellow batik restored"]["heritage_motion_provenance"])["notes"]
    assert any("strongly coloured" in n for n in notes), notes
    # bad inputs: one message each, nothing changed
    tiny = bpy.data.images.new("tiny", 4, 4)
    huge = bpy.data.images.new("huge", 4096, 2048)
    missing = bpy.data.images.new("missing file", 8, 8)
    missing.source = "FILE"
    missing.filepath = str(tmp / "no-such-file.png")
    small_mask = bpy.data.images.new("small mask", 8, 8)
    names = sorted(bpy.data.images.keys())
    refused(lambda: bpy.ops.heritage_motion.restore_pattern_image(image="no such image"), "no image named")
    refused(lambda: bpy.ops.heritage_motion.restore_pattern_image(image="tiny"), "at least 8x8")
    refused(lambda: bpy.ops.heritage_motion.restore_pattern_image(image="huge"), "megapixels")
    refused(lambda: bpy.ops.heritage_motion.restore_pattern_image(image="missing file"), "no pixels")
    refused(lambda: bpy.ops.heritage_motion.restore_pattern_image(image=name, mask="small mask"), "must match")
    refused(lambda: bpy.ops.heritage_motion.restore_pattern_image(image=name, mask="no mask"), "no mask image named")
    refused(lambda: bpy.ops.heritage_motion.restore_pattern_image(image=name, only_masked=True), "needs a damage mask")
    assert sorted(bpy.data.images.keys()) == names and _pixels(src) == before
    for img in (tiny, huge, missing, small_mask):
        bpy.data.images.remove(img)


def _provenance(idblock) -> dict:
    return json.loads(idblock["heritage_motion_provenance"])


def _render_costume(scene, mesh, slot_index: int, frame: int, path: Path):
    """A small Cycles render at ``frame`` of the orthographic close-up on the slot's faces (RGB floats)."""
    import numpy as np

    scene.frame_set(frame)
    bpy.context.view_layer.update()
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        w, h = img.size
        px = np.empty(w * h * 4, np.float32)
        img.pixels.foreach_get(px)
    finally:
        bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[..., :3]


def pattern_gan_variant_and_animation(out: Path) -> None:
    """#13 items 2-3: Generate Pattern Variant by name, headless, with provenance; Animate Pattern on
    the dancer after a generated dance: PNG frames at 25 fps, an image-sequence material, a costume
    that differs between two rendered times while the pose is held; bad input changes nothing."""
    import numpy as np

    _fresh()
    before = set(bpy.data.images.keys())
    assert bpy.ops.heritage_motion.generate_pattern_variant(condition="CLASS", motif="kiku", seed=3, scale=2) == {"FINISHED"}
    made = set(bpy.data.images.keys()) - before
    assert len(made) == 1, made
    img = bpy.data.images[made.pop()]
    assert tuple(img.size) == (128, 128) and img.packed_file is not None
    prov = _provenance(img)
    assert prov["seed"] == 3 and prov["condition"] == "kiku" and prov["licence"] == "CC BY-SA 4.0", prov
    assert "pattern GAN" in prov["model"] and prov["version"] and prov["native_size"] == 64
    px = np.empty(128 * 128 * 4, np.float32)
    img.pixels.foreach_get(px)
    assert px.reshape(-1, 4)[:, :3].std() > 0.02  # not a blank image
    src = img.name
    assert bpy.ops.heritage_motion.generate_pattern_variant(condition="PROTOTYPE", prototype=7, seed=1) == {"FINISHED"}
    assert bpy.ops.heritage_motion.generate_pattern_variant(condition="IMAGE", image=src, seed=2, count=2) == {"FINISHED"}
    by_image = [bpy.data.images[n] for n in bpy.data.images.keys() if n not in before and n != src]
    kinds = sorted(_provenance(i)["condition_kind"] for i in by_image)
    assert kinds == ["embedding", "embedding", "prototype"], kinds
    assert all(_provenance(i).get("source_image") == src for i in by_image
               if _provenance(i)["condition_kind"] == "embedding")
    images = sorted(bpy.data.images.keys())
    refused(lambda: bpy.ops.heritage_motion.generate_pattern_variant(condition="IMAGE", image="no such image"),
            "no image named")
    refused(lambda: bpy.ops.heritage_motion.generate_pattern_variant(condition="PROTOTYPE", prototype=999),
            "out of range")
    assert sorted(bpy.data.images.keys()) == images

    # Animate Pattern: refused without a dancer, without an action, with a bad slot
    frames_dir = out / "pattern_frames"
    mats = sorted(bpy.data.materials.keys())
    refused(lambda: bpy.ops.heritage_motion.animate_pattern(armature="nobody", folder=str(frames_dir)), "no object named")
    assert bpy.ops.heritage_motion.add_dancer() == {"FINISHED"}
    arm = bpy.context.active_object
    state, mats = _state(), sorted(bpy.data.materials.keys())
    refused(lambda: bpy.ops.heritage_motion.animate_pattern(armature=arm.name, folder=str(frames_dir)), "no action")
    assert bpy.ops.heritage_motion.generate(prompt="a lively dance with jumps and turns", seconds=2, seed=1) == {"FINISHED"}
    state, mats = _state(), sorted(bpy.data.materials.keys())
    refused(lambda: bpy.ops.heritage_motion.animate_pattern(armature=arm.name, slot="HM Cape", folder=str(frames_dir)),
            "no costume slot 'HM Cape'")
    assert _state() == state and sorted(bpy.data.materials.keys()) == mats and not frames_dir.exists()

    scene = bpy.context.scene
    assert bpy.ops.heritage_motion.animate_pattern(armature=arm.name, slot="HM Bodice", motif="kiku", seed=4,
                                                   folder=str(frames_dir), scale=2) == {"FINISHED"}
    action = arm.animation_data.action
    f0, f1 = (int(round(v)) for v in action.frame_range)
    n = f1 - f0 + 1
    (folder,) = [p for p in frames_dir.iterdir()]
    pngs = sorted(folder.glob("pattern_*.png"))
    assert len(pngs) == n and pngs[0].name == "pattern_0001.png", (len(pngs), n)
    assert scene.render.fps / scene.render.fps_base == 25
    body = next(o for o in arm.children if o.type == "MESH")
    slot_index = next(i for i, s in enumerate(body.material_slots)
                      if s.material and s.material.name.startswith("HM Animated Pattern"))
    mat = body.material_slots[slot_index].material
    tex = next(nd for nd in mat.node_tree.nodes if nd.type == "TEX_IMAGE")
    assert tex.image.source == "SEQUENCE" and tex.image_user.frame_duration == n and tex.image_user.frame_start == f0
    prov = _provenance(mat)
    assert prov["fps"] == 25 and prov["frames"] == n and prov["seed"] == 4 and prov["licence"] == "CC BY-SA 4.0"
    assert "HM Bodice" in bpy.data.materials and bpy.data.materials["HM Bodice"].use_fake_user  # the old one kept
    # a second run never overwrites: a new folder
    assert bpy.ops.heritage_motion.animate_pattern(armature=arm.name, slot="HM Skirt", seed=5,
                                                   folder=str(frames_dir)) == {"FINISHED"}
    assert len(list(frames_dir.iterdir())) == 2

    # render: the pose held (action unassigned), the costume alone changes between two times
    arm.animation_data.action = None
    for track in arm.animation_data.nla_tracks:
        track.mute = True
    co = np.array([body.matrix_world @ body.data.vertices[v].co for p in body.data.polygons
                   if p.material_index == slot_index for v in p.vertices])
    centre, size = co.mean(0), float((co.max(0) - co.min(0))[[0, 2]].max())
    cam_data = bpy.data.cameras.new("HM test cam")
    cam_data.type, cam_data.ortho_scale = "ORTHO", size * 0.9
    cam = bpy.data.objects.new("HM test cam", cam_data)
    scene.collection.objects.link(cam)
    cam.location = (centre[0], centre[1] - 3.0, centre[2])
    cam.rotation_euler = (np.pi / 2, 0, 0)
    scene.camera = cam
    light = bpy.data.objects.new("HM test sun", bpy.data.lights.new("HM test sun", "SUN"))
    light.rotation_euler = (np.pi / 2, 0, 0)
    scene.collection.objects.link(light)
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 4
    scene.cycles.use_denoising = False  # Debian's 3.4.1 is built without OpenImageDenoise
    scene.cycles.device = "CPU"
    scene.render.resolution_x = scene.render.resolution_y = 48
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    mid = f0 + n // 2
    a = _render_costume(scene, body, slot_index, f0, out / "anim_a.png")
    b = _render_costume(scene, body, slot_index, f1, out / "anim_b.png")
    a2 = _render_costume(scene, body, slot_index, mid, out / "anim_mid.png")
    changed = max(np.abs(a - b).mean(), np.abs(a - a2).mean())
    # control: the static material at the same two times renders the same
    body.material_slots[slot_index].material = bpy.data.materials["HM Bodice"]
    sa = _render_costume(scene, body, slot_index, f0, out / "static_a.png")
    sb = _render_costume(scene, body, slot_index, f1, out / "static_b.png")
    still = np.abs(sa - sb).mean()
    print(f"animated costume change {changed:.4f}, static control {still:.4f}")
    assert changed > 0.005 and changed > 5 * still, (changed, still)

    # driver: the symbol schedule (seed 002 eq. 9's eps): on a dance with symbol events the frames change
    # in the 0.4 s after each event and are byte-identical PNGs between them
    assert bpy.ops.heritage_motion.generate(prompt="a proud bow", seconds=6, seed=0) == {"FINISHED"}
    known = set(frames_dir.iterdir())
    assert bpy.ops.heritage_motion.animate_pattern(armature=arm.name, slot="HM Skirt", seed=6, driver="symbols",
                                                   folder=str(frames_dir)) == {"FINISHED"}
    (folder,) = set(frames_dir.iterdir()) - known
    skirt = next(s.material for s in body.material_slots
                 if s.material and s.material.name.startswith("HM Animated Pattern Skirt")
                 and _provenance(s.material).get("folder") == str(folder))
    drv = _provenance(skirt)["driver"]
    assert drv["kind"] == "symbol schedule" and drv["scene_frames"] and "seed 002" in drv["source"], drv
    pngs = [p.read_bytes() for p in sorted(folder.glob("pattern_*.png"))]
    f_first = _provenance(skirt)["frame_start"]
    hold = round(drv["hold_s"] * 25)
    on = {f - f_first + k for f in drv["scene_frames"] for k in range(hold)}
    same = [pngs[i] == pngs[i - 1] for i in range(1, len(pngs))]
    assert all(same[i - 1] for i in range(1, len(pngs)) if i not in on)  # still between events
    assert not all(same[i - 1] for i in on if 0 < i < len(pngs))  # and moving at them
    # an action that carries no schedule (not made by Generate Dance) is refused, nothing written
    plain = arm.animation_data.action.copy()
    del plain["heritage_motion_symbols"]
    arm.animation_data.action = plain
    known, mats = set(frames_dir.iterdir()), sorted(bpy.data.materials.keys())
    refused(lambda: bpy.ops.heritage_motion.animate_pattern(armature=arm.name, slot="HM Skirt", driver="symbols",
                                                            folder=str(frames_dir)), "carries no symbol schedule")
    assert set(frames_dir.iterdir()) == known and sorted(bpy.data.materials.keys()) == mats
