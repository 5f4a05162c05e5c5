#!/usr/bin/env bash
# Install Debian's headless-capable Chromium and its WebDriver (chromium-driver), for the browser
# tests: the Superset dashboard rendering test and the catalogue site test (tests/metrics/site/).
# A no-op when /usr/bin/chromium and /usr/bin/chromedriver exist. Needs apt-get (as root, or
# through sudo when available).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present); $(/usr/bin/chromedriver --version 2>/dev/null | head -1 || echo chromedriver present)"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-chromium.sh: run as root (apt-get install -y chromium chromium-driver)" >&2; exit 1; }
  sudo="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core
/usr/bin/chromium --version
/usr/bin/chromedriver --version
