#!/usr/bin/env bash
# Make build/arm64-tree: Debian 12's aarch64 python3 and the libraries it needs, unpacked (not
# installed) by debootstrap --foreign, so that qemu-aarch64-static can run the one-file build
# as a real aarch64 process here: qemu-aarch64-static -L TREE TREE/usr/bin/python3 FILE.pyz.
# Needs debootstrap, qemu-user-static and dpkg-deb (Debian packages), and the Debian archive.
set -euo pipefail
cd "$(dirname "$0")/.."
TREE=${1:-build/arm64-tree}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -x "$TREE/usr/bin/python3" ]; then
  echo "$TREE: already made"
  exit 0
fi
rm -rf "$TREE.tmp"
debootstrap --arch=arm64 --foreign --variant=minbase --include=python3-minimal,libpython3.11-stdlib \
  bookworm "$TREE.tmp" "$MIRROR" >/dev/null
# --foreign leaves the packages of the second stage (python3 among them) in the archive cache.
for deb in "$TREE.tmp"/var/cache/apt/archives/*.deb; do
  dpkg-deb -x "$deb" "$TREE.tmp"
done
rm -f "$TREE.tmp"/var/cache/apt/archives/*.deb
mv "$TREE.tmp" "$TREE"
echo "$TREE: $(qemu-aarch64-static -L "$TREE" "$TREE/usr/bin/python3" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')"
