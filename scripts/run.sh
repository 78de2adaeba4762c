#!/usr/bin/env bash
# Install amzn-gd-doctor into ./.venv (once) and run it as root with any arguments given.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check .
exec $SUDO .venv/bin/amzn-gd-doctor "$@"
