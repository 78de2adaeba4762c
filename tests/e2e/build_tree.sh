#!/bin/sh
# Build a minimal Debian tree that the end-to-end tests can boot instead of the host's own
# root (AMZN_GD_DOCTOR_E2E_TREE=DIR). Only needed where the host's /usr has no systemd, or to
# pin the systemd version under test. Needs root, debootstrap and Debian's package mirror.
#
#   tests/e2e/build_tree.sh [DIR] [SUITE] [MIRROR]
#
# Default DIR /var/cache/amzn-gd-doctor-e2e/<suite>; an existing tree is reused as is.
set -eu

SUITE=${2:-bookworm}
DIR=${1:-/var/cache/amzn-gd-doctor-e2e/$SUITE}
MIRROR=${3:-http://deb.debian.org/debian}

if [ -x "$DIR/usr/lib/systemd/systemd" ]; then
    echo "$DIR: already built"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap not installed" >&2; exit 1; }
rm -rf "$DIR.tmp"
mkdir -p "$(dirname "$DIR")"
# minbase + systemd, systemd-sysv (for /sbin/init) and dbus (systemctl and journal need none
# of the rest): about 40 s and 200 MB from a nearby mirror.
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus "$SUITE" "$DIR.tmp" "$MIRROR"
mv "$DIR.tmp" "$DIR"
echo "$DIR: built"
