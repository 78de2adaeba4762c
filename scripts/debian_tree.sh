#!/usr/bin/env bash
# Make build/debian12-tree: a minimal Debian 12 (amd64) root with python3 and the CA bundle,
# installed by debootstrap, in which the tests install the doctor's packages with dpkg and
# rpm and run its SSM document with chroot. Needs debootstrap and the Debian archive.
set -euo pipefail
cd "$(dirname "$0")/.."
TREE=${1:-build/debian12-tree}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -x "$TREE/usr/bin/python3" ]; then
  echo "$TREE: already made"
  exit 0
fi
rm -rf "$TREE.tmp"
debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$TREE.tmp" "$MIRROR" >/dev/null
rm -f "$TREE.tmp"/var/cache/apt/archives/*.deb
mv "$TREE.tmp" "$TREE"
echo "$TREE: $(chroot "$TREE" python3 --version)"
