#!/usr/bin/env bash
# Build what the doctor ships: dist/amzn-gd-doctor.pyz, the one file that runs on any python3
# from 3.6 to 3.13. Needs python3 (3.8 or newer for the build itself) and pip; the pinned
# dependency wheels are downloaded once into build/pyz-wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" scripts/build_pyz.py "$@"
