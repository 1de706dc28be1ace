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

    args = ["--out", str(tmp_path), "--variant-steps", "2", "--minutes", "0.1"]
    assert train_gan.main([*args, "--restore-steps", "2"]) == 0
    assert torch.load(tmp_path / "restore" / "ckpt.pt", weights_only=True)["step"] == 2
    for f in ("restore/losses.png", "variants/ckpt_gan.pt", "variants/gan_variants.npz", "variants/losses.png"):
        assert (tmp_path / f).stat().st_size > 1000, f
    assert train_gan.main([*args, "--restore-steps", "3", "--parts", "restore"]) == 0
    assert torch.load(tmp_path / "restore" / "ckpt.pt", weights_only=True)["step"] == 3  # resumed, not restarted
    assert "== restoration GAN" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        train_gan.main(["--parts", "restore,dcgan"])
