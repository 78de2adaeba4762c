#!/usr/bin/env bash
# Set up and run every test (Debian/Ubuntu):
#   1. the system packages the real-component tests need;
#   2. lint, format, types and the 3.6 floor (vermin), then the whole suite on the newest Python;
#   3. the systemd-nspawn tests on Python 3.9 (CPython 3.13.0 cannot import socket in nspawn);
#   4. `pip install .` on 3.6, 3.7, 3.8, 3.9 and the newest, each diagnosing the CLI corpus
#      (every tree on the floor, a sample of them on the others);
#   5. the one-file build replaying the corpus on every interpreter from 3.6 to 3.13 (every
#      tree on the floor, the sample on the others; the suite ran every tree on the newest),
#      and the sample on aarch64 under qemu-user.
# Interpreters come from pyenv (or python3.X on PATH). A missing one is named and its part
# skipped; the summary at the end lists every skipped part.
# Extra arguments go to the suite's pytest run (e.g. -k imds, --update-golden).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each part's heading says when it began, so that CI's time (kept under 15 minutes) can be
# read part by part.
STARTED=$(date +%s)
section() { echo "== $* (at $(($(date +%s) - STARTED)) s)"; }

# systemd-container: nspawn end-to-end tests; systemd-journal-remote: real journal files;
# dnsmasq-base: a real DNS server; libsystemd-dev, pkg-config, gcc, python3-dev: build
# systemd-python; iproute2, util-linux: network namespaces and setpriv; debootstrap and
# qemu-user-static: an aarch64 python3 to run the one-file build; chromium: the fleet page
# rendered headless; lintian: the .deb checked as Debian checks packages; man-db: the man page
# rendered as `man` shows it; strace: what the one file's own process asks to write; python3-venv:
# scripts/build.sh makes its build environment with the system's python3.
APT_PACKAGES="systemd systemd-container systemd-journal-remote dnsmasq-base libsystemd-dev pkg-config gcc python3-dev iproute2 util-linux debootstrap qemu-user-static rpm cpio chromium lintian man-db strace python3-venv"
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

SKIPPED=()
skip() { echo "== SKIPPED: $*"; SKIPPED+=("$*"); }

# A given minor version of CPython: pyenv's newest of that minor if present, else python3.X.
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

# What a user on an old host does first: raise pip to the newest release that still runs there
# (an old pip cannot read today's package metadata; see shared reference, section 8).
pip_for() {
  case $1 in
    3.6) echo "pip<22" ;; 3.7) echo "pip<24.1" ;; 3.8) echo "pip<25.1" ;; *) echo "pip" ;;
  esac
}

venv() {  # venv DIR PYTHON MINOR PIP-ARGS...
  local dir=$1 python=$2 minor=$3; shift 3
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -U "$(pip_for "$minor")"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
}

MINORS="3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13"
NEWEST=""; NEWEST_MINOR=""
for minor in 3.14 3.13 3.12 3.11 3.10; do
  NEWEST=$(find_python "$minor") && { NEWEST_MINOR=$minor; break; }
done
[ -n "$NEWEST" ] || { echo "no Python 3.10 or newer found: the suite needs one"; exit 1; }

section "suite on $("$NEWEST" --version)"
venv .venv-test "$NEWEST" "$NEWEST_MINOR" -e ".[test,journal,dev]"
T=.venv-test/bin
$T/ruff check amzn_gd_doctor tests bench scripts packaging
$T/ruff format --check amzn_gd_doctor tests bench scripts packaging
$T/mypy amzn_gd_doctor
# The tests' builders, fakes and fixtures: every module under tests/ but the test files.
(cd tests && MYPYPATH=.. "../$T/mypy" --config-file ../pyproject.toml \
  $(find . -name '*.py' ! -name 'test_*' ! -name '__init__.py' | sort))
$T/lint-imports
# vermin.ini holds the floor (3.6).
$T/vermin --no-tips --violations amzn_gd_doctor packaging/pyz packaging/nfpm/launcher.py >/dev/null \
  || { $T/vermin --no-tips --violations amzn_gd_doctor packaging/pyz packaging/nfpm/launcher.py; exit 1; }
echo "vermin: amzn_gd_doctor runs on Python 3.6"
FLOOR39=$(find_python 3.9 || true)
# Three workers: most tests wait on loopback servers, subprocesses and timeouts, not the CPU.
if [ -n "$FLOOR39" ]; then
  $T/python -m pytest -q -m "not nspawn" -n 3 "$@"
  section "systemd-nspawn tests on $("$FLOOR39" --version)"
  venv .venv-test-3.9 "$FLOOR39" 3.9 -e ".[test,journal]"
  .venv-test-3.9/bin/python -m pytest -q -m nspawn -p no:cacheprovider
else
  skip "no Python 3.9: the systemd-nspawn tests run on $("$NEWEST" --version) instead"
  $T/python -m pytest -q -n 3 "$@"
fi

# The trees the builds above the floor replay (and the one file under emulation): each area's
# failures and passes, old and new kernels, every distribution family, a host that is not EC2,
# and the planted secrets. The floor replays every tree, and the suite every tree on the newest.
SAMPLE_TREES="agent-healthy agent-oom al2-4.14 al2023-6.1 ubuntu-24.04 debian-12 rhel-9.4 sles-16 ssm-healthy ssm-stopped not-ec2-qemu canary-secrets"
sample() { for tree in $SAMPLE_TREES; do printf 'tests/test_corpus.py::test_tree[%s] ' "$tree"; done; }

corpus() {  # corpus LABEL COMMAND [PYTEST-ARGS...]: the CLI corpus against another build
  local label=$1 command=$2; shift 2
  section "corpus: $label"
  AMZN_GD_DOCTOR_COMMAND="$command" $T/python -m pytest -q -p no:cacheprovider -m corpus \
    -n 4 "$@"
}

section "pip install . on every supported minor that pip can still serve"
for minor in 3.6 3.7 3.8 3.9 "$NEWEST_MINOR"; do
  python=$(find_python "$minor") || { skip "no Python $minor: pip install . not tried there"; continue; }
  venv ".venv-pkg-$minor" "$python" "$minor" .
  # A venv kept from an earlier run holds the same version number: put this checkout in.
  ".venv-pkg-$minor/bin/python" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall .
  case $minor in
    3.6) corpus "installed package on $("$python" --version)" ".venv-pkg-$minor/bin/amzn-gd-doctor" ;;
    *) corpus "installed package on $("$python" --version) (sample trees and CLI)" ".venv-pkg-$minor/bin/amzn-gd-doctor" \
         $(sample) tests/test_cli.py tests/test_cli_plain.py ;;
  esac
done

section "the build, as on a fresh clone"
# Only python3 and its venv module: the script makes (or reuses) its own build environment.
./scripts/build.sh
# The whole corpus on the floor; the sample trees and the CLI tests on every newer interpreter
# (the one file carries the same dependencies everywhere, so what differs between them is the
# standard library, and the suite above ran every tree on the newest). This keeps CI well
# under 15 minutes.
for minor in $MINORS; do
  python=$(find_python "$minor") || { skip "no Python $minor: the one-file build not replayed there"; continue; }
  case $minor in
    3.6) corpus "dist/amzn-gd-doctor.pyz on $("$python" --version)" "$python dist/amzn-gd-doctor.pyz" ;;
    *) corpus "dist/amzn-gd-doctor.pyz on $("$python" --version) (sample trees and CLI)" "$python dist/amzn-gd-doctor.pyz" \
         $(sample) tests/test_cli.py tests/test_cli_plain.py ;;
  esac
done

section "one-file build on aarch64 (qemu-user)"
# The sample trees. Two workers, one per core: an emulated run takes about 1.4 s of CPU, and
# four at once on two cores pushed runs past the doctor's 10 s deadline (agent checks then came
# out inconclusive). Emulation on a loaded machine is several times slower again, so these runs
# get a 60 s deadline: nothing in a --root run waits on the network, so the deadline changes no
# verdict, only whether slow probes finish.
if ./scripts/debian_tree.sh arm64 build/arm64-tree; then
  AMZN_GD_DOCTOR_TEST_DEADLINE=60 corpus "dist/amzn-gd-doctor.pyz on aarch64 $(qemu-aarch64-static -L build/arm64-tree build/arm64-tree/usr/bin/python3 --version) (sample trees)" \
    "qemu-aarch64-static -L build/arm64-tree build/arm64-tree/usr/bin/python3 dist/amzn-gd-doctor.pyz" \
    $(sample) -n 2
else
  skip "no aarch64 tree (debootstrap of Debian 12 arm64 failed): the one-file build not run on aarch64"
fi

section "done"
if [ ${#SKIPPED[@]} -gt 0 ]; then
  echo "== ${#SKIPPED[@]} part(s) skipped:"
  printf '   - %s\n' "${SKIPPED[@]}"
else
  echo "== every part ran: nothing skipped"
fi
