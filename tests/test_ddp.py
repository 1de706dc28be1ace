"""training.train_ar under torchrun (issue #15): 2 CPU processes (gloo) against 1, for real.

The same tiny run (``--preset tiny``: hidden 32, 1 layer, 24-frame windows, 40 clips) of 50 steps with a
global batch of 4 is trained once as one plain process and once as ``torchrun --nproc_per_node 2``
(each rank 2 of the 4 windows), the latter interrupted at step 25 and resumed. Checks:

* the loss curves agree step by step within a relative 1e-4 (NLL, contact BCE, L_cul's KL and reference
  terms, gradient norm, validation NLL and BCE; the joint-limit term, 0 at most steps, within 1e-6
  absolute). They are not bit-identical: the ranks see
  the same windows, noise and feedback draws as the single process, but each rank's loss is a mean over
  its 2 windows, DDP averages the two ranks' gradients (an all-reduce sum / 2) and the logged figures are
  the mean of the ranks' means, so float32 sums run in another order. That rounding (~1e-7 relative
  per step) is carried by Adam through the steps and the autoregressive feedback; measured here over
  50 steps: at most 3e-6 relative (the gradient norm; the losses 3e-7), 2e-8 absolute on the
  joint-limit term, thirty times or more below the tolerances. Real errors fail it at once, as was
  checked by breaking the trainer on purpose: both ranks on the same rows give step 1's NLL as 1.90
  against 1.56, and ranks without DDP (no gradient averaging) give step 1's gradient norm as 0.447
  against 0.439.
* only rank 0 writes: an audit hook in every rank records each file it opens for writing, renames, creates
  or removes under ``--out``; rank 1's record is empty, rank 0's names only checkpoint.pt, log.jsonl,
  loss.png (and their atomic temporaries).

Skips when the training cache (``python -m training.build_dataset`` and ``python -m training.build_dance``)
is missing, or torch is not installed. Runtime here (2 cores): about 30 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STEPS, BATCH = 50, 4
RTOL = 1e-4  # relative, every logged loss and the gradient norm
LIMIT_ATOL = 1e-6  # absolute, the joint-limit term (about zero)
ARGS = ["--preset", "tiny", "--steps", str(STEPS), "--batch", str(BATCH), "--seed", "3"]


def _cache() -> Path:
    return Path(os.environ.get("HM_CACHE", Path.home() / ".cache" / "heritage-motion"))


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    env.pop("WORLD_SIZE", None)
    return env


def _run(cmd: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr[-4000:]}"
    return p


def _torchrun(out: Path, audit: Path, *extra: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                 __file__, str(audit), *ARGS, "--out", str(out), *extra])


def _curve(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_two_processes_match_one(tmp_path):
    pytest.importorskip("torch")
    clips = _cache() / "clips"
    if not (clips / "index.json").exists() or not (clips / "dance_index.json").exists():
        pytest.skip(f"needs the training cache in {clips} (python -m training.build_dataset and "
                    "python -m training.build_dance); not built here")
    one, two, audit = tmp_path / "one", tmp_path / "two", tmp_path / "audit"
    audit.mkdir()
    _run([sys.executable, "-m", "training.train_ar", *ARGS, "--out", str(one)])
    _torchrun(two, audit, "--stop-at", str(STEPS // 2))
    assert len(_curve(two)) == STEPS // 2
    _torchrun(two, audit, "--resume")

    a, b = _curve(one), _curve(two)
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, STEPS + 1))
    worst: dict[str, float] = {}
    for ra, rb in zip(a, b, strict=True):
        assert ra["self_block"] == rb["self_block"]
        for key in ("nll", "contact_bce", "kl", "ref", "grad_norm", "val_nll", "val_contact_bce", "limit"):
            assert (key in ra) == (key in rb), (ra["step"], key)
            if key not in ra:
                continue
            if key == "limit":  # the joint-limit hinge: 0 at most steps, at most ~3e-3 here
                assert abs(rb[key] - ra[key]) <= LIMIT_ATOL, (ra["step"], key, ra[key], rb[key])
                worst[key] = max(worst.get(key, 0.0), abs(rb[key] - ra[key]))
            else:
                assert rb[key] == pytest.approx(ra[key], rel=RTOL), (ra["step"], key, ra[key], rb[key])
                worst[key] = max(worst.get(key, 0.0), abs(rb[key] - ra[key]) / abs(ra[key]))
    print(f"2 processes against 1, {STEPS} steps, largest difference (relative; limit: absolute): "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))

    written = {int(f.stem.split("-")[1]): f.read_text().split("\n") for f in audit.glob("rank-*.txt")}
    assert set(written) == {0, 1}, "both ranks ran under the audit hook"
    assert [w for w in written[1] if w] == [], f"rank 1 wrote under --out: {written[1]}"
    finals = {Path(w.split(" ", 1)[1]).name for w in written[0] if w.startswith("os.rename")}
    assert finals == {"checkpoint.pt", "log.jsonl", "loss.png"}
    assert sorted(p.name for p in two.iterdir()) == ["checkpoint.pt", "log.jsonl", "loss.png"]


if __name__ == "__main__":
    # A rank under torchrun: record what this process writes under --out, then train.
    audit_dir, argv = Path(sys.argv[1]), sys.argv[2:]
    out = str(Path(argv[argv.index("--out") + 1]).resolve())
    rank = os.environ["RANK"]
    log = open(audit_dir / f"rank-{rank}.txt", "a", encoding="utf-8")  # open for the whole run
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def under_out(path) -> str | None:
        if isinstance(path, int):
            return None
        p = os.path.abspath(os.fsdecode(path))
        return p if p == out or p.startswith(out + os.sep) else None

    def hook(event: str, args: tuple) -> None:
        if log.closed:
            return
        if event == "open":
            path, mode, flags = args
            if (mode and any(c in mode for c in "wax+")) or (flags and flags & writes):
                if (p := under_out(path)) is not None:
                    log.write(f"open {p}\n")
                    log.flush()
        elif event in ("os.rename", "os.mkdir", "os.remove", "os.rmdir"):
            paths = [under_out(a) for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            if any(paths):
                log.write(f"{event} {args[1] if event == 'os.rename' else args[0]}\n")
                log.flush()

    sys.addaudithook(hook)
    sys.path.insert(0, str(REPO))
    from training.train_ar import main

    code = main(argv)
    log.close()
    sys.exit(code)
