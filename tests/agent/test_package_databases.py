"""The package database part: which package tools are asked (the ones whose database the host
holds: Debian ships an rpm tool for building rpms with an empty /var/lib/rpm; asking it costs a
process tree per question and can say nothing about the host's packages), and what a live host
and a tree answer about a package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import ROOTS

from amzn_gd_doctor.host import LiveHost, RootedHost, packages
from amzn_gd_doctor.host.packages import DpkgStatusFile, NoPackageDatabase, PackageQuery


def _tree(root: Path, files: list) -> Path:
    for name in files:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    return root


@pytest.mark.parametrize(
    "files, expected",
    [
        (["var/lib/dpkg/status", "var/lib/rpm/"], ("dpkg",)),
        (["var/lib/rpm/Packages"], ("rpm",)),
        (["usr/lib/sysimage/rpm/rpmdb.sqlite", "var/lib/rpm/"], ("rpm",)),
        (["var/lib/dpkg/status", "var/lib/rpm/rpmdb.sqlite"], ("dpkg", "rpm")),
        (["var/lib/rpm/"], ("dpkg", "rpm")),
        ([], ("dpkg", "rpm")),
    ],
)
def test_managers_are_those_with_a_database(tmp_path: Path, files: list, expected: tuple) -> None:
    assert packages.managers(RootedHost(root=str(_tree(tmp_path, files))).files) == expected


def test_a_tree_answers_from_dpkg_status_and_its_file_list() -> None:
    host = RootedHost(root=str(ROOTS / "agent-healthy"))
    (record,) = host.packages.records("amazon-guardduty-agent")
    status = (ROOTS / "agent-healthy/var/lib/dpkg/status").read_bytes()
    assert record == DpkgStatusFile("/var/lib/dpkg/status", status)
    listing = (ROOTS / "agent-healthy/var/lib/dpkg/info/amazon-guardduty-agent.list").read_bytes()
    assert host.packages.listing(record, "amazon-guardduty-agent") == listing
    assert host.packages.listing(record, "not-a-package") == b""


@pytest.mark.parametrize(
    "files, note, present",
    [
        (["var/lib/rpm/rpmdb.sqlite"], "the rpm database is not read under --root", True),
        (["etc/systemd/system/"], "the tree has no package database", False),
    ],
)
def test_a_tree_without_dpkg_says_why_no_database_is_read(
    tmp_path: Path, files: list, note: str, present: bool
) -> None:
    host = RootedHost(root=str(_tree(tmp_path, files)))
    assert list(host.packages.records("x")) == [NoPackageDatabase(note, present, "the tree")]


@pytest.mark.skipif(
    not Path("/var/lib/dpkg/status").exists() or shutil.which("dpkg-query") is None,
    reason="needs this machine's dpkg database and dpkg-query",
)
def test_a_live_host_asks_the_package_manager() -> None:
    """dpkg's own package, asked of the real dpkg-query; its file list from the real dpkg -L."""
    host = LiveHost(env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    first = next(iter(host.packages.records("dpkg")))
    assert isinstance(first, PackageQuery) and first.manager == "dpkg"
    assert first.result.argv[:3] == ("dpkg-query", "-W", "-f")
    assert first.result.returncode == 0
    assert first.result.stdout.startswith(b"install ok installed\t")
    assert b"/usr/bin/dpkg\n" in host.packages.listing(first, "dpkg")
