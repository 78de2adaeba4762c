"""Reading a folder in Run Command's output layout: every
``<command-id>/<instance-id>/awsrunShellScript/<step>/stdout`` under it, wherever the layout
starts (the bucket prefix, a command's folder, or above).

Reads only, each file up to OUTPUT_LIMIT bytes. A file that cannot be read becomes an Output
whose data says why, and is counted UNREADABLE.
"""

import os
import stat
from typing import Iterator, List, Tuple

from .source import OUTPUT_LIMIT, PLUGIN_DIR, Output

STDOUT = "stdout"
# Depth of the layout's folders above a step: <command-id>/<instance-id>/awsrunShellScript.
# A walk goes no deeper than this many levels past the last folder it recognised, so a
# source pointed at a large unrelated tree does not walk all of it.
MAX_DEPTH = 8


def read_limited(path: str) -> "Tuple[bytes, bool]":
    """(data, truncated): the first OUTPUT_LIMIT bytes, and whether there was more."""
    with open(path, "rb") as fh:
        data = fh.read(OUTPUT_LIMIT + 1)
    return data[:OUTPUT_LIMIT], len(data) > OUTPUT_LIMIT


def _output(parts: "List[str]", path: str) -> Output:
    command_id, instance_id, step = parts[-3], parts[-2], parts[-1]
    try:
        # A FIFO or device named stdout would block or never end: only regular files are read.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise OSError(0, "not a regular file")
        data, truncated = read_limited(path)
    except OSError as err:
        # Not a report: the reason becomes the "first line" the summary shows.
        data, truncated = f"cannot read stdout: {err.strerror or err}".encode(), False
    return Output(instance_id, command_id, step, data, truncated, path)


def walk(top: str, parts: "List[str]", depth: int = 0) -> "Iterator[Output]":
    """Every output under ``top``; ``parts`` are the folder names from the source to ``top``."""
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        if entry.name == PLUGIN_DIR and len(parts) >= 2:
            yield from _steps(entry.path, parts[-2:])
        elif depth < MAX_DEPTH:
            yield from walk(entry.path, parts[-2:] + [entry.name], depth + 1)


def _steps(plugin_dir: str, ids: "List[str]") -> "Iterator[Output]":
    try:
        steps = sorted(e.name for e in os.scandir(plugin_dir) if e.is_dir(follow_symlinks=False))
    except OSError:
        return
    for step in steps:
        path = os.path.join(plugin_dir, step, STDOUT)
        if os.path.lexists(path):  # a step folder without stdout printed nothing to keep
            yield _output(ids + [step], path)


def split(top: str, pieces: int) -> "List[List[str]]":
    """Folders to hand to workers, each as [path, *the last folder names on the way to it]:
    the source's sub-folders, and theirs while there are fewer than ``pieces`` (one command id
    holds every instance of a run). A level that holds a step folder is not split further."""
    level: List[List[str]] = [[top, *os.path.abspath(top).split(os.sep)[-2:]]]
    for _ in range(2):
        below: List[List[str]] = []
        for item in level:
            try:
                dirs = sorted(
                    (e for e in os.scandir(item[0]) if e.is_dir(follow_symlinks=False)),
                    key=lambda e: e.name,
                )
            except OSError:
                return level
            if any(e.name == PLUGIN_DIR for e in dirs):
                return level
            below += [[e.path, *item[1:], e.name] for e in dirs]
        if not below:
            return level
        level = below
        if len(level) >= pieces * 4:
            break
    return level
