#!/usr/bin/env bash
# Make a Debian 12 root with python3 for the tests: debian_tree.sh ARCH TREE
#   amd64 (this machine's): installed by debootstrap, with the CA bundle. The tests install
#         the doctor's packages in it with dpkg and rpm and run its SSM document under chroot.
#   arm64: Debian's aarch64 python3 and the libraries it needs, unpacked (not installed) by
#         debootstrap --foreign, so that qemu-aarch64-static runs the one-file build as a real
#         aarch64 process: qemu-aarch64-static -L TREE TREE/usr/bin/python3 FILE.pyz.
# Needs debootstrap (and qemu-user-static for arm64) and the Debian archive. A tree already
# made is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=$1
TREE=$2
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -x "$TREE/usr/bin/python3" ]; then
  echo "$TREE: already made"
  exit 0
fi
rm -rf "$TREE.tmp"
NATIVE=$(dpkg --print-architecture)
if [ "$ARCH" = "$NATIVE" ]; then
  debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$TREE.tmp" "$MIRROR" >/dev/null
else
  debootstrap --arch="$ARCH" --foreign --variant=minbase --include=python3-minimal,libpython3.11-stdlib \
    bookworm "$TREE.tmp" "$MIRROR" >/dev/null
  # --foreign leaves the packages of the second stage (python3 among them) in the archive cache.
  for deb in "$TREE.tmp"/var/cache/apt/archives/*.deb; do
    dpkg-deb -x "$deb" "$TREE.tmp"
  done
fi
rm -f "$TREE.tmp"/var/cache/apt/archives/*.deb
mv "$TREE.tmp" "$TREE"
if [ "$ARCH" = "$NATIVE" ]; then
  echo "$TREE: $(chroot "$TREE" python3 --version)"
else
  echo "$TREE: $(qemu-aarch64-static -L "$TREE" "$TREE/usr/bin/python3" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')"
fi
