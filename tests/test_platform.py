"""Platform parsers and rules, and the platform trees end to end with a loopback IMDS, checked
against what their expectation files declare."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional

import pytest
from scenarios import TREES, assert_declared, load_expectation
from support import ROOTS, ImdsServer, doctor_env, run_cli

from amzn_gd_doctor import catalog
from amzn_gd_doctor.facts.imds import IdentityResult
from amzn_gd_doctor.facts.platform import BtfInfo, Ec2Signs, KernelRelease, OsInfo
from amzn_gd_doctor.facts.ssm import SsmRegistration
from amzn_gd_doctor.model import Outcome
from amzn_gd_doctor.probes.imds_document import parse_identity_document
from amzn_gd_doctor.probes.imds_session import parse_imds_config
from amzn_gd_doctor.probes.platform import parse_kernel_release, parse_os_info
from amzn_gd_doctor.rules.platform import (
    arch_supported,
    btf_present,
    ec2_instance,
    kernel_supported,
    newest_family,
    os_identified,
    parse_agent_version,
)


@pytest.mark.parametrize(
    ("raw", "version"),
    [
        (b"6.1.115-126.197.amzn2023.x86_64\n", (6, 1, 115)),
        (b"5.10.228-219.884.amzn2.x86_64", (5, 10, 228)),
        (b"6.8.0-1018-aws\n", (6, 8, 0)),
        (b"3.10.0-1160.119.1.el7.x86_64\n", (3, 10, 0)),
        (b"7.0\n", (7, 0, 0)),
        (b"", None),
        (b"linux-garbage\n", None),
        (b"\xff\xfe\x00\x01", None),
    ],
)
def test_parse_kernel_release(raw: bytes, version: Optional[tuple]) -> None:
    assert parse_kernel_release(raw).version == version


def test_parse_os_info_strips_control_characters() -> None:
    info = parse_os_info(
        True, {"id": "AMZN", "version_id": "2023\x1b[31m", "name": "Amazon\x07 Linux"}
    )
    assert (info.id, info.version_id, info.name) == ("amzn", "2023[31m", "Amazon Linux")


def kernel(raw: str) -> KernelRelease:
    return parse_kernel_release(raw.encode())


AL2023 = OsInfo(True, "amzn", "2023", "Amazon Linux 2023")
UBUNTU = OsInfo(True, "ubuntu", "24.04", "Ubuntu 24.04.3 LTS")


class Agent:
    def __init__(self, version: Optional[str], installed: bool = True) -> None:
        self.version, self.installed = version, installed


def test_kernel_supported_passes_listed_family() -> None:
    verdict = kernel_supported(kernel("6.1.115-126.197.amzn2023.x86_64"), AL2023, None)
    assert verdict.outcome is Outcome.PASS
    assert verdict.summary == (
        "kernel 6.1.115-126.197.amzn2023.x86_64 (family 6.1) is supported on Amazon Linux 2023."
    )


def test_kernel_supported_fails_below_5_4() -> None:
    verdict = kernel_supported(kernel("4.14.355-284.742.amzn2.x86_64"), None, None)
    assert (verdict.outcome, verdict.issue) == (Outcome.FAIL, "kernel_too_low")
    assert "is below 5.4" in verdict.summary


def test_kernel_supported_fails_above_newest_known_agent() -> None:
    verdict = kernel_supported(kernel("7.4.0-1001-aws"), UBUNTU, None)
    assert verdict.issue == "kernel_too_high"
    assert verdict.summary == (
        "kernel 7.4.0-1001-aws (family 7.4) is above 7.2, the newest family "
        "the newest known agent (v1.17.1) supports."
    )


def test_kernel_supported_uses_installed_agent_version() -> None:
    verdict = kernel_supported(kernel("6.14.0-1011-aws"), UBUNTU, Agent("1.9.0-1.x86_64"))
    assert verdict.issue == "kernel_too_high"
    assert verdict.summary.endswith(
        "is above 6.12, the newest family the installed agent v1.9.0-1.x86_64 supports."
    )
    assert (
        kernel_supported(kernel("6.14.0-1011-aws"), UBUNTU, Agent("1.9.1")).outcome is Outcome.PASS
    )
    assert (
        kernel_supported(kernel("6.14.0-1011-aws"), UBUNTU, Agent(None, installed=False)).outcome
        is Outcome.PASS
    )


def test_kernel_supported_warns_when_not_listed_for_distribution() -> None:
    fedora = OsInfo(True, "fedora", "41", "Fedora Linux 41 (Server Edition)")
    verdict = kernel_supported(kernel("6.11.4-301.fc41.x86_64"), fedora, None)
    assert verdict.outcome is Outcome.WARN
    assert "not verified by GuardDuty for Fedora" in verdict.summary


def test_kernel_supported_warns_for_unlisted_distribution() -> None:
    verdict = kernel_supported(
        kernel("6.1.0-27-cloud-amd64"), OsInfo(True, "gentoo", "2.17", "Gentoo"), None
    )
    assert verdict.outcome is Outcome.WARN
    assert "Gentoo is not a distribution GuardDuty lists" in verdict.summary


def test_kernel_supported_inconclusive_on_garbage() -> None:
    verdict = kernel_supported(kernel("not-a-kernel"), AL2023, None)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.summary == "kernel release 'not-a-kernel' does not start with MAJOR.MINOR"


@pytest.mark.parametrize(
    ("agent", "newest"),
    [
        (None, (7, 2)),
        ("1.0.0", (6, 12)),
        ("1.2.0", (6, 12)),
        ("1.9.2", (6, 18)),
        ("1.16.0", (7, 1)),
        ("v1.17.1", (7, 2)),
    ],
)
def test_newest_family_by_agent_version(agent: Optional[str], newest: tuple) -> None:
    assert newest_family(catalog.kernel_matrix(), agent)[0] == newest


def test_parse_agent_version() -> None:
    assert parse_agent_version("1.9.2-1.amzn2023") == (1, 9, 2)
    assert parse_agent_version("garbage") is None


def test_btf_present() -> None:
    assert btf_present(BtfInfo(True)).outcome is Outcome.PASS
    missing = btf_present(BtfInfo(False))
    assert (missing.outcome, missing.issue, missing.confidence.value) == (
        Outcome.FAIL,
        "no_agent_reporting",
        "likely",
    )


def identity(arch: str, itype: str) -> IdentityResult:
    doc = parse_identity_document(
        (
            '{"accountId": "123456789012", "instanceId": "i-0123456789abcdef0",'
            ' "region": "eu-west-1",'
            f' "architecture": "{arch}", "instanceType": "{itype}"}}'
        ).encode()
    )
    return IdentityResult(parse_imds_config({}), None, doc)


def test_arch_supported() -> None:
    assert arch_supported("x86_64", None).summary == "architecture x86_64 is supported."
    assert arch_supported(None, identity("arm64", "m7g.large")).summary == (
        "architecture aarch64 on m7g.large is supported."
    )
    a1 = arch_supported("aarch64", identity("arm64", "a1.large"))
    assert (a1.outcome, a1.issue) == (Outcome.FAIL, "ssm_association_execution_failed")
    other = arch_supported("ppc64le", None)
    assert other.summary == (
        "architecture ppc64le is not supported; the agent runs on x86_64 "
        "and arm64 (Graviton2 or newer)."
    )
    assert arch_supported(None, None).outcome is Outcome.INCONCLUSIVE


def test_ec2_signs() -> None:
    assert Ec2Signs("Amazon EC2", "m5.large", None).is_ec2 is True
    assert Ec2Signs(None, None, "ec2e1916-9099-7caf-fd21-012345abcdef").is_ec2 is True
    assert Ec2Signs("QEMU", "Standard PC", None).is_ec2 is False
    assert Ec2Signs(None, None, None).is_ec2 is None


# -- bad input through the real host seam -------------------------------------------------------
def make_root(
    tmp_path: Path, os_release: bytes, osrelease: bytes = b"6.1.0-27-cloud-amd64\n"
) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_bytes(os_release)
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/osrelease").write_bytes(osrelease)
    return tmp_path


def check_root(root: Path, *extra: str) -> dict:
    return run_cli("check", "--root", str(root), "-f", "json", *extra).json()


def finding(report: dict, rule_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == rule_id)


def test_empty_os_release(tmp_path: Path) -> None:
    report = check_root(make_root(tmp_path, b""))
    assert finding(report, "platform.kernel_supported")["summary"] == (
        "kernel family 6.1 is in range, but an unidentified OS is not a distribution GuardDuty "
        "lists: not verified by GuardDuty, coverage may still be healthy."
    )


def test_binary_os_release(tmp_path: Path) -> None:
    report = check_root(make_root(tmp_path, b"\x00\xff\xfeID=\x1b[2J\n" * 50))
    item = finding(report, "platform.kernel_supported")
    assert item["outcome"] == "warn"
    fact = next(f for f in report["facts"] if f["id"] == "platform.os")
    assert fact["status"] == "error" and "not UTF-8 text" in fact["reason"]


def test_os_release_fallback_to_usr_lib(tmp_path: Path) -> None:
    root = make_root(tmp_path, b"")
    (root / "etc/os-release").unlink()
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text(
        'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
    )
    report = check_root(root)
    assert report["host"]["os"] == "Debian GNU/Linux 12 (bookworm)"


def test_garbage_kernel_string(tmp_path: Path) -> None:
    report = check_root(
        make_root(tmp_path, b"ID=amzn\nVERSION_ID=2023\n", b"\x1b]0;pwned\x07junk\n")
    )
    item = finding(report, "platform.kernel_supported")
    assert item["outcome"] == "inconclusive"
    text = run_cli("check", "--root", str(tmp_path)).stdout
    assert "\x1b" not in text and "\x07" not in text
    assert "kernel release '\\x1b]0;pwned\\x07junk' does not start with MAJOR.MINOR" in text


def test_missing_kernel_file_is_inconclusive(tmp_path: Path) -> None:
    root = make_root(tmp_path, b"ID=amzn\nVERSION_ID=2023\n")
    (root / "proc/sys/kernel/osrelease").unlink()
    item = finding(check_root(root), "platform.kernel_supported")
    assert item["outcome"] == "inconclusive"
    assert "the kernel release could not be read" in item["summary"]


SETPRIV = shutil.which("setpriv")


@pytest.mark.corpus
@pytest.mark.skipif(
    SETPRIV is None or os.geteuid() != 0,
    reason="needs util-linux setpriv and root to drop CAP_DAC_OVERRIDE for real",
)
def test_permission_denied_is_reported_not_guessed(tmp_path: Path) -> None:
    root = make_root(tmp_path, b"ID=amzn\nVERSION_ID=2023\n")
    secret = root / "proc/sys/kernel/osrelease"
    os.chown(secret, 12345, 12345)
    secret.chmod(0o000)

    from support import DROP_READ_CAPS, REPO, doctor_argv

    proc = subprocess.run(
        [
            *DROP_READ_CAPS,
            "--",
            *doctor_argv(),
            "check",
            "--root",
            str(root),
            "-f",
            "json",
        ],
        env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
    )
    import json

    report = json.loads(proc.stdout)
    item = finding(report, "platform.kernel_supported")
    assert item["summary"] == (
        f"inconclusive, because the kernel release could not be read "
        f"(permission denied reading {secret} (run as root))"
    )
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr


# -- every platform tree, end to end, with IMDS answering ------------------------------------
def platform_trees() -> List[str]:
    """The trees about the platform alone (every distribution, the EC2 signs, no os-release):
    those whose expectation file declares only platform checks."""
    return [
        name
        for name in TREES
        if all(rule.startswith("platform.") for rule in load_expectation(name)["outcomes"])  # type: ignore[union-attr]
    ]


@pytest.mark.corpus
@pytest.mark.parametrize("name", platform_trees())
def test_platform_trees_with_imds(name: str, imds_server: ImdsServer) -> None:
    """The corpus judges each tree with IMDS disabled; here IMDS answers (a healthy IMDSv2 on
    loopback) and the platform's declared outcomes and summary words must not change, and a
    platform failure (the kernel's range) stays the verdict."""
    args = ("check", "--root", str(ROOTS / name), "--imds-endpoint", imds_server.url)
    env = doctor_env(AWS_METADATA_SERVICE_TIMEOUT="0.5")
    report = run_cli(*args, "-f", "json", env=env).json()
    expected = load_expectation(name)
    outcomes = expected["outcomes"]
    assert isinstance(outcomes, dict)
    assert_declared(report, {"outcomes": outcomes, "summaries": expected["summaries"]})
    if "fail" in outcomes.values():
        first = expected["diagnoses"][0]  # type: ignore[index]
        assert report["verdict"]["code"] == first["code"]  # type: ignore[index]


QEMU = Ec2Signs("QEMU", "Standard PC (Q35 + ICH9, 2009)", None, None, "1.16.2-debian-1.16.2-1")


@pytest.mark.parametrize(
    "signs, expected",
    [
        (Ec2Signs("Amazon EC2", "m6i.large", None), True),
        (Ec2Signs(None, None, None, board_vendor="Amazon EC2"), True),
        (Ec2Signs("Xen", "HVM domU", None, None, "4.11.amazon"), True),
        (Ec2Signs(None, None, None, product_uuid="EC2E1916-9099-7CAF-FD21-012345ABCDEF"), True),
        (Ec2Signs("Xen", "HVM domU", "ec2e1916-9099-7caf-fd21-012345abcdef"), True),
        (QEMU, False),
        (Ec2Signs(None, None, "5d4b3a2c-0000-0000-0000-000000000000"), False),
        (Ec2Signs(None, None, None), None),
    ],
)
def test_ec2_signs_per_reference(signs: Ec2Signs, expected: Optional[bool]) -> None:
    assert signs.is_ec2 is expected


def test_ec2_instance() -> None:
    ok = ec2_instance(Ec2Signs("Amazon EC2", "m6i.large", None), None)
    assert ok.outcome is Outcome.PASS
    assert ok.summary == (
        "this machine is an EC2 instance (DMI sys_vendor 'Amazon EC2', product_name 'm6i.large')."
    )
    qemu = ec2_instance(QEMU, None)
    assert qemu.outcome is Outcome.WARN and qemu.issue is None
    assert qemu.summary.startswith(
        "this machine is not an EC2 instance (DMI sys_vendor 'QEMU', product_name 'Standard PC "
        "(Q35 + ICH9, 2009)', bios_version '1.16.2-debian-1.16.2-1'), nor an SSM hybrid node: "
    )
    hybrid = ec2_instance(QEMU, SsmRegistration("mi-0123456789abcdef0", "eu-west-1", (), True))
    assert hybrid.outcome is Outcome.NOT_APPLICABLE
    assert hybrid.summary.startswith("an SSM hybrid node (mi-0123456789abcdef0), not an EC2")
    unknown = ec2_instance(Ec2Signs(None, None, None), None)
    assert unknown.outcome is Outcome.NOT_APPLICABLE
    assert unknown.summary == (
        "whether this is an EC2 instance is unknown: no DMI or hypervisor file readable."
    )


def test_a_qemu_machine_is_told_apart_from_ec2(refused_port: int) -> None:
    """IMDS refused on a QEMU machine: not EC2 is said first, and no console issue is confirmed;
    the same IMDS failure on an EC2 machine stays a confirmed console issue."""
    endpoint = [
        "--imds-endpoint",
        f"http://127.0.0.1:{refused_port}/",
        "--dns-server",
        "127.0.0.1:9",
    ]
    qemu = run_cli(
        "check", "--root", str(ROOTS / "not-ec2-qemu"), "-f", "json", *endpoint, env=doctor_env()
    )
    report = qemu.json()
    assert report["verdict"]["coverage_status"] == "UNKNOWN" and qemu.returncode == 3
    assert report["verdict"]["not_ec2"].startswith(
        "this machine is not an EC2 instance (DMI sys_vendor 'QEMU'"
    )
    assert report["diagnoses"] and all(d["confidence"] == "suspected" for d in report["diagnoses"])
    summary = run_cli(
        "check", "--root", str(ROOTS / "not-ec2-qemu"), "-f", "summary", *endpoint, env=doctor_env()
    )
    assert summary.stdout == (
        "amzn-gd-doctor: UNKNOWN | not an EC2 instance: GuardDuty's EC2 Runtime Monitoring does not"
        " cover it | instance id unknown\n"
    )
    text = run_cli("check", "--root", str(ROOTS / "not-ec2-qemu"), *endpoint, env=doctor_env())
    verdict = text.stdout.split("\n\n")[1]
    assert verdict.splitlines()[1].startswith(
        "  Not EC2:       this machine is not an EC2 instance"
    )
    for name in ("ec2-nitro", "ec2-xen"):
        ec2 = run_cli(
            "check", "--root", str(ROOTS / name), "-f", "json", *endpoint, env=doctor_env()
        )
        report = ec2.json()
        assert report["verdict"]["not_ec2"] is None
        assert report["verdict"]["code"] == "identity_document_unavailable"
        assert report["verdict"]["confidence"] == "confirmed"


def test_os_identified() -> None:
    amzn = os_identified(OsInfo(True, "amzn", "2023", "Amazon Linux 2023.6.20241121", "fedora"))
    assert (amzn.outcome, amzn.summary) == (
        Outcome.PASS,
        "Amazon Linux 2023.6.20241121 (ID 'amzn', VERSION_ID '2023').",
    )
    missing = os_identified(OsInfo(False))
    assert missing.outcome is Outcome.WARN and missing.summary.startswith("no /etc/os-release")
    assert (
        os_identified(OsInfo(True, "", "9")).summary
        == "os-release names no distribution (no ID or NAME)."
    )


@pytest.mark.parametrize(
    "content, reason",
    [
        (bytes(range(128, 256)) * 2, "os-release is not UTF-8 text"),
        (
            b'NAME=Amazon Linux\nID=amzn\nPRETTY_NAME="Amazon Linux 2023\n',
            "os-release is malformed: No closing quotation",
        ),
    ],
)
def test_a_malformed_os_release_is_named_not_hidden(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    root = tmp_path / "root"
    shutil.copytree(str(ROOTS / "al2023-6.1"), str(root))
    (root / "etc" / "os-release").write_bytes(content)
    report = run_cli(
        "check", "--root", str(root), "-f", "json", env=doctor_env(AWS_EC2_METADATA_DISABLED="true")
    ).json()
    found = {c["id"]: c for c in report["checks"]}
    assert found["platform.os_identified"]["outcome"] == "inconclusive"
    assert reason in found["platform.os_identified"]["summary"]
    assert (
        "could not be read (see the distribution check)"
        in found["platform.kernel_supported"]["summary"]
    )
    assert not any("crashed" in (f["reason"] or "") for f in report["facts"])
