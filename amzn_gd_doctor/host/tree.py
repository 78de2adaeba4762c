"""Paths under a foreign root (``--root DIR``), resolved as if the doctor were chrooted there.

What it guarantees: ``walk`` turns any path into a tree path (``/a/b``: absolute, no ``.``,
``..`` or empty components) by walking it one component at a time, the way the kernel walks a
path inside chroot(2):

- a symbolic link with an absolute target continues from the top of the tree, not of the host;
- a relative target continues from the directory that holds the link;
- ``..`` at the top of the tree stays there, whether it comes from the path asked for or from a
  link's text;
- at most ``MAX_SYMLINKS`` links are followed in one walk, then OSError(ELOOP), so a loop ends;
- an empty link text is ENOENT, as in the kernel.

So ``resolve(ROOT, path)`` is ROOT followed by that tree path, and every system call made with
it names a file inside ROOT whose directories on the way are no links. ``walk`` is pure: it
learns what is a link only through the ``link_text`` function it is given, which ``resolve``
answers with readlink(2) on paths that are themselves already inside ROOT.

What it does not do: a link swapped into a directory of the tree between the walk and the open
is not seen here. The host therefore opens the last component with O_NOFOLLOW and checks where
the open file really is (``inside``) before it reads a byte. Needs no privilege.
"""

import errno
import os
from typing import Callable, List, Optional

# The kernel's own bound on links followed in one path walk (MAXSYMLINKS, 40 since Linux 4.2).
MAX_SYMLINKS = 40


def walk(path: str, link_text: "Callable[[str], Optional[str]]", follow_last: bool = True) -> str:
    """The tree path that ``path`` names. ``link_text(tree_path)`` is the text of the link at
    that tree path, or None when it is no link (or is absent: the open that follows says so).
    With ``follow_last`` false a link in the last component is itself the answer, as lstat(2)
    and readlink(2) see it; a trailing slash follows it anyway, as in the kernel."""
    if path.endswith("/"):
        follow_last = True
    pending = _components(path)
    done: List[str] = []
    followed = 0
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":
            if done:
                done.pop()
            continue
        if not pending and not follow_last:
            done.append(name)
            break
        target = link_text("/" + "/".join(done + [name]))
        if target is None:
            done.append(name)
            continue
        followed += 1
        if followed > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        if not target:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if target.startswith("/"):
            done = []
        pending.extend(_components(target))
    return "/" + "/".join(done)


def resolve(root: str, path: str, follow_last: bool = True) -> str:
    """ROOT joined with the tree path ``path`` names inside ROOT (see ``walk``)."""

    def link_text(tree_path: str) -> "Optional[str]":
        try:
            return os.readlink(join(root, tree_path))
        except OSError:
            return None  # not a link, or absent, or unreadable: the open that follows says so

    return join(root, walk(path, link_text, follow_last))


def join(root: str, tree_path: str) -> str:
    """``/srv/tree`` and ``/etc/os-release`` -> ``/srv/tree/etc/os-release``."""
    rest = tree_path.lstrip("/")
    return os.path.join(root, rest) if rest else root


def inside(real_root: str, real_path: str) -> bool:
    """Whether ``real_path`` (as the kernel names an open file) lies in ``real_root``."""
    return real_path == real_root or real_path.startswith(real_root.rstrip("/") + "/")


def _components(path: str) -> "List[str]":
    """The components of ``path``, last first, ready to be popped in order."""
    return path.split("/")[::-1]
