"""--root never leaves its tree: the resolver on its own, the host's file operations on real
links, and the whole CLI on a hostile tree, watched with strace.

The hostile tree points every kind of link at canary files in a sibling directory (and at
/etc/shadow): absolute and relative targets, `..` climbing out, a directory link in the middle
of a path, a link at the last component, a chain, loops. Nothing of the canaries may reach the
report, and no system call may name a file outside the tree apart from the interpreter's own.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from agent.journal_export import EXPORTS, journal_remote, make_journal
from support import REPO, ROOTS, doctor_argv, doctor_env, run_cli

from amzn_gd_doctor.host import RootedHost
from amzn_gd_doctor.host import tree as resolver

CANARY = "CANARY-b1f4"
MACHINE = "3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11"
AL2023 = (ROOTS / "al2023-6.1" / "etc" / "os-release").read_text()


# -- the resolver, pure ---------------------------------------------------------------------
def table(links: Dict[str, str]) -> Callable[[str], Optional[str]]:
    return links.get


@pytest.mark.parametrize(
    ("links", "path", "expected"),
    [
        ({}, "/etc/os-release", "/etc/os-release"),
        ({"/etc/os-release": "/usr/lib/os-release"}, "/etc/os-release", "/usr/lib/os-release"),
        ({"/etc/os-release": "../usr/lib/os-release"}, "/etc/os-release", "/usr/lib/os-release"),
        ({"/etc/passwd": "/etc/shadow"}, "/etc/passwd", "/etc/shadow"),
        ({"/a/b": "../../../../../outside/secret"}, "/a/b", "/outside/secret"),
        ({"/proc": "/tmp/outside/proc"}, "/proc/1/comm", "/tmp/outside/proc/1/comm"),
        ({"/a": "b", "/b": "c", "/c": "/d/../../../e"}, "/a/x", "/e/x"),
        ({}, "/../../etc/shadow", "/etc/shadow"),
        ({}, "/proc/../../../outside/secret", "/outside/secret"),
        ({}, "relative//./x/", "/relative/x"),
        ({"/l": "x/y"}, "/l/../z", "/x/z"),
        ({}, "/", "/"),
        ({"/up": ".."}, "/up/up/up", "/"),
    ],
    ids=[
        "no-link",
        "absolute-in-tree",
        "relative-in-tree",
        "absolute-shadow",
        "relative-climbing-out",
        "directory-link-in-the-middle",
        "chain",
        "dotdot-in-the-path",
        "dotdot-after-a-directory",
        "relative-path-and-trailing-slash",
        "dotdot-after-a-link",
        "the-top",
        "dotdot-link-at-the-top",
    ],
)
def test_walk(links: Dict[str, str], path: str, expected: str) -> None:
    assert resolver.walk(path, table(links)) == expected


def test_walk_keeps_a_last_link_when_asked() -> None:
    links = {"/etc/systemd/system/x.service": "/dev/null", "/etc": "/usr/etc"}
    assert resolver.walk("/etc/systemd/system/x.service", table(links), follow_last=False) == (
        "/usr/etc/systemd/system/x.service"
    )
    assert resolver.walk("/etc/", table(links), follow_last=False) == "/usr/etc"


@pytest.mark.parametrize(
    "links",
    [{"/a": "a"}, {"/a": "b", "/b": "/a"}, {"/a": "./a/x"}],
    ids=["self", "pair", "growing"],
)
def test_walk_ends_a_loop_with_eloop(links: Dict[str, str]) -> None:
    with pytest.raises(OSError) as caught:
        resolver.walk("/a", table(links))
    assert caught.value.errno == errno.ELOOP


def test_walk_follows_exactly_max_symlinks() -> None:
    chain = {f"/l{i}": f"/l{i + 1}" for i in range(resolver.MAX_SYMLINKS)}
    assert resolver.walk("/l0", table(chain)) == f"/l{resolver.MAX_SYMLINKS}"
    chain[f"/l{resolver.MAX_SYMLINKS}"] = "/end"
    with pytest.raises(OSError) as caught:
        resolver.walk("/l0", table(chain))
    assert caught.value.errno == errno.ELOOP


def test_walk_empty_link_is_enoent() -> None:
    with pytest.raises(FileNotFoundError):
        resolver.walk("/a/b", table({"/a": ""}))


# -- the resolver and the host on real links ---------------------------------------------------
def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return make_outside(tmp_path)


def make_outside(tmp_path: Path) -> Path:
    """Canary files beside the tree: any of their text in an answer is a read out of it."""
    out = tmp_path / "outside"
    write(out / "secret", f"{CANARY} secret\n")
    write(out / "os-release", f'ID=canaryos\nNAME="{CANARY} OS"\nVERSION_ID="99"\n')
    write(out / "osrelease", f"9.9.9-{CANARY}\n")
    write(out / "vmlinux", "")
    write(out / "sys_vendor", f"{CANARY} vendor\n")
    write(out / "product_name", f"{CANARY} product\n")
    write(out / "hypervisor" / "uuid", f"ec2{CANARY}\n")
    write(out / "proc" / "stat", "btime 1764556800\n")
    write(out / "proc" / "sys" / "kernel" / "osrelease", f"9.9.9-{CANARY}\n")
    write(out / "proc" / "4242" / "comm", "amazon-guardduty\n")
    write(out / "proc" / "4242" / "cmdline", f"/opt/{CANARY}/amazon-guardduty\0")
    write(out / "proc" / "4242" / "environ", f"HTTPS_PROXY=http://{CANARY}:3128\0")
    write(
        out / "unit.service",
        f"[Service]\nExecStart=/opt/{CANARY}\nEnvironment=HTTPS_PROXY=http://{CANARY}:3128\n",
    )
    write(
        out / "dpkg" / "status",
        "Package: amazon-guardduty-agent\nStatus: install ok installed\n"
        f"Version: 9.9.9-{CANARY}\n\n"
        "Package: amazon-ssm-agent\nStatus: install ok installed\n"
        f"Version: 9.9.9-{CANARY}\n\n",
    )
    write(out / "agent-logs" / "agent.log", f"2026-11-20T11:02:11Z ERROR {CANARY} failed\n")
    write(out / "ssm" / "amazon-ssm-agent.log", f"2026-11-20 11:02:11 ERROR {CANARY}\n")
    journal = out / "journal"
    journal.mkdir()
    if journal_remote() is not None:
        make_journal((EXPORTS / "oom-kills.export").read_bytes(), journal)
    else:
        write(journal / "system.journal", f"{CANARY} not a journal\n")
    return out


def up(levels: int) -> str:
    return "/".join([".."] * levels)


def hostile_tree(tmp_path: Path, outside: Path) -> Path:
    """A tree whose files the doctor reads are links out of it, one kind of link each."""
    tree = tmp_path / "tree"
    out = str(outside)
    # The tree's own OS, reached by the absolute link every systemd distribution has.
    write(tree / "usr/lib/os-release", AL2023)
    link(tree / "etc/os-release", "/usr/lib/os-release")
    # distro would search etc/*-release; debian_version is read for Debian-likes.
    link(tree / "etc/redhat-release", "/etc/shadow")
    link(tree / "etc/debian_version", "/etc/shadow")
    # A directory link in the middle of every /proc path; the last component of /sys paths.
    link(tree / "proc", f"{out}/proc")
    link(tree / "sys/kernel/btf/vmlinux", f"{out}/vmlinux")
    link(tree / "sys/class/dmi/id/sys_vendor", f"{up(5)}/outside/sys_vendor")
    link(tree / "sys/class/dmi/id/product_name", f"{up(40)}{out}/product_name")
    link(tree / "sys/hypervisor", f"{up(2)}/outside/hypervisor")
    # A chain of relative links, the last one climbing out; a loop; a shadow-like target.
    link(tree / "lib/systemd/system/amazon-guardduty-agent.service", "../../../etc/gd-chain-1")
    link(tree / "etc/gd-chain-1", "gd-chain-2")
    link(tree / "etc/gd-chain-2", "./gd-chain-3")
    link(tree / "etc/gd-chain-3", f"{up(2)}/outside/unit.service")
    link(
        tree / "etc/systemd/system/multi-user.target.wants/amazon-guardduty-agent.service",
        "/lib/systemd/system/amazon-guardduty-agent.service",
    )
    link(tree / "etc/systemd/system.conf", f"{out}/secret")
    link(tree / "etc/systemd/system.conf.d", "system.conf.d.loop")
    link(tree / "etc/systemd/system.conf.d.loop", "system.conf.d")
    # Directory links out of the tree, relative and absolute.
    link(tree / "var/lib/dpkg", f"{up(3)}/outside/dpkg")
    link(tree / "var/log/amzn-guardduty-agent", f"{out}/agent-logs")
    link(tree / "var/log/amazon/ssm/amazon-ssm-agent.log", "/etc/shadow")
    link(tree / "var/log/amazon/ssm/errors.log", f"{up(5)}/outside/ssm/amazon-ssm-agent.log")
    link(tree / f"var/log/journal/{MACHINE}/system.journal", f"{out}/journal/system.journal")
    link(tree / f"var/log/journal/{MACHINE}/loop.journal", "loop.journal")
    link(tree / "run/log/journal", f"{up(3)}/outside/journal")
    return tree


@pytest.fixture
def tree(tmp_path: Path, outside: Path) -> Path:
    return hostile_tree(tmp_path, outside)


def test_resolve_on_real_links(tree: Path, outside: Path) -> None:
    root = str(tree)
    assert resolver.resolve(root, "/etc/os-release") == f"{root}/usr/lib/os-release"
    assert resolver.resolve(root, "/proc/4242/comm") == f"{root}{outside}/proc/4242/comm"
    assert resolver.resolve(root, "/sys/class/dmi/id/sys_vendor") == f"{root}/outside/sys_vendor"
    assert resolver.resolve(root, "/sys/class/dmi/id/product_name") == (
        f"{root}{outside}/product_name"
    )
    assert resolver.resolve(root, "/sys/hypervisor/uuid") == f"{root}/outside/hypervisor/uuid"
    assert resolver.resolve(root, "/lib/systemd/system/amazon-guardduty-agent.service") == (
        f"{root}/outside/unit.service"
    )
    assert resolver.resolve(root, "/var/lib/dpkg/status") == f"{root}/outside/dpkg/status"
    assert resolver.resolve(root, "/../../outside/secret") == f"{root}/outside/secret"
    assert resolver.resolve(root, "/etc/redhat-release", follow_last=False) == (
        f"{root}/etc/redhat-release"
    )
    with pytest.raises(OSError) as caught:
        resolver.resolve(root, "/etc/systemd/system.conf.d/x.conf")
    assert caught.value.errno == errno.ELOOP


@pytest.mark.parametrize(
    "path",
    [
        "/proc/4242/comm",
        "/proc/sys/kernel/osrelease",
        "/sys/kernel/btf/vmlinux",
        "/sys/class/dmi/id/sys_vendor",
        "/sys/class/dmi/id/product_name",
        "/sys/hypervisor/uuid",
        "/lib/systemd/system/amazon-guardduty-agent.service",
        "/var/lib/dpkg/status",
        "/var/log/amzn-guardduty-agent/agent.log",
        "/var/log/amazon/ssm/amazon-ssm-agent.log",
        "/var/log/amazon/ssm/errors.log",
        "/etc/redhat-release",
        "/etc/systemd/system.conf",
        "/../outside/secret",
        "/proc/../../outside/secret",
        "/run/log/journal/system.journal",
    ],
)
def test_host_reads_nothing_outside(tree: Path, path: str) -> None:
    host = RootedHost(root=str(tree))
    with pytest.raises(FileNotFoundError):
        host.read_bytes(path, 4096)
    with pytest.raises(FileNotFoundError):
        host.file_size(path)
    with pytest.raises(FileNotFoundError):
        host.mtime(path)
    assert host.is_dir(path) is False


def test_host_file_operations(tree: Path, outside: Path) -> None:
    host = RootedHost(root=str(tree))
    assert host.read_bytes("/etc/os-release", 4096).decode() == AL2023
    assert host.file_size("/etc/os-release") == len(AL2023)
    assert host.exists("/etc/os-release") and host.exists("/etc/redhat-release")
    assert not host.exists("/proc/4242/comm") and not host.exists("/proc/4242")
    assert host.exists("/proc")  # the link itself, as os.path.lexists
    assert host.readlink("/etc/redhat-release") == "/etc/shadow"
    assert host.readlink("/proc") == f"{outside}/proc"
    assert host.is_dir("/usr/lib") and not host.is_dir("/proc") and not host.is_dir("/var/lib/dpkg")
    with pytest.raises(FileNotFoundError):
        host.list_dir("/proc")
    with pytest.raises(FileNotFoundError):
        host.list_dir("/run/log/journal")
    assert host.list_dir("/etc/systemd") == [
        "system",
        "system.conf",
        "system.conf.d",
        "system.conf.d.loop",
    ]
    with pytest.raises(OSError) as caught:
        host.list_dir("/etc/systemd/system.conf.d")
    assert caught.value.errno == errno.ELOOP
    with pytest.raises(OSError) as caught:
        host.read_bytes("/var/log/journal/" + MACHINE + "/loop.journal", 10)
    assert caught.value.errno == errno.ELOOP
    assert host.os_release() == {
        "id": "amzn",
        "version_id": "2023",
        "name": "Amazon Linux 2023",
        "like": "fedora",
        "codename": "",
        "raw_id": "amzn",
    }


def test_host_reads_no_device_node_or_fifo(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    os.mkfifo(tree / "etc" / "os-release")
    link(tree / "proc/sys/kernel/osrelease", "/dev/zero")
    (tree / "dev").mkdir()
    os.symlink("/dev/zero", tree / "dev" / "zero")  # a link loop: /dev/zero is itself here
    host = RootedHost(root=str(tree))
    with pytest.raises(OSError) as caught:
        host.read_bytes("/etc/os-release", 10)  # would block on open without a writer
    assert caught.value.errno == errno.EINVAL
    with pytest.raises(OSError) as caught:
        host.read_bytes("/proc/sys/kernel/osrelease", 10)
    assert caught.value.errno == errno.ELOOP


def test_debian_version_is_the_trees(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "usr/lib/os-release", 'ID=debian\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\n')
    link(tree / "etc/os-release", "../usr/lib/os-release")
    write(tree / "etc/debian_version", "trixie/sid\n")
    release = RootedHost(root=str(tree)).os_release()
    assert (release["id"], release["version_id"]) == ("debian", "trixie/sid")
    (tree / "etc/debian_version").unlink()
    link(tree / "etc/debian_version", "/etc/shadow")
    assert RootedHost(root=str(tree)).os_release()["version_id"] == ""


@pytest.mark.parametrize("backend", [("systemd-python",), ("journalctl",)])
def test_journal_readers_stay_in_the_tree(tree: Path, backend: Tuple[str, ...]) -> None:
    if backend[0] == "systemd-python":
        pytest.importorskip("systemd.journal", reason="systemd-python is not installed")
    elif shutil.which("journalctl") is None:
        pytest.skip("journalctl is not installed")
    host = RootedHost(root=str(tree))
    host.journal_backends = backend
    read = host.journal_entries(
        [["_SYSTEMD_UNIT=amazon-guardduty-agent.service"]], None, 100, 1 << 20, 10
    )
    assert read.entries == () and read.files == 0
    assert CANARY not in repr(read)


def test_a_tree_journal_linked_inside_is_read(tmp_path: Path) -> None:
    """The other side of the guard: a journal file linked within the tree is still read, by
    both readers (journalctl then gets --file, as -D would follow the link itself)."""
    if journal_remote() is None:
        pytest.skip("systemd-journal-remote is needed to make a real journal file")
    tree = tmp_path / "tree"
    made = make_journal((EXPORTS / "oom-kills.export").read_bytes(), tree / "srv/journals")
    link(tree / f"var/log/journal/{MACHINE}/system.journal", f"/srv/journals/{made.name}")
    counts = []
    for backend in (("systemd-python",), ("journalctl",)):
        host = RootedHost(root=str(tree))
        host.journal_backends = backend
        read = host.journal_entries([["_TRANSPORT=kernel"]], None, 100, 1 << 20, 10)
        counts.append(len(read.entries))
    assert counts[0] == counts[1] > 0


# -- the whole CLI under strace ----------------------------------------------------------------
TRACED = "open,openat,openat2,stat,statx,newfstatat,lstat,readlink,readlinkat,access,faccessat2"
_CALL_RE = re.compile(r"^(\w+)\((.*)$")  # -ff: one file per process, no pid column
_PATH_RE = re.compile(r'^(AT_FDCWD|-?\d+), "((?:[^"\\]|\\.)*)"|^"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Access:
    """One system call on a file name: the name given, and the file the kernel reached with it
    (links followed as the call follows them), replayed on the tree after the run. strace shows
    only the name; a link in the tree is followed by the kernel, out of sight."""

    call: str
    path: str
    target: str


_NOFOLLOW_CALLS = {"lstat", "readlink", "readlinkat"}


def reached(path: str, follow: bool) -> str:
    if follow:
        return os.path.realpath(path)
    head, tail = os.path.split(path)
    return os.path.join(os.path.realpath(head), tail)


def strace(argv: List[str], traces: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` under strace, one trace file per process in ``traces`` (-ff), so that no
    call is split over an "unfinished" and a "resumed" line."""
    traces.mkdir()
    command = ["strace", "-f", "-ff", "-qq", "-s", "4096", "-e", f"trace={TRACED}"]
    return subprocess.run(
        [*command, "-o", str(traces / "trace"), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,  # type: ignore[call-overload]
    )


def traced_paths(traces: Path, cwd: Path) -> List[Access]:
    """Every file name the traced processes gave the kernel, made absolute."""
    found = []
    lines = [
        line
        for trace in sorted(traces.iterdir())
        for line in trace.read_text(errors="replace").splitlines()
    ]
    assert lines, f"strace wrote nothing to {traces}"
    for line in lines:
        match = _CALL_RE.match(line)
        if not match:
            continue
        call, args = match.group(1), match.group(2)
        named = _PATH_RE.match(args)
        if not named:
            continue
        dirfd, path = named.group(1), named.group(2) if named.group(1) else named.group(3)
        path = path.encode().decode("unicode_escape")
        if path == "" or (dirfd not in (None, "AT_FDCWD") and not path.startswith("/")):
            assert path == "", f"a name relative to a directory descriptor: {line}"
            continue  # fstat of an open descriptor (AT_EMPTY_PATH)
        path = path if path.startswith("/") else str(cwd / path)
        follow = call not in _NOFOLLOW_CALLS and "NOFOLLOW" not in args
        found.append(Access(call, path, reached(path, follow)))
    return found


def under(path: str, top: str) -> bool:
    return path == top or path.startswith(top + "/")


def import_path() -> List[str]:
    """sys.path of the doctor's interpreter as the CLI runs it (.pth files add to it)."""
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"],
        env=doctor_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [p for p in json.loads(out) if p.startswith("/")]


def interpreter_allowed() -> Tuple[Tuple[str, ...], Tuple[re.Pattern[str], ...]]:
    """Prefixes and patterns of what any Python process touches, host data never among them:
    the interpreter and its libraries, the package under test, shared libraries and the dynamic
    loader's cache, locale and charset files, the C library's own probes, /dev and /proc/self."""
    exe = Path(os.path.realpath(sys.executable))
    prefixes = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.realpath(sys.base_prefix),
        str(REPO),
        *sysconfig.get_paths().values(),
        *import_path(),
        "/dev/",
        "/proc/self/",
        "/usr/lib/locale/",
        "/usr/share/locale/",
        "/usr/lib/x86_64-linux-gnu/gconv/",
        "/usr/lib/aarch64-linux-gnu/gconv/",
    }
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    # getpath looks for its landmarks in every directory above the interpreter.
    landmarks = "|".join(
        re.escape(p)
        for p in (
            f"lib/python{version}.zip",
            f"lib/python{sys.version_info[0]}.{sys.version_info[1]}",
            "pybuilddir.txt",
            "pyvenv.cfg",
            "Modules/Setup.local",
        )
    )
    ancestors = "|".join(re.escape(str(p)) for p in [exe.parent, *exe.parents])
    patterns = (
        re.compile(rf"^(?:{ancestors})/(?:{landmarks})(?:/.*)?$"),
        re.compile(r"^/(?:usr/)?lib(?:64)?/(?:[\w-]+-linux-gnu/)?[^/]+\.so(?:\.[\d.]+)?$"),
        re.compile(r"^/etc/ld\.so\.(?:cache|preload)$"),
        re.compile(r"^/etc/localtime$"),  # time's tzset
        re.compile(r"^/sys/devices/system/cpu/(?:online|possible)$"),  # get_nprocs
        re.compile(r"^/proc/sys/vm/overcommit_memory$"),  # malloc
        re.compile(r"^/proc/\d+/(?:task/\d+/)?(?:fd/\d+|status|maps)$"),  # /proc/self by pid
    )
    return tuple(sorted(prefixes)), patterns


# distro builds a default instance when imported: it stats (never opens) the live os-release.
# The doctor never asks that instance anything; under --root it reads the tree's through the host.
DISTRO_IMPORT_STATS = {"/etc/os-release", "/usr/lib/os-release"}
STAT_CALLS = {"stat", "statx", "newfstatat", "lstat"}


def outside_accesses(accesses: List[Access], tree: Path) -> List[Access]:
    """Calls that named or reached a file outside the tree, the interpreter's own excepted."""
    prefixes, patterns = interpreter_allowed()
    top, real_top = str(tree), os.path.realpath(tree)
    bad = []
    for a in accesses:
        if under(a.path, top):
            if not under(a.target, real_top):
                bad.append(a)  # named in the tree, reached outside it through a link
            continue
        if a.path.startswith(prefixes) or any(p.match(a.path) for p in patterns):
            continue
        if a.call in STAT_CALLS and a.path in DISTRO_IMPORT_STATS:
            continue
        bad.append(a)
    return bad


def strace_cli(
    tree: Path, out: Path, fmt: str, code: Path = REPO
) -> Tuple[subprocess.CompletedProcess[str], List[Access]]:
    """The CLI run on ``tree`` under strace (from the package in ``code``), and its file names."""
    traces = out.parent / f"traces-{fmt}"
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(code))
    argv = [*doctor_argv(), "check", "--root", str(tree), "-f", fmt, "--dns-server", "127.0.0.1:9"]
    proc = strace(argv, traces, env=env, cwd=str(code))
    return proc, traced_paths(traces, code)


needs_strace = pytest.mark.skipif(
    shutil.which("strace") is None, reason="strace (package strace) is needed to watch the run"
)


@needs_strace
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_cli_never_leaves_the_tree(tree: Path, outside: Path, fmt: str) -> None:
    proc, accesses = strace_cli(tree, outside, fmt)
    assert proc.stderr == ""
    assert CANARY not in proc.stdout and "canaryos" not in proc.stdout
    assert not [a for a in accesses if under(a.target, str(outside)) or a.target == "/etc/shadow"]
    assert outside_accesses(accesses, tree) == []
    # The tree was really read: its files are in the trace, and its OS is the one reported.
    opened = {a.path for a in accesses if a.call == "openat"}
    assert f"{tree}/usr/lib/os-release" in opened
    if fmt == "json":
        assert json.loads(proc.stdout)["host"]["os"] == "Amazon Linux 2023"
    else:
        assert "\nHost: Amazon Linux 2023\n" in proc.stdout


@pytest.mark.corpus
def test_cli_reports_nothing_of_the_canaries(tree: Path) -> None:
    """The same without strace, as operators run it, in every format (and, as part of the CLI
    corpus, on every interpreter and build)."""
    for fmt in ("json", "text", "summary"):
        result = run_cli(
            "check", "--root", str(tree), "-f", fmt, "-v", "--dns-server", "127.0.0.1:9"
        )
        assert result.stderr == ""
        assert CANARY not in result.stdout and "canaryos" not in result.stdout


@needs_strace
def test_allow_list_catches_a_live_read(tmp_path: Path) -> None:
    """The trace reader and allow-list see a read of a live file, named directly or reached
    through a link in the tree, while a Python process's own start-up passes."""
    tree = tmp_path / "tree"
    link(tree / "etc/os-release", "/etc/hostname")
    code = (
        "import os; open('/etc/hostname').close(); os.stat('/etc/passwd'); "
        f"open('{tree}/etc/os-release').close()"
    )
    proc = strace([sys.executable, "-c", code], tmp_path / "traces", check=True)
    assert proc.returncode == 0
    bad = outside_accesses(traced_paths(tmp_path / "traces", REPO), tree)
    assert sorted({(a.call, a.path, a.target) for a in bad}) == [
        ("newfstatat", "/etc/passwd", "/etc/passwd"),
        ("openat", "/etc/hostname", "/etc/hostname"),
        ("openat", f"{tree}/etc/os-release", "/etc/hostname"),
    ]


@pytest.mark.corpus
@pytest.mark.parametrize("target", ["/usr/lib/os-release", "../usr/lib/os-release"])
def test_os_release_link_names_the_trees_os(tmp_path: Path, target: str) -> None:
    """The fixture tree (absolute link) as committed, and the relative form distributions ship."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOTS / "al2023-os-release-link", tree, symlinks=True)
    assert os.readlink(tree / "etc/os-release") == "/usr/lib/os-release"
    (tree / "etc/os-release").unlink()
    link(tree / "etc/os-release", target)
    result = run_cli("check", "--root", str(tree), "-f", "json", "--dns-server", "127.0.0.1:9")
    report = result.json()
    assert report["host"]["os"] == "Amazon Linux 2023"
    assert report["host"]["kernel"] == "6.1.115-126.197.amzn2023.x86_64"
    kernel = next(c for c in report["checks"] if c["id"] == "platform.kernel_supported")
    assert kernel["summary"].endswith("is supported on Amazon Linux 2023.")
