"""Room left where the SSM agent and the GuardDuty agent write (facts/causes.py PLACES): bytes
and inodes free on the filesystem that holds each place, from statvfs(3).

Needs no privilege. A place not created yet (the agent's directory before its install) is
measured at its nearest parent that exists, where it would be created. Under --root a tree
cannot carry the free space of the disk it was copied from: the rooted host answers for the
filesystem the tree itself lies on.
"""

import posixpath
from typing import TYPE_CHECKING, List

from ..facts.causes import HOST_DISK_SPACE, PLACES, HostDiskSpace, PlaceSpace
from ..host.protocols import FILES
from ..probing import probe

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

# statvfs's f_flag bit for a read-only filesystem (linux include/linux/statfs.h).
ST_RDONLY = 0x1


def existing_parent(files: "FilesPart", path: str) -> str:
    """``path`` or its nearest parent that exists (``/`` at worst)."""
    while path != "/" and not files.exists(path):
        path = posixpath.dirname(path)
    return path


@probe(HOST_DISK_SPACE, parts=(FILES,))
def disk_space(ctx: "ProbeContext", files: "FilesPart") -> HostDiskSpace:
    """Distributor downloads and unpacks GuardDuty's package under /var/lib/amazon/ssm and
    the package manager writes its database and the agent's files: a full filesystem there
    fails the install (docs/causes.md)."""
    measured: List[PlaceSpace] = []
    problems: List[str] = []
    for place in PLACES:
        if place.optional and not files.exists(place.path):
            continue
        where = existing_parent(files, place.path)
        try:
            st = files.statvfs(where)
        except OSError as exc:
            problems.append(f"{where}: {exc.strerror or exc}")
            continue
        measured.append(
            PlaceSpace(
                place,
                where,
                st.blocks * st.block_size,
                st.blocks_free * st.block_size,
                st.files,
                st.files_free,
                bool(st.flags & ST_RDONLY),
            )
        )
    return HostDiskSpace(tuple(measured), tuple(problems))
