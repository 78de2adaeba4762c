"""The mounts that hold the places the SSM agent and the GuardDuty agent use (facts/causes.py
PLACES), from /proc/self/mountinfo: whether each is noexec or read-only.

/proc/self/mountinfo is world-readable; it is the doctor's own mount namespace, which is the
host's when the doctor runs from a shell or from SSM Run Command. Under --root, the tree's
captured copy. A place behind a symbolic link is looked up by the path as written.
"""

from typing import TYPE_CHECKING, List, Optional, Tuple

from ..facts.causes import HOST_MOUNTS, PLACES, HostMounts, Mount, PlaceMount
from ..host import CouldNotLook
from ..host.protocols import FILES
from ..probing import probe
from ..sanitize import clean

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

MOUNTINFO = "/proc/self/mountinfo"
# A host has tens of mounts, a container host a few hundred (each container's overlay and its
# /proc and /sys entries); 1 MiB is thousands of lines.
MOUNTINFO_LIMIT = 1024 * 1024
# Paths, types and sources are shown, never matched past this: a mount point is a path.
FIELD_CHARS = 200


def _unescape(field: str) -> str:
    r"""mountinfo writes space, tab, newline and backslash in a path as octal: ``\040``."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        chunk = field[i + 1 : i + 4]
        if field[i] == "\\" and len(chunk) == 3 and all(c in "01234567" for c in chunk):
            out.append(chr(int(chunk, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> "Tuple[List[Mount], int]":
    """Lines of /proc/self/mountinfo (proc_pid_mountinfo(5)), in the kernel's order, and how
    many were not in its shape:
    ``36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`` ->
    Mount("/mnt2", "ext3", "/dev/root", ("rw", "noatime"), ("rw", "errors=continue"))."""
    mounts: List[Mount] = []
    skipped = 0
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if "-" not in fields[6:] or len(fields) < 10 or not fields[4].startswith("/"):
            skipped += 1
            continue
        dash = fields.index("-", 6)
        tail = fields[dash + 1 :]
        if len(tail) < 2:
            skipped += 1
            continue
        mounts.append(
            Mount(
                clean(_unescape(fields[4]), FIELD_CHARS),
                clean(tail[0], FIELD_CHARS),
                clean(_unescape(tail[1]), FIELD_CHARS),
                tuple(fields[5].split(",")),
                tuple(tail[2].split(",")) if len(tail) > 2 else (),
            )
        )
    return mounts, skipped


def holding(mounts: "List[Mount]", path: str) -> "Optional[Mount]":
    """The mount ``path`` lies on: the longest mount point above it, and of mounts stacked on
    one point the last (the kernel lists a mount after the one it covers)."""
    best: Optional[Mount] = None
    for mount in mounts:
        point = mount.mount_point.rstrip("/")
        above = path == point or path.startswith(point + "/") or point == ""
        if above and (best is None or len(point) >= len(best.mount_point.rstrip("/"))):
            best = mount
    return best


@probe(HOST_MOUNTS, parts=(FILES,))
def mounts(ctx: "ProbeContext", files: "FilesPart") -> HostMounts:
    """noexec under /var/lib/amazon/ssm makes every step of an SSM document exit 126; a
    read-only mount stops the install writing (docs/causes.md)."""
    try:
        data = files.read_bytes(MOUNTINFO, MOUNTINFO_LIMIT)
    except FileNotFoundError:
        raise CouldNotLook(
            f"there is no {MOUNTINFO} to read (a tree captured without it)"
        ) from None
    table, skipped = parse_mountinfo(data.decode("utf-8", "replace"))
    if not table:
        raise CouldNotLook(f"{MOUNTINFO} holds no mount ({skipped} lines not in its shape)")
    places = tuple(
        PlaceMount(place, holding(table, place.path))
        for place in PLACES
        if not place.optional or files.exists(place.path)
    )
    return HostMounts(len(table), places, skipped)
