#!/usr/bin/env bash
# Install amzn-gd-doctor into ./.venv (once) and run it as root with any arguments given.
# Works with any python3 from 3.6 (Oracle Linux 8) on; PYTHON=... picks another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
PYTHON=${PYTHON:-$(command -v python3 || echo /usr/libexec/platform-python)}
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# An old interpreter's own pip cannot read today's package metadata: raise it first to the
# newest release that still runs there.
case $(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') in
  3.6) PIP="pip<22" ;; 3.7) PIP="pip<24.1" ;; 3.8) PIP="pip<25.1" ;; *) PIP="pip" ;;
esac
.venv/bin/python -m pip install -q --disable-pip-version-check -U "$PIP"
.venv/bin/python -m pip install -q --disable-pip-version-check .
exec $SUDO .venv/bin/amzn-gd-doctor "$@"
