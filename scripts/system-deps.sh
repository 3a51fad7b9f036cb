#!/usr/bin/env bash
# System packages the tests need and pip cannot provide: a real PostgreSQL server (audit store
# and SQL connectors are tested on it) and Debian's Chromium for the console's browser tests.
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail
want=(postgresql chromium chromium-driver)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
