"""The one kind of file the doctor writes: `check -o` and `fleet summarize -o` reports. Root
often runs it in a folder another user can write, so the target is never checked first and
opened later: its folder is opened once, and every later step names the file relative to that
descriptor, without following a link at the last step.

- A regular file, or a new name, is replaced whole or not at all: the report goes into a
  temporary file in the same folder (an unpredictable name, created exclusively, as mkstemp
  makes them), which is then renamed over the name. Its mode follows the umask.
- A character device or a FIFO (/dev/null, a pipe someone reads) named directly is written
  into, never replaced. A block device is never written.
- A symbolic link is followed only where its folder could not have been planted by someone
  else: a folder owned by root or by this user that no one else may write (/dev/stdout). A link
  in a folder others can write (/tmp) is refused.
- Every failure is one OutputError with a sentence that names the file and the reason.

Needs: write access to the target's folder (or to the device).
"""

import contextlib
import errno
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Optional, TextIO

# Links followed at the last step of one target before giving up, as the kernel's own limit on
# links within one path.
MAX_LINKS = 40
# The temporary name is short whatever the target's (a name near the file system's 255-byte
# limit must still be writable) and has 64 random bits: a few tries always find a free one.
TEMP_PREFIX = ".amzn-gd-doctor."
TEMP_TRIES = 8


class OutputError(Exception):
    """The report could not be written; the message is one sentence for the user."""


class _Refused(OSError):
    """A target this module will not write, with the reason as its message."""


def write_output(path: str, write: "Callable[[TextIO], None]") -> None:
    """Write the report through WRITE into PATH (see the module's rules)."""
    try:
        _write(path, write, MAX_LINKS)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    if isinstance(exc, _Refused):
        return str(exc)
    reasons = {
        errno.ENOSPC: "no space left on the file system",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOENT: "its folder does not exist",
        errno.ENOTDIR: "a part of its path is not a folder",
        errno.ENAMETOOLONG: "the name is too long",
        errno.EISDIR: "it is a folder",
        errno.ELOOP: "too many symbolic links",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def _write(path: str, write: "Callable[[TextIO], None]", links_left: int) -> None:
    folder, name = os.path.split(path)
    if not name:
        raise _Refused("it is a folder")
    dir_fd = os.open(folder or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            st: Optional[os.stat_result] = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is None or stat.S_ISREG(st.st_mode):
            _replace(dir_fd, write)(name)
        elif stat.S_ISLNK(st.st_mode):
            _through_link(dir_fd, folder, name, write, links_left)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            _write_into(os.open(name, WRITE_INTO | os.O_NOFOLLOW, dir_fd=dir_fd), write)
        elif stat.S_ISDIR(st.st_mode):
            raise _Refused("it is a folder")
        else:
            raise _Refused("it is a block device or a socket, never written")
    finally:
        os.close(dir_fd)


# Opening a device or a FIFO to write into it: never creates, never truncates, never makes a
# terminal the controlling one.
WRITE_INTO = os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC


def _write_into(fd: int, write: "Callable[[TextIO], None]") -> None:
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        write(fh)


def _through_link(
    dir_fd: int, folder: str, name: str, write: "Callable[[TextIO], None]", links_left: int
) -> None:
    """Follow the link NAME only if its folder is one nobody else could have planted it in
    (owned by root or by this user, writable by no one else), as /dev/stdout's is."""
    folder_st = os.fstat(dir_fd)
    if folder_st.st_uid not in (0, os.geteuid()) or folder_st.st_mode & (
        stat.S_IWGRP | stat.S_IWOTH
    ):
        raise _Refused(
            "it is a symbolic link in a folder others can write; name the file it points to"
        )
    if links_left <= 0:
        raise _Refused("too many symbolic links")
    try:
        fd = os.open(name, WRITE_INTO, dir_fd=dir_fd)
    except FileNotFoundError:  # a link to a name not made yet: made at the end of the links
        fd = -1
    if fd >= 0:
        mode = os.fstat(fd).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            _write_into(fd, write)  # /dev/stdout and the like: a pipe, a terminal
            return
        os.close(fd)
        if stat.S_ISBLK(mode):
            raise _Refused("it leads to a block device, never written")
    _write(os.path.realpath(os.path.join(folder or ".", name)), write, links_left - 1)


def _replace(dir_fd: int, write: "Callable[[TextIO], None]") -> "Callable[[str], None]":
    """Write into a new file beside the target, created exclusively under an unpredictable
    name (what mkstemp does, relative to the folder's descriptor), then rename it over the
    target's NAME."""

    def into(name: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        umask = os.umask(0o022)
        os.umask(umask)
        for _ in range(TEMP_TRIES):
            temp = TEMP_PREFIX + os.urandom(8).hex()
            try:
                fd = os.open(temp, flags, 0o666 & ~umask, dir_fd=dir_fd)
                break
            except FileExistsError:
                continue
        else:
            raise _Refused("no free temporary name in its folder")
        try:
            os.fchmod(fd, 0o666 & ~umask)  # the umask, whatever the folder's default ACL says
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
            raise

    return into
