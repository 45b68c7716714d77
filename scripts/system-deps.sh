#!/usr/bin/env bash
# Debian packages the tests need: Tesseract with Chinese data (the tesseract
# engine), CJK TrueType fonts (the bulletin generator), Chromium (the browser
# check of the datasette UI). Installs only what is missing.
set -euo pipefail
pkgs=(tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-zenhei fonts-arphic-uming chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
