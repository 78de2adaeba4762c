"""Reading a folder in Run Command's output layout: every
``<command-id>/<instance-id>/awsrunShellScript/<step>/stdout`` under it, wherever the layout
starts (the bucket prefix, a command's folder, or above).

Reads only, each file up to OUTPUT_LIMIT bytes. A file that cannot be read becomes an Output
whose data says why, and is counted UNREADABLE.
"""

import itertools
import os
import stat
from typing import Iterator, List, Optional, Tuple

from .source import OUTPUT_LIMIT, PLUGIN_DIR, Output

STDOUT = "stdout"
_PLUGIN_SUFFIX = os.sep + PLUGIN_DIR
_STDOUT_SUFFIX = os.sep + STDOUT
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# Depth of the layout's folders above a step: <command-id>/<instance-id>/awsrunShellScript.
# A walk goes no deeper than this many levels past the last folder it recognised, so a
# source pointed at a large unrelated tree does not walk all of it.
MAX_DEPTH = 8
# Folders split() lists for the workers at most: beyond this (a command's folder of 100,000
# instances) the level above is handed out, each worker walking a share of its entries, so
# the list does not grow with the fleet.
MAX_FOLDERS = 1024
READ_CHUNK = 64 * 1024


def read_limited(path: str) -> "Tuple[bytes, bool]":
    """(data, truncated): the first OUTPUT_LIMIT bytes, and whether there was more. Opened
    without blocking and checked to be a regular file first: a FIFO or a device named stdout
    would otherwise hold the reader forever. The first read asks for the size fstat gave, plus
    one byte: a regular file's short read is its end, so a file that is not growing is read in
    one call, into a buffer of its own size (not one of OUTPUT_LIMIT)."""
    fd = os.open(path, os.O_RDONLY | _NONBLOCK)
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
    return data[:OUTPUT_LIMIT], size > OUTPUT_LIMIT


def walk(
    top: str, parts: "List[str]", depth: int = 0, share: "Tuple[int, int]" = (0, 1)
) -> "Iterator[Output]":
    """Every output under ``top``; ``parts`` are the folder names from the source to ``top``.
    The order is the file system's: the summary sorts. With ``share`` (n, count), only the
    n-th of every count entries of ``top`` is walked: a worker's share of a folder that holds
    a whole fleet's instances, without listing them all in one process.

    Most folders are instances' folders, so each sub-folder's ``awsrunShellScript`` is listed
    straight away, and only a sub-folder without one is listed itself: one directory read per
    instance fewer. An instance's other folders are not searched (the layout puts only plugin
    folders there)."""
    n, count = share
    try:
        entries = os.scandir(top)
    except OSError:
        return
    with entries:
        chosen = itertools.islice(entries, n, None, count) if count > 1 else entries
        for entry in chosen:
            name = entry.name
            if name == PLUGIN_DIR and len(parts) >= 2:
                if entry.is_dir(follow_symlinks=False):
                    yield from _steps(entry.path, parts[-2:])
                continue
            if not entry.is_dir(follow_symlinks=False):
                continue
            if not parts:  # no command id above: not an instance's folder
                if depth < MAX_DEPTH:
                    yield from walk(entry.path, [name], depth + 1)
                continue
            plugin_dir = entry.path + _PLUGIN_SUFFIX
            try:
                steps = _step_names(plugin_dir)
            except OSError:
                if depth < MAX_DEPTH:
                    yield from walk(entry.path, parts[-1:] + [name], depth + 1)
                continue
            for step in steps:
                output = _read_step(plugin_dir, step, parts[-1], name)
                if output is not None:
                    yield output


def _step_names(plugin_dir: str) -> "List[str]":
    with os.scandir(plugin_dir) as entries:
        return [e.name for e in entries if e.is_dir(follow_symlinks=False)]


def _steps(plugin_dir: str, ids: "List[str]") -> "Iterator[Output]":
    try:
        steps = _step_names(plugin_dir)
    except OSError:
        return
    for step in steps:
        output = _read_step(plugin_dir, step, ids[0], ids[1])
        if output is not None:
            yield output


def _read_step(plugin_dir: str, step: str, command_id: str, instance_id: str) -> "Optional[Output]":
    path = f"{plugin_dir}{os.sep}{step}{_STDOUT_SUFFIX}"
    try:
        data, truncated = read_limited(path)
    except FileNotFoundError:
        if not os.path.islink(path):
            return None  # a step that printed nothing has no stdout
        data, truncated = b"cannot read stdout: a link to nothing", False
    except OSError as err:
        # Not a report: the reason becomes the "first line" the summary shows.
        data, truncated = f"cannot read stdout: {err.strerror or err}".encode(), False
    output: Output = object.__new__(Output)  # Output(...) without its argument checks
    output.__dict__.update(
        instance_id=instance_id,
        command_id=command_id,
        step=step,
        data=data,
        truncated=truncated,
        location=path,
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
