"""Reading a folder in Run Command's output layout: every
``<command-id>/<instance-id>/awsrunShellScript/<step>/stdout`` under it, wherever the layout
starts (the bucket prefix, a command's folder, or above).

Reads only, each file up to OUTPUT_LIMIT bytes. A file that cannot be read becomes an Output
whose data says why, and is counted UNREADABLE. Links are not followed out of the source: a
``stdout`` (or an ``awsrunShellScript`` folder) that is a link to something outside SOURCE is
reported, not read, unless the scope says to follow links (``--follow-links``): the operator
who summarises a folder someone else filled (root, often) must not print ``/etc/shadow``.
"""

import errno
import itertools
import os
import stat
from typing import FrozenSet, Iterator, List, Optional, Tuple

from ..values import value
from .source import OUTPUT_LIMIT, PLUGIN_DIR, Output

STDOUT = "stdout"
_PLUGIN_SUFFIX = os.sep + PLUGIN_DIR
_STDOUT_SUFFIX = os.sep + STDOUT
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# An instance's plugin folder is opened once, refusing a link (ELOOP), and its steps' stdout
# are opened relative to it: the kernel resolves two names instead of the whole path, which
# pays for the open that tells a link from a folder.
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | _NONBLOCK | _CLOEXEC
_READ_NOFOLLOW = _READ_FLAGS | _NOFOLLOW
# Python 3.7 lists a folder by its descriptor; 3.6 lists it by its path (already checked).
_SCANDIR_FD = os.scandir in getattr(os, "supports_fd", ())
# Depth of the layout's folders above a step: <command-id>/<instance-id>/awsrunShellScript.
# A walk goes no deeper than this many levels past the last folder it recognised, so a
# source pointed at a large unrelated tree does not walk all of it.
MAX_DEPTH = 8
# Folders split() lists for the workers at most: beyond this (a command's folder of 100,000
# instances) the level above is handed out, each worker walking a share of its entries, so
# the list does not grow with the fleet.
MAX_FOLDERS = 1024
READ_CHUNK = 64 * 1024
LINK_OUTSIDE = "a link outside SOURCE, not followed (--follow-links reads it)"


@value
class Scope:
    """What a walk may read: below ``root`` (the source's real path) unless ``follow_links``,
    and only the runs named in ``command_ids`` when there are any."""

    root: str
    follow_links: bool = False
    command_ids: "FrozenSet[str]" = frozenset()

    def allows_link(self, path: str) -> bool:
        """Whether a link at ``path`` may be followed: its target, every link on the way
        resolved, is the source or below it. Asked only of links, which are rare."""
        if self.follow_links:
            return True
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root.rstrip(os.sep) + os.sep)


def scope_of(top: str, follow_links: bool = False, command_ids: "Tuple[str, ...]" = ()) -> Scope:
    return Scope(os.path.realpath(top), follow_links, frozenset(command_ids))


def read_limited(path: str) -> "Tuple[bytes, bool]":
    """(data, truncated): the first OUTPUT_LIMIT bytes, and whether there was more."""
    data, truncated, _ = read_output(path)
    return data, truncated


def read_output(
    path: str, follow: bool = True, dir_fd: "Optional[int]" = None
) -> "Tuple[bytes, bool, float]":
    """(data, truncated, mtime). Opened without blocking and checked to be a regular file
    first: a FIFO or a device named stdout would otherwise hold the reader forever. Without
    ``follow``, a link is refused (ELOOP), for the caller to judge where it points. The first
    read asks for the size fstat gave, plus one byte: a regular file's short read is its end,
    so a file that is not growing is read in one call, into a buffer of its own size (not one
    of OUTPUT_LIMIT)."""
    fd = os.open(path, _READ_FLAGS if follow else _READ_NOFOLLOW, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        chunks = []
        size = 0
        request = min(info.st_size, OUTPUT_LIMIT) + 1
        while size <= OUTPUT_LIMIT:
            chunk = os.read(fd, min(request, OUTPUT_LIMIT + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if len(chunk) < request:
                break
            request = READ_CHUNK  # the file grew since fstat
    finally:
        os.close(fd)
    data = b"".join(chunks) if len(chunks) != 1 else chunks[0]
    return data[:OUTPUT_LIMIT], size > OUTPUT_LIMIT, info.st_mtime


def walk(
    top: str,
    parts: "List[str]",
    depth: int = 0,
    share: "Tuple[int, int]" = (0, 1),
    scope: "Optional[Scope]" = None,
) -> "Iterator[Output]":
    """Every output under ``top``; ``parts`` are the folder names from the source to ``top``.
    The order is the file system's: the summary sorts. With ``share`` (n, count), only the
    n-th of every count entries of ``top`` is walked: a worker's share of a folder that holds
    a whole fleet's instances, without listing them all in one process. Without ``scope``,
    links are followed below ``top`` only.

    Most folders are instances' folders, so each sub-folder's ``awsrunShellScript`` is opened
    straight away (refusing a link, which is then judged by the scope), and only a sub-folder
    without one is listed itself: one directory read per instance fewer. An instance's other
    folders are not searched (the layout puts only plugin folders there)."""
    if scope is None:
        scope = scope_of(top)
    n, count = share
    try:
        entries = os.scandir(top)
    except OSError:
        return
    # The command id of the instances' folders here, if this is a run's folder.
    command = parts[-1] if parts else ""
    wanted = _chosen(scope, command)
    top_fd = -1
    try:
        with entries:
            chosen = itertools.islice(entries, n, None, count) if count > 1 else entries
            for entry in chosen:
                name = entry.name
                if name == PLUGIN_DIR and len(parts) >= 2:
                    if not _chosen(scope, parts[-2]):
                        continue
                    if entry.is_symlink():
                        yield from _linked_steps(entry.path, parts[-2], parts[-1], scope)
                    elif entry.is_dir(follow_symlinks=False):
                        yield from _steps(entry.path, parts[-2], parts[-1], scope)
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    continue
                if not parts:  # no command id above: not an instance's folder
                    if depth < MAX_DEPTH:
                        yield from walk(entry.path, [name], depth + 1, scope=scope)
                    continue
                if top_fd < 0:
                    top_fd = os.open(top, _DIR_FLAGS & ~_NOFOLLOW)
                try:
                    plugin_fd = os.open(name + _PLUGIN_SUFFIX, _DIR_FLAGS, dir_fd=top_fd)
                except OSError as err:
                    plugin_dir = entry.path + _PLUGIN_SUFFIX
                    if err.errno == errno.ENOENT and depth < MAX_DEPTH:
                        yield from walk(entry.path, [command, name], depth + 1, scope=scope)
                    elif wanted and _is_link(err, plugin_dir):
                        yield from _linked_steps(plugin_dir, command, name, scope)
                    continue  # a file of that name, or EACCES: nothing to list
                found = []
                try:
                    if wanted:
                        plugin_dir = entry.path + _PLUGIN_SUFFIX
                        for step in _step_names(plugin_dir, plugin_fd):
                            output = _read_step(plugin_dir, step, command, name, scope, plugin_fd)
                            if output is not None:
                                found.append(output)
                except OSError:
                    pass  # the folder could not be listed: no outputs
                finally:
                    os.close(plugin_fd)
                yield from found
    finally:
        if top_fd >= 0:
            os.close(top_fd)


def _is_link(err: OSError, path: str) -> bool:
    """Whether an open with O_NOFOLLOW | O_DIRECTORY failed on a link: Linux says ENOTDIR
    (as for a file), other systems ELOOP; told apart by lstat, on this rare path only."""
    if err.errno not in (errno.ENOTDIR, errno.ELOOP):
        return False
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _chosen(scope: Scope, command_id: str) -> bool:
    return not scope.command_ids or command_id in scope.command_ids


def _step_names(plugin_dir: str, plugin_fd: "Optional[int]" = None) -> "List[str]":
    listed = plugin_fd if plugin_fd is not None and _SCANDIR_FD else plugin_dir
    with os.scandir(listed) as entries:
        return [e.name for e in entries if e.is_dir(follow_symlinks=False)]


def _linked_steps(
    plugin_dir: str, command_id: str, instance_id: str, scope: Scope
) -> "Iterator[Output]":
    """An ``awsrunShellScript`` that is a link: listed where it points, if the scope allows."""
    if scope.allows_link(plugin_dir):
        yield from _steps(plugin_dir, command_id, instance_id, scope)
    elif os.path.isdir(plugin_dir):
        why = f"cannot read {PLUGIN_DIR}: {LINK_OUTSIDE}"
        yield _output(instance_id, command_id, "", why.encode(), False, plugin_dir, 0.0)


def _steps(
    plugin_dir: str,
    command_id: str,
    instance_id: str,
    scope: Scope,
    plugin_fd: "Optional[int]" = None,
) -> "Iterator[Output]":
    """The outputs of an instance's plugin folder, opened as ``plugin_fd`` when given."""
    try:
        steps = _step_names(plugin_dir, plugin_fd)
    except OSError:
        return
    for step in steps:
        output = _read_step(plugin_dir, step, command_id, instance_id, scope, plugin_fd)
        if output is not None:
            yield output


def _read_step(
    plugin_dir: str,
    step: str,
    command_id: str,
    instance_id: str,
    scope: Scope,
    plugin_fd: "Optional[int]" = None,
) -> "Optional[Output]":
    path = f"{plugin_dir}{os.sep}{step}{_STDOUT_SUFFIX}"
    mtime = 0.0
    try:
        try:
            if plugin_fd is None:
                data, truncated, mtime = read_output(path, follow=False)
            else:
                name = f"{step}{_STDOUT_SUFFIX}"
                data, truncated, mtime = read_output(name, follow=False, dir_fd=plugin_fd)
        except OSError as err:
            if err.errno != errno.ELOOP:
                raise
            # A link (O_NOFOLLOW refused it): read where it points only inside the source.
            if not scope.allows_link(path):
                raise OSError(0, LINK_OUTSIDE) from None
            data, truncated, mtime = read_output(path)
    except FileNotFoundError:
        if not os.path.islink(path):
            return None  # a step that printed nothing has no stdout
        data, truncated = b"cannot read stdout: a link to nothing", False
    except OSError as err:
        # Not a report: the reason becomes the "first line" the summary shows.
        data, truncated = f"cannot read stdout: {err.strerror or err}".encode(), False
    return _output(instance_id, command_id, step, data, truncated, path, mtime)


def _output(
    instance_id: str,
    command_id: str,
    step: str,
    data: bytes,
    truncated: bool,
    location: str,
    mtime: float,
) -> Output:
    output: Output = object.__new__(Output)  # Output(...) without its argument checks
    output.__dict__.update(
        instance_id=instance_id,
        command_id=command_id,
        step=step,
        data=data,
        truncated=truncated,
        location=location,
        mtime=mtime,
    )
    return output


def split(top: str, pieces: int) -> "List[List[str]]":
    """Folders to hand to workers, each as [path, *the last folder names on the way to it]:
    the source's sub-folders, and theirs while there are fewer than ``pieces`` (one command id
    holds every instance of a run). A level that holds a step folder is not split further."""
    level: List[List[str]] = [[top, *os.path.abspath(top).split(os.sep)[-2:]]]
    for _ in range(2):
        below: List[List[str]] = []
        for item in level:
            dirs = []
            try:
                with os.scandir(item[0]) as entries:
                    for entry in entries:
                        if entry.name == PLUGIN_DIR:
                            return level
                        if entry.is_dir(follow_symlinks=False):
                            dirs.append(entry.name)
                        if len(below) + len(dirs) > MAX_FOLDERS:
                            return level  # the workers share these folders' entries (walk)
            except OSError:
                return level
            below += [[os.path.join(item[0], name), *item[1:], name] for name in sorted(dirs)]
        if not below:
            return level
        level = below
        if len(level) >= pieces * 4:
            break
    return level


def count_instances(
    top: str, scope: Scope, parts: "Optional[List[str]]" = None, depth: int = 0
) -> int:
    """How many instance folders (``<command-id>/<instance-id>`` holding an
    ``awsrunShellScript``) of the scope's runs are under ``top``: the total that progress
    shows (each holds one output in the SSM document's layout, of one step). One lstat an
    instance, no read: counted while the workers read."""
    if parts is None:
        parts = os.path.abspath(top).split(os.sep)[-2:]
    found = 0
    try:
        entries = os.scandir(top)
    except OSError:
        return 0
    with entries:
        for entry in entries:
            name = entry.name
            if name == PLUGIN_DIR and len(parts) >= 2:
                chosen = not scope.command_ids or parts[-2] in scope.command_ids
                return 1 if chosen and (entry.is_dir() or entry.is_symlink()) else 0
            if not entry.is_dir(follow_symlinks=False):
                continue
            if parts:
                try:
                    os.lstat(entry.path + _PLUGIN_SUFFIX)
                except OSError:
                    pass  # no plugin folder: not a Run Command output
                else:
                    found += not scope.command_ids or parts[-1] in scope.command_ids
                    continue
            if depth < MAX_DEPTH:
                found += count_instances(entry.path, scope, parts[-1:] + [name], depth + 1)
    return found
