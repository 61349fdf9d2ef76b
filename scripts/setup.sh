#!/usr/bin/env bash
# Set up what ScreenPilot needs on this machine: a Chromium and a virtualenv.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (it skips
# what is already there). EXTRAS names the pip extras to install (default: none;
# "local" brings torch and transformers for the local model backend; "desktop" the
# X11 desktop env, with its Debian packages; "android" the phone env's adb-shell).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCREENPILOT_VENV:-$ROOT/.venv}"
EXTRAS="${EXTRAS:-}"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

find_chromium() {
  local c
  for c in "${SCREENPILOT_CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && return 0
  done
  [ -x /usr/lib/chromium/chromium ]
}

# Debian/Ubuntu packages, installed only when missing.
want_pkgs=()
find_chromium || want_pkgs+=(chromium)
# A CJK font, so pages in Chinese render as text (for the model and in screenshots).
if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; }; then
  want_pkgs+=(fonts-wqy-zenhei)
fi
# The desktop env (EXTRAS with "desktop"): an X server (Xvfb; Xephyr for several monitors),
# a window manager, typing and window tools, and the apps of the desktop suite.
if [[ ",$EXTRAS," == *",desktop,"* ]]; then
  for pair in Xvfb:xvfb Xephyr:xserver-xephyr openbox:openbox xdotool:xdotool xclip:xclip \
              xterm:xterm mousepad:mousepad gnumeric:gnumeric pcmanfm:pcmanfm \
              xdpyinfo:x11-utils xdg-open:xdg-utils; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || want_pkgs+=("${pair#*:}")
  done
fi
if [ "${#want_pkgs[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "installing ${want_pkgs[*]} with apt-get"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${want_pkgs[@]}" >/dev/null
  else
    say "no apt-get here: install ${want_pkgs[*]} yourself (for Chromium, '.venv/bin/playwright install chromium' also works where there is internet)"
  fi
fi

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3.13 python3.12 python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$c"; break
    fi
  done
fi
[ -n "$PY" ] || { say "ScreenPilot needs Python 3.11 or newer"; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
# Extras already installed (comma list in the stamp) plus the ones asked for now.
stamp="$VENV/.screenpilot-installed"
have="$(cat "$stamp" 2>/dev/null || true)"
want="$have"
for extra in ${EXTRAS//,/ }; do
  [[ ",$want," == *",$extra,"* ]] || want="${want:+$want,}$extra"
done
# torch comes first and pinned: an unpinned torch (asked for by the local extra) takes
# the registry's newest build, which on Linux means several GB of CUDA packages even
# on a machine without a GPU. SCREENPILOT_TORCH picks another spec.
if [[ ",$want," == *",local,"* ]] && ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  say "installing ${SCREENPILOT_TORCH:-torch==2.13.0} (for the local model backend)"
  "$VENV/bin/python" -m pip install -q "${SCREENPILOT_TORCH:-torch==2.13.0}" 2>&1 \
    | grep -v -e '^WARNING: Location' >&2 || true
fi
# Install when nothing is installed yet, pyproject.toml changed, or new extras are asked for.
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$want" != "$have" ]; then
  spec="$ROOT"
  [ -n "$want" ] && spec="$ROOT[$want]"
  say "installing screenpilot${want:+[$want]} into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e "$spec" 2>&1 | grep -v -e '^WARNING: Location' >&2 || true
  "$VENV/bin/python" -c 'import benchmarks.cli' || { say "installing screenpilot failed"; exit 1; }
  printf '%s' "$want" >"$stamp"
fi
export PATH="$VENV/bin:$PATH"
