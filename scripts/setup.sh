#!/usr/bin/env bash
# Installs what the bot needs on a fresh Debian/Ubuntu machine: redis-server, Chromium (browser
# tests) and a Python virtual environment in .venv with the project and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ "${WITH_BROWSER:-1}" = "1" ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  # Japanese and other scripts in the inbox screenshots (advisors' own phones have these fonts).
  # Read fc-list's whole output first: `fc-list | grep -q` under pipefail fails when grep stops
  # early and fc-list dies of SIGPIPE, which would reinstall fonts on every run.
  fonts="$(fc-list 2>/dev/null || true)"
  grep -qi "Noto Sans CJK" <<<"$fonts" || need_apt+=(fonts-noto-cjk)
fi
# Rich menu images: Noto fonts for every script and libraqm for shaping (Pillow's RAQM layout).
# Checked by file, not with `fc-list | grep -q` (grep quitting early fails the pipe under pipefail).
font_installed() { [ -n "$(find /usr/share/fonts -name "$1" -print -quit 2>/dev/null)" ]; }
font_installed NotoSansMyanmar-Bold.ttf || need_apt+=(fonts-noto-core)
font_installed NotoSansCJK-Bold.ttc || [[ " ${need_apt[*]} " == *" fonts-noto-cjk "* ]] || need_apt+=(fonts-noto-cjk)
ldconfig -p 2>/dev/null | grep -F libraqm.so >/dev/null || need_apt+=(libraqm0)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing with apt: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The bot starts its own redis-server; the package's service is not needed.
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"
