"""Which package tools are asked: the ones whose database the host holds. Debian ships an rpm
tool for building rpms with an empty /var/lib/rpm; asking it costs a process tree per question
and can say nothing about the host's packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from amzn_gd_doctor.host import RootedHost
from amzn_gd_doctor.probes import pkgdb


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
    for name in files:
        path = tmp_path / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    assert pkgdb.managers(RootedHost(root=str(tmp_path))) == expected
