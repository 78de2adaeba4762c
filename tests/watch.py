"""Watching what a command does to the file system, and only that command: never the
machine's /tmp or process list, which other programs (another checkout's suite) share.

Two watches, for two questions:

- `run_private`: what did the commands leave in the places programs leave files (/tmp,
  /var/tmp, /var/cache, /dev/shm, the home, TMPDIR, the working folder)? The commands run in a
  mount namespace of their own where each of those is an empty tmpfs, listed before and after.
  Needs util-linux `unshare` and root.
- `strace_writes`: did the command ask to write, create, rename or remove any file anywhere at
  all (the interpreter's own folders, the checkout, /etc)? It is run under `strace -f`, and
  every file system call with write intent is read from the trace. Needs `strace`.

`run_private` starts this file as a script under `unshare --mount --propagation private`. In
that namespace, which no other process on the machine shares, the script

1. mounts a fresh tmpfs on an empty folder the test made (still reachable, under the machine's
   /tmp), copies in what the commands read, makes a home, a TMPDIR and a working folder, and
   moves that tmpfs onto /tmp;
2. mounts an empty tmpfs on each of the other watched folders;
3. lists every name under the watched folders (a folder's or file's mtime, a file's size, a
   link's target);
4. runs each command in the working folder, with that home and TMPDIR;
5. lists again, and prints one JSON document: both listings and each command's exit status,
   standard output and standard error.

The mounts go with the namespace when the script ends: nothing is left on the machine. The
script uses only the standard library and runs with -I -B, so it writes nothing itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

# The private folders every command sees; they exist only inside the namespace. /dev/shm is
# where POSIX shared memory and semaphores would leave files.
WATCHED = ("/tmp", "/var/tmp", "/var/cache", "/dev/shm")
HOME = "/tmp/home"
TMPDIR = "/tmp/tmp"
WORKDIR = "/tmp/work"
# The doctor's own deadline is 10 s and a run takes about a second; a hung command must not
# hang the suite.
COMMAND_TIMEOUT_S = 120


@dataclass(frozen=True)
class Ran:
    argv: List[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class PrivateRun:
    """The listings of the private folders before and after the commands (path -> what it
    is: kind, size, mtime), and each command's result."""

    before: Dict[str, str]
    after: Dict[str, str]
    ran: List[Ran]


def describe(path: str) -> str:
    """What a listing keeps of one name: a new name, a rewritten file, a folder where a file was
    made and removed again (its mtime moves), or a changed link all show as a difference."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return f"link -> {os.readlink(path)}"
    if stat.S_ISDIR(st.st_mode):
        return f"dir, mtime {st.st_mtime_ns}"
    return f"file, {st.st_size} bytes, mtime {st.st_mtime_ns}"


def listing() -> Dict[str, str]:
    """Every name under the watched folders, the folders themselves included."""
    seen: Dict[str, str] = {}
    for top in WATCHED:
        seen[top] = describe(top)
        for base, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(base, name)
                seen[path] = describe(path)
    return seen


def mount_tmpfs(target: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", target], check=True)


def inside(spec: Dict[str, object]) -> Dict[str, object]:
    """Steps 1 to 5 of the module's docstring; run only in the private mount namespace."""
    stage = str(spec["stage"])
    mount_tmpfs(stage)
    inputs = spec["inputs"]
    assert isinstance(inputs, dict)
    for name, source in inputs.items():
        dest = os.path.join(stage, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, dest, symlinks=True)
        else:
            shutil.copy2(source, dest)
    for folder in (HOME, TMPDIR, WORKDIR):
        os.mkdir(os.path.join(stage, os.path.relpath(folder, "/tmp")))
    subprocess.run(["mount", "--move", stage, "/tmp"], check=True)
    for top in WATCHED:
        if top != "/tmp":
            mount_tmpfs(top)
    env = spec["env"]
    assert isinstance(env, dict)
    env = dict(env, HOME=HOME, TMPDIR=TMPDIR)
    commands = spec["commands"]
    assert isinstance(commands, list)
    before = listing()
    ran = []
    for argv in commands:
        proc = subprocess.run(
            argv, env=env, cwd=WORKDIR, capture_output=True, timeout=COMMAND_TIMEOUT_S
        )
        ran.append(
            {
                "argv": argv,
                "returncode": proc.returncode,
                "stdout": proc.stdout.decode("utf-8", "backslashreplace"),
                "stderr": proc.stderr.decode("utf-8", "backslashreplace"),
            }
        )
    return {"before": before, "after": listing(), "ran": ran}


def run_private(
    stage: Path,
    inputs: Mapping[str, Path],
    commands: Sequence[Sequence[str]],
    env: Mapping[str, str],
) -> PrivateRun:
    """Run COMMANDS one after the other in a private mount namespace (see the module's
    docstring). STAGE is a new folder's name; INPUTS maps a name under the private /tmp to the
    file or tree copied there. The caller checks for unshare and root."""
    stage.mkdir()
    spec = {
        "stage": str(stage),
        "inputs": {name: str(path) for name, path in inputs.items()},
        "commands": [list(argv) for argv in commands],
        "env": dict(env),
    }
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--"]
        + [sys.executable, "-I", "-B", str(Path(__file__).resolve())],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S * (len(commands) + 1),
    )
    assert proc.returncode == 0, f"the private mount namespace failed:\n{proc.stderr}"
    out = json.loads(proc.stdout)
    return PrivateRun(out["before"], out["after"], [Ran(**r) for r in out["ran"]])


# -- strace ------------------------------------------------------------------------------------
# File system calls that change something by their name alone, and the open flags that ask to.
# Calls on descriptors are not traced: write and ftruncate need a descriptor opened for writing,
# which the open's flags show (fchmod on a descriptor opened to read would pass unseen).
_WRITING_CALLS = frozenset(
    {
        "creat", "mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink", "unlinkat",
        "rmdir", "link", "linkat", "symlink", "symlinkat", "truncate", "mknod", "mknodat",
        "chmod", "fchmodat", "chown", "lchown", "fchownat", "utime", "utimes", "utimensat",
        "futimesat", "setxattr", "lsetxattr", "removexattr", "lremovexattr",
    }
)  # fmt: skip
_OPENING_CALLS = frozenset({"open", "openat", "openat2"})
_WRITE_FLAGS_RE = re.compile(r"\bO_(?:WRONLY|RDWR|CREAT|TRUNC|APPEND|TMPFILE)\b")
# `PID call(args...`: the entry half of a call (an "<... call resumed>" line holds no names).
_CALL_RE = re.compile(r"^\d+\s+(?P<call>\w+)\((?P<args>.*)$")
_PATH_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
# Opening a device read-write leaves nothing behind: subprocess gives a child /dev/null so.
_DEVICES = frozenset({"/dev/null", "/dev/tty"})


def strace_writes(
    argv: Sequence[str], trace: Path, **kwargs: object
) -> Tuple[subprocess.CompletedProcess[bytes], List[str]]:
    """ARGV run under `strace -f` (children included), and every traced call that asked to
    create, write, rename or remove a file, as strace printed it."""
    command = ["strace", "-f", "-qq", "-e", "signal=none", "-e", "trace=%file", "-o", str(trace)]
    proc = subprocess.run(
        [*command, "--", *argv],
        capture_output=True,
        timeout=COMMAND_TIMEOUT_S,
        **kwargs,  # type: ignore[call-overload]
    )
    lines = trace.read_text(errors="replace").splitlines()
    assert any("execve(" in line for line in lines), f"strace traced nothing: {proc.stderr!r}"
    writes = []
    for line in lines:
        match = _CALL_RE.match(line)
        if match is None:
            continue
        call, args = match.group("call"), match.group("args")
        if call in _OPENING_CALLS:
            path = _PATH_RE.search(args)
            if not _WRITE_FLAGS_RE.search(args) or (path and path.group(1) in _DEVICES):
                continue
        elif call not in _WRITING_CALLS:
            continue
        writes.append(line)
    return proc, writes


if __name__ == "__main__":
    json.dump(inside(json.load(sys.stdin)), sys.stdout)
