#!/usr/bin/env bash
# Checks the system libraries the portal needs (Pango for WeasyPrint, a CJK font, GNU gettext
# optional). Installs them with apt-get when run as root on Debian/Ubuntu; otherwise says what to
# install. Used by `make run` and `.ci/run`. Extra packages can be named as arguments.
set -euo pipefail

missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib libpango-1.0.so || missing+=(libpango-1.0-0)
have_lib libpangoft2-1.0.so || missing+=(libpangoft2-1.0-0)
if ! command -v fc-list >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  missing+=(fonts-noto-cjk fontconfig)
fi
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if command -v apt-get >/dev/null && [ "$(id -u)" = "0" ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them, e.g. on Debian/Ubuntu: sudo apt-get install ${missing[*]}" >&2
  echo "(on macOS: brew install pango font-noto-sans-cjk)" >&2
  exit 1
fi
