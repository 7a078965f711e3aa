#!/usr/bin/env bash
# Checks the system libraries and fonts the portal needs and installs what is missing with
# apt-get when run as root on Debian/Ubuntu; otherwise says exactly what to install.
# Used by `make run` and `.ci/run`; extra Debian packages can be named as arguments.
#   libpango-1.0-0 libpangoft2-1.0-0  WeasyPrint (PDF certificates, printable forms)
#   libharfbuzz-subset0               fast font subsetting for the certificates
#   fonts-noto-cjk                    Chinese text in PDFs
#   fonts-hanazono fonts-babelstone-han  rare characters in names (CJK Extensions B to H)
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-noto-cjk fonts-hanazono
  fonts-babelstone-han "$@")

if ! command -v dpkg >/dev/null; then
  if ! fc-list :lang=zh 2>/dev/null | grep -q . || ! ldconfig -p 2>/dev/null | grep -q libpango-1.0; then
    echo "Install Pango, HarfBuzz (with its subset library) and CJK fonts (Noto CJK, HanaMin, BabelStone Han)," >&2
    echo "e.g. on macOS: brew install pango harfbuzz font-noto-serif-cjk-sc font-hanamin font-babelstone-han" >&2
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
