"""Output paths that cannot be turned against root (amzn_gd_doctor/outfile.py), and every
write failure as one line and exit 2: links planted in folders others can write, block devices,
the umask, names near the file system's limit, a full or read-only file system, /proc."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from support import REPO, ROOTS, doctor_env, run_cli

from amzn_gd_doctor.outfile import OutputError, write_output

REPORT = "the report\n"
NOBODY = 65534


def put(path: Path) -> None:
    write_output(str(path), lambda fh: fh.write(REPORT))


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_027")
def test_a_new_file_follows_the_umask_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    put(tmp_path / "r.txt")
    assert (tmp_path / "r.txt").read_text() == REPORT
    assert stat.S_IMODE(os.stat(str(tmp_path / "r.txt")).st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ["r.txt"]


def test_a_regular_file_is_replaced_whole_with_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "r.txt"
    target.write_text("old and longer than the report\n")
    os.chmod(str(target), 0o600)
    old = os.umask(0o022)
    try:
        put(target)
    finally:
        os.umask(old)
    assert target.read_text() == REPORT
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o644


def test_a_name_at_the_file_system_limit_is_written(tmp_path: Path) -> None:
    name = "r" * 251 + ".txt"  # 255 bytes, the limit of ext4 and tmpfs
    put(tmp_path / name)
    assert (tmp_path / name).read_text() == REPORT
    with pytest.raises(OutputError, match=r"the name is too long$"):
        put(tmp_path / ("r" * 256))


def world_writable(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    public.mkdir()
    os.chmod(str(public), 0o1777)  # as /tmp
    return public


@pytest.mark.skipif(os.geteuid() != 0, reason="a link owned by another user needs root (lchown)")
def test_a_link_planted_in_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    link = world_writable(tmp_path) / "report.txt"
    link.symlink_to(victim)
    os.lchown(str(link), NOBODY, NOBODY)
    with pytest.raises(OutputError, match="symbolic link in a folder others can write"):
        put(link)
    assert victim.read_text() == "root's file\n"
    assert os.listdir(str(link.parent)) == ["report.txt"]


@pytest.mark.skipif(os.geteuid() != 0, reason="a folder owned by another user needs root (chown)")
def test_a_link_in_a_folder_another_user_owns_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "report.txt").symlink_to(victim)
    os.chown(str(theirs), NOBODY, NOBODY)
    with pytest.raises(OutputError, match="symbolic link"):
        put(theirs / "report.txt")
    assert victim.read_text() == "root's file\n"


def test_a_link_in_a_folder_only_we_can_write_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("before\n")
    (tmp_path / "link.txt").symlink_to("real.txt")
    put(tmp_path / "link.txt")
    assert real.read_text() == REPORT
    assert (tmp_path / "link.txt").is_symlink()


def block_device(path: Path) -> Path:
    try:  # loop device 250: no such device is set up, and nothing is ever written
        os.mknod(str(path), stat.S_IFBLK | 0o600, os.makedev(7, 250))
    except PermissionError:
        pytest.skip("mknod of a block device needs CAP_MKNOD (run the suite as root)")
    return path


def test_a_block_device_is_never_written(tmp_path: Path) -> None:
    disk = block_device(tmp_path / "disk")
    with pytest.raises(OutputError, match="block device"):
        put(disk)
    (tmp_path / "to-disk").symlink_to(disk)
    with pytest.raises(OutputError, match="block device"):
        put(tmp_path / "to-disk")
    assert stat.S_ISBLK(os.stat(str(disk)).st_mode)


def test_a_missing_folder_or_a_folder_named_as_the_file(tmp_path: Path) -> None:
    with pytest.raises(
        OutputError, match=r"^cannot write .*/no/r\.txt: its folder does not exist$"
    ):
        put(tmp_path / "no" / "r.txt")
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="it is a folder"):
        put(tmp_path / "d")


# -- the CLI: one line on stderr and exit 2, never a traceback ----------------------------------
CHECK = ["check", "--root", str(ROOTS / "agent-healthy"), "--dns-server", "127.0.0.1:9"]


def refused(result: object, reason: str) -> None:
    returncode, stderr = getattr(result, "returncode"), getattr(result, "stderr")  # noqa: B009
    assert returncode == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot write "), stderr
    assert lines[0].endswith(reason), stderr


def test_check_into_a_proc_file_is_one_line_and_exit_2() -> None:
    refused(run_cli(*CHECK, "-o", "/proc/version"), "")


def test_check_to_dev_stdout_writes_the_report_to_stdout() -> None:
    result = run_cli(*CHECK, "-f", "summary", "-o", "/dev/stdout")
    assert result.stdout.startswith("amzn-gd-doctor: ") and result.stderr == ""


needs_unshare = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/usr/bin/unshare"),
    reason="needs root and unshare (util-linux) for a private mount",
)


def in_private_mount(tmp_path: Path, mount: str, *args: str) -> subprocess.CompletedProcess:
    """The CLI with -o into DIR, a tmpfs mounted with MOUNT options in a mount namespace of
    its own: no other process sees the mount."""
    folder = tmp_path / "mnt"
    folder.mkdir()
    script = 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"'
    argv = [sys.executable, "-m", "amzn_gd_doctor", *args, "-o", str(folder / "report.txt")]
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", mount,
         str(folder), *argv],
        env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
        cwd=str(REPO), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@needs_unshare
def test_check_on_a_full_file_system_is_one_line_and_exit_2(tmp_path: Path) -> None:
    refused(in_private_mount(tmp_path, "size=4k", *CHECK), "no space left on the file system")


@needs_unshare
def test_check_on_a_read_only_file_system_is_one_line_and_exit_2(tmp_path: Path) -> None:
    refused(in_private_mount(tmp_path, "ro", *CHECK), "the file system is read-only")
