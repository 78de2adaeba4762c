"""The files part of the host: bounded reads, listings and metadata, and the OS identity.

``LiveFiles`` reads this machine's paths as they are. ``TreeFiles`` reads a foreign root
(``--root DIR``, like sos ``--sysroot``): each path resolved inside the tree as if chrooted there
(tree.py), so no link in the tree leads out of it, and no device node or FIFO of the tree is
ever opened. Needs no privilege of its own; what root-only files cannot be read surfaces as
PermissionError.
"""

import errno
import io
import os
import stat
from typing import IO, Any, Dict, List, Optional

from ..values import value
from . import tree

# os-release as the standard orders it: /etc first, the vendor's /usr/lib copy as the fallback.
# Each is a few hundred bytes; 16 KiB bounds a hostile tree's file without cutting a real one.
OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
OS_RELEASE_LIMIT = 16 * 1024


@value
class StatVfs:
    """statvfs(3) of the filesystem that holds a path: its size and what is left of it, in
    blocks of ``block_size`` bytes (``f_frsize``) and in inodes. ``*_free`` is what root may
    still use (``f_bfree``, ``f_ffree``: both agents run as root), ``*_avail`` what any user may
    (``f_bavail``, ``f_favail``). ``flags`` is ``f_flag`` (``ST_RDONLY`` 0x1, ``ST_NOEXEC`` 0x8)."""

    block_size: int
    blocks: int
    blocks_free: int
    blocks_avail: int
    files: int
    files_free: int
    files_avail: int
    flags: int


def _statvfs(real: str) -> StatVfs:
    st = os.statvfs(real)
    return StatVfs(
        st.f_frsize or st.f_bsize,
        st.f_blocks,
        st.f_bfree,
        st.f_bavail,
        st.f_files,
        st.f_ffree,
        st.f_favail,
        st.f_flag,
    )


def _identity(info: Any) -> "Dict[str, str]":
    try:
        return {
            "id": info.id(),
            "version_id": info.version(best=False),
            "name": info.name(pretty=True),
            "like": info.like(),
            "codename": info.codename(),
            "raw_id": info.os_release_attr("id"),
        }
    except UnicodeDecodeError as exc:
        raise ValueError(f"os-release is not UTF-8 text ({exc.reason})") from exc


class LiveFiles:
    """This machine's files, paths read as they are."""

    def path(self, path: str) -> str:
        """Where ``path`` is on this machine: itself."""
        return path

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
        with open(path, "rb") as fh:
            return _read_bounded(fh, limit, tail)

    def exists(self, path: str) -> bool:
        """Whether anything is there, a dangling link included (``os.path.lexists``)."""
        return os.path.lexists(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def list_dir(self, path: str) -> "List[str]":
        return sorted(os.listdir(path))

    def file_size(self, path: str) -> int:
        return os.stat(path).st_size

    def mtime(self, path: str) -> float:
        return os.stat(path).st_mtime

    def readlink(self, path: str) -> str:
        return os.readlink(path)

    def statvfs(self, path: str) -> StatVfs:
        return _statvfs(path)

    def os_release(self) -> "Dict[str, str]":
        """OS identity through distro: /etc/os-release, else /usr/lib/os-release."""
        import distro

        try:
            info = distro.LinuxDistribution(
                include_lsb=False, include_uname=False, include_oslevel=False
            )
        except UnicodeDecodeError as exc:
            raise ValueError(f"os-release is not UTF-8 text ({exc.reason})") from exc
        return _identity(info)


class TreeFiles:
    """The files of a tree at ``root``, every path resolved inside it (tree.py)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self._root_real: Optional[str] = None

    def path(self, path: str) -> str:
        """The file ``path`` names inside the tree, its links followed as if the doctor were
        chrooted there."""
        return tree.resolve(self.root, path)

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
        with os.fdopen(self._open_in_tree(path, stat.S_IFREG), "rb") as fh:
            return _read_bounded(fh, limit, tail)

    def exists(self, path: str) -> bool:
        """Whether anything is there, a dangling link included (``os.path.lexists``)."""
        try:
            os.lstat(tree.resolve(self.root, path, follow_last=False))
        except OSError:
            return False
        return True

    def is_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(self._lstat_in_tree(path).st_mode)
        except OSError:
            return False

    def list_dir(self, path: str) -> "List[str]":
        fd = self._open_in_tree(path, stat.S_IFDIR)
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def file_size(self, path: str) -> int:
        return self._lstat_in_tree(path).st_size

    def mtime(self, path: str) -> float:
        return self._lstat_in_tree(path).st_mtime

    def readlink(self, path: str) -> str:
        """The link's own text, unchanged (``/dev/null`` for a masked unit, also in a tree)."""
        return os.readlink(tree.resolve(self.root, path, follow_last=False))

    def statvfs(self, path: str) -> StatVfs:
        """The filesystem that holds the tree's own copy of ``path``: a tree cannot carry the
        free space of the disk it was copied from, so this is the space where the tree lies
        (a test puts a tree on a small tmpfs to show a full disk)."""
        return _statvfs(tree.resolve(self.root, path))

    def _lstat_in_tree(self, path: str) -> os.stat_result:
        """The file ``path`` names in the tree; its links are followed by the resolver, so the
        last component is no link (lstat keeps it so if one were swapped in meanwhile)."""
        return os.lstat(tree.resolve(self.root, path))

    def _open_in_tree(self, path: str, kind: int) -> int:
        """A descriptor on the file ``path`` names in the tree, of ``kind`` (S_IFREG or
        S_IFDIR). The kind is checked before the open, so no device node or FIFO of the tree
        is ever opened; the last component is opened without following a link; and the open
        file must be the one checked and lie inside the tree, so a link swapped into the tree
        between the resolution and the open is refused instead of read."""
        real = tree.resolve(self.root, path)
        before = os.lstat(real)
        _check_kind(path, before.st_mode, kind)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        fd = os.open(real, flags | (os.O_DIRECTORY if kind == stat.S_IFDIR else 0))
        try:
            after = os.fstat(fd)
            where = _open_file_path(fd)
            if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) or (
                where is not None and not tree.inside(self._real_root(), where)
            ):
                raise OSError(errno.EXDEV, "changed while read: it led out of the tree", path)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _real_root(self) -> str:
        """The tree's top as the kernel names open files (links in DIR itself resolved), asked
        of the kernel rather than found by walking the directories above the tree."""
        if self._root_real is None:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                self._root_real = _open_file_path(fd) or self.root
            finally:
                os.close(fd)
        return self._root_real

    def os_release(self) -> "Dict[str, str]":
        """The tree's OS identity, its os-release read through the tree's resolver (see
        ``_tree_distribution``)."""
        import distro

        try:
            info = self._tree_distribution(distro)
        except UnicodeDecodeError as exc:
            raise ValueError(f"os-release is not UTF-8 text ({exc.reason})") from exc
        return _identity(info)

    def _tree_distribution(self, distro: Any) -> Any:
        """distro's answer for the tree's files. Given ``root_dir``, distro opens
        ``DIR/etc/os-release``, ``DIR/etc/*-release`` and ``DIR/etc/debian_version`` itself and
        follows their links out of the tree (``/etc/os-release -> /usr/lib/os-release`` would
        name the host's file). So the files are read here, through the resolver, and handed to
        distro as its data sources; its normalisation (``ol`` -> ``oracle``, codenames, the
        version fallbacks) is kept. The tree's ``/etc/*-release`` files are not searched."""
        text = b""
        for candidate in OS_RELEASE_FILES:
            try:
                text = self.read_bytes(candidate, OS_RELEASE_LIMIT)
                break
            except (FileNotFoundError, NotADirectoryError):
                continue
        info = distro.LinuxDistribution(
            include_lsb=False,
            include_uname=False,
            include_oslevel=False,
            os_release_file=OS_RELEASE_FILES[0],
            distro_release_file=OS_RELEASE_FILES[0],
        )
        release = info._parse_os_release_content(io.StringIO(text.decode("utf-8")))
        debian = release.get("id") == "debian" or "debian" in release.get("id_like", "").split()
        # distro's data sources are cached properties; an instance attribute of the same name
        # is what their first use would have stored, so distro opens no file of its own.
        info.__dict__.update(
            _os_release_info=release,
            _distro_release_info={},
            _debian_version=self._debian_version() if debian else "",
        )
        return info

    def _debian_version(self) -> str:
        try:
            data = self.read_bytes("/etc/debian_version", OS_RELEASE_LIMIT)
        except (FileNotFoundError, NotADirectoryError):
            return ""
        return data.decode("ascii", "replace").partition("\n")[0].rstrip()


def _read_bounded(fh: "IO[bytes]", limit: int, tail: bool) -> bytes:
    if tail:
        try:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                fh.seek(size - limit)
        except OSError:
            pass  # pseudo files without a size: read from the start
    return fh.read(limit)


def _check_kind(path: str, mode: int, kind: int) -> None:
    if stat.S_IFMT(mode) == kind:
        return
    if kind == stat.S_IFDIR:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    raise OSError(errno.EINVAL, "not a regular file in the tree", path)


def _open_file_path(fd: int) -> "Optional[str]":
    """Where the kernel says an open descriptor's file is; None without a /proc to ask."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
