#!/usr/bin/env bash
# Set up and run every test: `bash scripts/test.sh [pytest args]`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${EXTRAS:-test,local,desktop,android,miniwob}" source "$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "[test] ruff check" >&2
ruff check .
echo "[test] pytest" >&2
exec pytest -q "$@"
