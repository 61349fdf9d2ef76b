#!/usr/bin/env bash
# The main job: set up, serve the bundled flight-search site on loopback, and run
# the agent on it. Extra arguments go to `screenpilot run`, e.g.
#   bash scripts/demo.sh                                   (Qwen3-VL-2B-Instruct, local)
#   bash scripts/demo.sh --model /path/to/checkpoint
#   bash scripts/demo.sh --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-VL-8B-Instruct
# SCREENPILOT_TASK replaces the default instruction.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The default model runs locally through transformers (the "local" extra: torch and
# transformers); with --base-url the model is served elsewhere and neither is needed.
extras="local"
for arg in "$@"; do [ "$arg" = "--base-url" ] || [[ "$arg" == --base-url=* ]] && extras=""; done
[ -n "${SCREENPILOT_BASE_URL:-}" ] && extras=""
EXTRAS="${EXTRAS:-$extras}" source "$ROOT/scripts/setup.sh"
cd "$ROOT"

TASK="${SCREENPILOT_TASK:-Search for flights from Beijing Capital (PEK) to Shanghai Hongqiao (SHA) on 2026-12-01 and select the cheapest one.}"

log="$(mktemp)"
screenpilot app flights --port 0 >"$log" 2>"$log.err" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log" "$log.err"' EXIT
for _ in $(seq 400); do
  url="$(head -n1 "$log")"
  [ -n "$url" ] && break
  kill -0 $server 2>/dev/null || { cat "$log.err" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { echo "the flight-search site did not start" >&2; exit 1; }
echo "[demo] flight-search site at $url" >&2
screenpilot run "$TASK" --url "$url" "$@"
