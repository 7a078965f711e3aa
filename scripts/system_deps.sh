#!/usr/bin/env bash
# Checks the system libraries, fonts and programs the portal needs and installs what is missing with
# apt-get when run as root on Debian/Ubuntu; otherwise says exactly what to install.
# The packages are listed once, in scripts/system-packages.txt (what each is for is noted there).
# Used by `make run`, `make serve-prod`, `.ci/run` and the Dockerfile; extra Debian packages can be
# named as arguments (CI adds chromium and poppler-utils for the tests).
set -euo pipefail

list="$(dirname "$0")/system-packages.txt"
# One package a line; "#" starts a comment.
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")
if [ "${1:-}" = "--list" ]; then  # print the list (tests/portal/test_deploy.py compares it)
  printf '%s\n' "${packages[@]}"
  exit 0
fi
packages+=("$@")

if ! command -v dpkg >/dev/null; then
  if ! fc-list :lang=zh 2>/dev/null | grep -q . || ! ldconfig -p 2>/dev/null | grep -q libpango-1.0 \
    || ! command -v nginx >/dev/null || ! command -v ffmpeg >/dev/null || ! command -v wrk >/dev/null; then
    echo "Install Pango, HarfBuzz (with its subset library), CJK fonts (Noto CJK, HanaMin, BabelStone Han)," >&2
    echo "nginx, ffmpeg and wrk, e.g. on macOS: brew install pango harfbuzz font-noto-serif-cjk-sc" >&2
    echo "font-hanamin font-babelstone-han nginx ffmpeg wrk" >&2
    exit 1
  fi
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = "0" ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
