"""The Flamenco job type (flamenco/heritage_motion_batch.js), compiled by Node with the author API
Flamenco documents, and its task command lines run for real, one after another, with Debian's
Blender 3.4.1: the outputs equal a single-process batch of the same prompts file."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROMPTS = ["a proud bow", "a feminine dance, slow and graceful", "walk forward happily", "an energetic dance",
           "a tired walk", "wave with both hands", "a feminine peacock dance, slow"]


def _compile(settings: dict) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH (Debian's nodejs or the machine's Node.js runs the job compiler)")
    r = subprocess.run([node, str(REPO / "flamenco" / "compile_job.js"), str(REPO / "flamenco" / "heritage_motion_batch.js"),
                        json.dumps(settings)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _argv(cmd: dict, variables: dict[str, str]) -> list[str]:
    """A blender-render command as the Flamenco Worker runs it: exe, exeArgs, argsBefore, blendfile, args."""
    p = cmd["parameters"]

    def expand(s: str) -> str:
        for k, v in variables.items():
            s = s.replace("{" + k + "}", v)
        return s
    argv = [expand(p["exe"]), *p["exeArgs"].split(), *p["argsBefore"]]
    if p.get("blendfile"):
        argv.append(expand(p["blendfile"]))
    return argv + [expand(a) for a in p["args"]]


def test_job_type_compiles_one_task_per_shard(tmp_path):
    tasks = _compile({"prompts": "/farm/p.jsonl", "output_dir": "/farm/out", "shards": 3})
    assert [t["name"] for t in tasks] == ["shard-1-of-3", "shard-2-of-3", "shard-3-of-3"]
    for i, t in enumerate(tasks, 1):
        (cmd,) = t["commands"]
        assert cmd["type"] == "blender-render" and cmd["parameters"]["exe"] == "{blender}"
        args = cmd["parameters"]["args"]
        assert args[:2] == ["-P", "{heritage_motion}/addon/batch.py"] and args[2] == "--"
        assert args[args.index("--shard") + 1] == f"{i}/3" and args[args.index("--out") + 1] == "/farm/out"


def test_job_type_refuses_bad_shard_count():
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH")
    r = subprocess.run([node, str(REPO / "flamenco" / "compile_job.js"), str(REPO / "flamenco" / "heritage_motion_batch.js"),
                        json.dumps({"prompts": "p", "output_dir": "o", "shards": 0})], capture_output=True, text=True)
    assert r.returncode == 1 and "shards must be" in r.stderr


def _digest(folder: Path) -> dict[str, object]:
    """What must agree between runs: every output's name; BVH bytes; the audit without times and paths."""
    out: dict[str, object] = {}
    for f in sorted(folder.iterdir()):
        if f.name.startswith("."):
            continue  # locks and manifests
        if f.suffix == ".bvh":
            out[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()
        elif f.name.endswith(".audit.json"):
            a = json.loads(f.read_text())
            out[f.name] = {k: a[k] for k in ("request", "generation", "during", "after")}
        else:
            out[f.name] = f.stat().st_size > 0
    return out


def test_sharded_job_equals_single_batch_in_blender_binary(tmp_path):
    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("no blender binary on PATH (CI installs Debian's blender 3.4.1)")
    sys.path.insert(0, str(REPO))
    import build_addon
    build_addon.ensure_text_encoder()
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p, "seconds": 1, "seed": k}) + "\n" for k, p in enumerate(PROMPTS)))
    farm = tmp_path / "farm"
    tasks = _compile({"prompts": str(prompts), "output_dir": str(farm), "shards": 3, "resolution": "64x36",
                      "extra_args": "--no-patterns"})
    assert len(tasks) == 3
    made = []
    for t in tasks:  # a worker runs its task's commands in order; tasks run one after another here
        for cmd in t["commands"]:
            r = subprocess.run(_argv(cmd, {"blender": blender, "heritage_motion": str(REPO)}), capture_output=True,
                               text=True, timeout=900, cwd=tmp_path)
            assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
            made.append(int(r.stdout.split(" made,")[0].split()[-1]))
    assert sorted(made) == [2, 2, 3]  # 7 prompts in shards of 2, 2 and 3
    single = tmp_path / "single"
    r = subprocess.run([blender, "-b", "-y", "-P", str(REPO / "addon" / "batch.py"), "--", "--prompts", str(prompts),
                        "--out", str(single), "--resolution", "64x36", "--no-patterns"],
                       capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert r.returncode == 0 and "7 made, 0 skipped, 0 failed" in r.stdout, (r.stdout + r.stderr)[-3000:]
    farm_digest, single_digest = _digest(farm), _digest(single)
    assert len([n for n in farm_digest if n.endswith(".mp4")]) == 7
    assert farm_digest == single_digest
    # A re-queued task redoes nothing that is there.
    r = subprocess.run(_argv(tasks[1]["commands"][0], {"blender": blender, "heritage_motion": str(REPO)}),
                       capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert r.returncode == 0 and "0 made, 2 skipped" in r.stdout, (r.stdout + r.stderr)[-3000:]
