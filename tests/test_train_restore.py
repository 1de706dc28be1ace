"""Restoration training: resuming from the checkpoint gives exactly the uninterrupted run (seeded batches)."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "patterns"


def test_resume_equals_uninterrupted(tmp_path):
    if not DATA.exists():
        pytest.skip(f"{DATA} not found (the shared data set beside the checkout)")
    from training.patterns.train_restore import train

    kw = dict(seed=3, batch=2, crop=32, log_every=1, ckpt_every=2, val_every=1000)
    a = torch.load(train(tmp_path / "a", 4, **kw), weights_only=True)
    train(tmp_path / "b", 2, **kw)
    b = torch.load(train(tmp_path / "b", 4, **kw), weights_only=True)  # resumes at step 2
    assert a["step"] == b["step"] == 4
    for k, v in a["g"].items():
        assert torch.equal(v, b["g"][k]), k
    assert (tmp_path / "b" / "losses.png").stat().st_size > 1000
    assert len((tmp_path / "b" / "log.jsonl").read_text().splitlines()) == 4
    c = torch.load(train(tmp_path / "c", 4, **{**kw, "seed": 4}), weights_only=True)
    assert not torch.equal(a["g"]["out.weight"], c["g"]["out.weight"])  # another seed, another model


def test_one_command_trains_every_part_and_resumes(tmp_path, capsys):
    """`python -m training.patterns.train_gan` (issue #13 item 6): both GANs in one run folder, each with
    its checkpoint, loss plot and exported weights; run again with more steps, it continues."""
    if not DATA.exists():
        pytest.skip(f"{DATA} not found (the shared data set beside the checkout)")
    from training.patterns import train_gan

    args = ["--out", str(tmp_path), "--variant-steps", "2", "--minutes", "5", "--restore-steps", "2"]
    assert train_gan.main([*args, "--restore-stage2-steps", "2"]) == 0
    assert torch.load(tmp_path / "restore" / "ckpt.pt", weights_only=True)["step"] == 2
    assert torch.load(tmp_path / "restore" / "stage2" / "ckpt.pt", weights_only=True)["step"] == 2  # both stages
    for f in ("restore/losses.png", "restore/stage2/losses.png", "variants/ckpt_gan.pt", "variants/gan_variants.npz",
              "variants/losses.png"):
        assert (tmp_path / f).stat().st_size > 1000, f
    assert train_gan.main([*args, "--restore-stage2-steps", "3", "--parts", "restore"]) == 0
    st = torch.load(tmp_path / "restore" / "stage2" / "ckpt.pt", weights_only=True)
    assert st["step"] == 3 and st["init_steps"] == 2  # resumed, not restarted
    assert "== restoration GAN" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        train_gan.main(["--parts", "restore,dcgan"])


def test_two_stages_warm_start_and_leave_kinds_of_wear_out(tmp_path):
    """The shipped recipe: stage 2 starts from stage 1's generator (not from scratch), draws views with
    kinds of wear left out, resumes, and its export counts both stages' steps."""
    if not DATA.exists():
        pytest.skip(f"{DATA} not found (the shared data set beside the checkout)")
    import json

    import numpy as np

    from motion_core import config
    from training.patterns.export_restore import export
    from training.patterns.train_restore import train, train_stages

    kw = dict(seed=3, batch=2, crop=32)
    ckpt = train_stages(tmp_path, 2, 2, **kw)
    assert ckpt == tmp_path / "stage2" / "ckpt.pt"
    s1 = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    s2 = torch.load(ckpt, weights_only=True)
    assert s1["step"] == 2 and s2["step"] == 2 and s2["init_steps"] == 2
    assert s2["kind_off_share"] == config.RESTORE_KIND_OFF_SHARE and s1.get("kind_off_share", 0.0) == 0.0
    # warm start: one step of stage 2 from stage 1's G stays near it; a fresh G (another init) is far away
    fresh = torch.load(train(tmp_path / "fresh", 2, **{**kw, "seed": 4}, kind_off_share=0.5), weights_only=True)
    w1, w2, wf = (x["g"]["enc.0.0.weight"] for x in (s1, s2, fresh))
    assert (w2 - w1).abs().mean() < 0.5 * (wf - w1).abs().mean()
    meta = json.loads(str(np.load(export(ckpt.parent, tmp_path / "r.npz"))["meta_json"]))
    assert meta["steps"] == 2 and meta["steps_total"] == 4 and meta["kind_off_share"] == 0.5
    assert torch.load(train_stages(tmp_path, 2, 3, **kw), weights_only=True)["step"] == 3  # resumed
    with pytest.raises(SystemExit, match="began from stage 1 at step 2"):
        train_stages(tmp_path, 3, 3, **kw)
    assert torch.load(tmp_path / "ckpt.pt", weights_only=True)["step"] == 2  # refused before training on
