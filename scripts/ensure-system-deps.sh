#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when something is missing:
# Chromium (browser tests), poppler-utils (pdftotext/pdftoppm/pdffonts), zbar-tools (QR decoding),
# a Japanese font (PDF rendering) and gettext (translations).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
fc-list :lang=ja 2>/dev/null | grep -q . || missing+=(fonts-ipaexfont-gothic fonts-ipaexfont-mincho)
fc-list 2>/dev/null | grep -qi ipaexg || missing+=(fonts-ipaexfont-gothic)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
fc-cache -f >/dev/null 2>&1 || true
