#!/usr/bin/env bash
# Install amzn-gd-doctor into ./.venv and run it as root with any arguments given. It installs
# again only when the project changed (its sources, pyproject.toml or the interpreter), so a
# second call starts as fast as the doctor. Works with any python3 from 3.6 (Oracle Linux 8) on;
# PYTHON=... picks another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
PYTHON=${PYTHON:-$(command -v python3 || echo /usr/libexec/platform-python)}
# What the installed copy was made from: every source file's content, and the interpreter.
stamp() {
  { find amzn_gd_doctor pyproject.toml -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum
    "$PYTHON" -c 'import sys; print(sys.executable, sys.version)'
  } | sha256sum | cut -d' ' -f1
}
want=$(stamp)
if [ "$(cat .venv/.installed-from 2>/dev/null)" != "$want" ]; then
  if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get install -y -qq python3-venv >/dev/null
  fi
  kept=0; [ -x .venv/bin/python ] && kept=1
  [ "$kept" = 1 ] || "$PYTHON" -m venv .venv
  # An old interpreter's own pip cannot read today's package metadata: raise it first to the
  # newest release that still runs there.
  case $(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') in
    3.6) PIP="pip<22" ;; 3.7) PIP="pip<24.1" ;; 3.8) PIP="pip<25.1" ;; *) PIP="pip" ;;
  esac
  .venv/bin/python -m pip install -q --disable-pip-version-check -U "$PIP"
  .venv/bin/python -m pip install -q --disable-pip-version-check .
  # The version number stays the same between changes: put this checkout in whatever was there.
  if [ "$kept" = 1 ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
  fi
  echo "$want" > .venv/.installed-from
fi
exec $SUDO .venv/bin/amzn-gd-doctor "$@"
