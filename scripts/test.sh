#!/usr/bin/env bash
# Set up and run every test: system packages (Debian/Ubuntu), the suite on the newest Python
# found, the CLI scenarios again on Python 3.9 (the supported floor), and a static floor check.
# Extra arguments go to the first pytest run (e.g. -k imds, --update-golden).
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd-container: nspawn end-to-end tests; systemd-journal-remote: real journal files;
# dnsmasq-base: a real DNS server; libsystemd-dev, pkg-config, gcc, python3-dev: build
# systemd-python; iproute2, util-linux: network namespaces and setpriv.
APT_PACKAGES="systemd systemd-container systemd-journal-remote dnsmasq-base libsystemd-dev pkg-config gcc python3-dev iproute2 util-linux"
if command -v apt-get >/dev/null 2>&1; then
  missing=""
  for pkg in $APT_PACKAGES; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "== installing system packages:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# A given minor version of CPython: pyenv's if present, else one on PATH.
find_python() {
  local minor=$1 root candidate
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for candidate in $(ls -d "$root"/versions/"$minor".* 2>/dev/null | sort -V -r); do
      [ -x "$candidate/bin/python3" ] && { echo "$candidate/bin/python3"; return 0; }
    done
  fi
  command -v "python$minor" 2>/dev/null || return 1
}

NEWEST=""
for minor in 3.14 3.13 3.12 3.11 3.10; do
  NEWEST=$(find_python "$minor") && break
done
[ -n "$NEWEST" ] || NEWEST=$(command -v python3)
FLOOR=$(find_python 3.9 || true)

venv() {  # venv DIR PYTHON EXTRAS
  [ -x "$1/bin/python" ] || "$2" -m venv "$1"
  "$1/bin/python" -m pip install -q --disable-pip-version-check -e ".[$3]"
}

# CPython 3.13.0 cannot import `socket` inside an nspawn container (SystemError in _socket's
# initialisation), so the systemd-nspawn tests run the doctor on the floor interpreter when
# there is one; without one they run with the rest.
NSPAWN_ON_FLOOR=""
[ -n "$FLOOR" ] && NSPAWN_ON_FLOOR=1

echo "== suite on $("$NEWEST" --version)"
venv .venv-test "$NEWEST" "test,journal,dev"
.venv-test/bin/ruff check amzn_gd_doctor tests bench
.venv-test/bin/ruff format --check amzn_gd_doctor tests bench
.venv-test/bin/mypy amzn_gd_doctor
if [ -n "$NSPAWN_ON_FLOOR" ]; then
  .venv-test/bin/python -m pytest -q -m "not nspawn" "$@"
else
  .venv-test/bin/python -m pytest -q "$@"
fi

if [ -n "$FLOOR" ]; then
  echo "== floor: CLI scenarios and systemd-nspawn tests on $("$FLOOR" --version)"
  venv .venv-test-floor "$FLOOR" "test,journal"
  .venv-test-floor/bin/python -m pytest -q -m "floor or nspawn" -p no:cacheprovider
  .venv-test/bin/vermin --no-tips --violations --target=3.9- --eval-annotations amzn_gd_doctor >/dev/null \
    || { echo "vermin: code needs a newer Python than 3.9:"; .venv-test/bin/vermin --no-tips --violations --target=3.9- --eval-annotations amzn_gd_doctor; exit 1; }
  echo "vermin: amzn_gd_doctor runs on Python 3.9"
else
  echo "== floor: no Python 3.9 found (install it with pyenv to run the floor check)"
fi
