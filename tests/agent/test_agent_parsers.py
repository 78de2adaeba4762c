"""Agent parsers on captured outputs (fixtures/agent/), one file per variant, malformed ones
included, and the pure functions they rely on."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Optional, Tuple

import pytest

from amzn_gd_doctor.catalog import phrases
from amzn_gd_doctor.facts.agent import AgentUnit
from amzn_gd_doctor.host.journal import JOURNAL_FIELD_LIMIT, JournalEntry, parse_journal_json_line
from amzn_gd_doctor.host.processes import (
    parse_memlock,
    parse_proxy_environ,
    parse_status_rss,
)
from amzn_gd_doctor.numbers import SIZE_ABSURD, fmt_bytes, parse_bytes, parse_count
from amzn_gd_doctor.probes import agent_logs, agent_text
from amzn_gd_doctor.probes.agent_common import parse_size
from amzn_gd_doctor.probes.agent_journal_events import UnitCounts, count_pid1_entry, oom_kills
from amzn_gd_doctor.probes.agent_package_parse import (
    MalformedAnswer,
    notable_files,
    parse_dpkg_query,
    parse_dpkg_status_file,
    parse_rpm_query,
)
from amzn_gd_doctor.probes.agent_unit import parse_show, parse_timespan_us, unit_from_show
from amzn_gd_doctor.probes.agent_unit_files import (
    parse_cpu_quota,
    parse_environment,
    parse_memlock_setting,
    parse_unit_settings,
)
from amzn_gd_doctor.redact import mask_proxy_credentials

from .conftest import AGENT_FIXTURES, ROOTS


def captured(kind: str, name: str) -> Tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of a captured command: NAME.stdout, .stderr, .rc."""
    base = AGENT_FIXTURES / kind / name

    def read(ext: str) -> bytes:
        path = Path(f"{base}.{ext}")
        return path.read_bytes() if path.exists() else b""

    return int(read("rc") or b"0"), read("stdout"), read("stderr")


# -- systemctl show -----------------------------------------------------------------------------
SHOW = {
    # file: (active_state, sub_state, result, n_restarts, memory cap, memlock, main pid)
    "active-running.txt": ("active", "running", "success", 0, 128 << 20, (8 << 20, 8 << 20), 2540),
    "failed-oom.txt": ("failed", "failed", "oom-kill", 4, 128 << 20, (65536, 65536), None),
    "auto-restart.txt": (
        "activating",
        "auto-restart",
        "exit-code",
        17,
        256 << 20,
        (None, None),
        None,
    ),
    "inactive-disabled.txt": (
        "inactive",
        "dead",
        "success",
        0,
        128 << 20,
        (8 << 20, 8 << 20),
        None,
    ),
    "not-found.txt": ("inactive", "dead", "success", 0, None, (8 << 20, 8 << 20), None),
    "masked.txt": ("inactive", "dead", "success", 0, None, (65536, 65536), None),
    "systemd219-active.txt": (
        "active",
        "running",
        "success",
        None,
        128 << 20,
        (65536, 65536),
        3112,
    ),
}


@pytest.mark.parametrize("name", sorted(SHOW))
def test_systemctl_show_fixtures(name: str) -> None:
    unit = unit_from_show(parse_show((AGENT_FIXTURES / "systemctl" / name).read_bytes()))
    active, sub, result, restarts, cap, memlock, pid = SHOW[name]
    assert (unit.active_state, unit.sub_state, unit.result) == (active, sub, result)
    assert unit.n_restarts == restarts
    assert unit.memory_cap == cap
    assert unit.memlock == memlock
    assert unit.main_pid == pid
    assert unit.systemd == "running"


def test_systemctl_show_details() -> None:
    oom = unit_from_show(parse_show((AGENT_FIXTURES / "systemctl/failed-oom.txt").read_bytes()))
    assert (oom.exec_main_code, oom.exec_main_status) == ("killed", 9)
    assert oom.memory_current is None  # "[not set]"
    running = unit_from_show(
        parse_show((AGENT_FIXTURES / "systemctl/active-running.txt").read_bytes())
    )
    assert running.cpu_quota_per_sec_us == 100_000  # 10 % of one CPU
    assert running.memory_current == 22958080
    assert running.unit_file_state == "enabled"
    loop = unit_from_show(parse_show((AGENT_FIXTURES / "systemctl/auto-restart.txt").read_bytes()))
    assert loop.proxy_env == {
        "HTTPS_PROXY": "http://***@10.0.0.5:3128",
        "NO_PROXY": "169.254.169.254",
    }
    old = unit_from_show(
        parse_show((AGENT_FIXTURES / "systemctl/systemd219-active.txt").read_bytes())
    )
    assert old.memory_current is None  # 2^64-1 means "not counted" on systemd 219


@pytest.mark.parametrize("name", ["malformed.txt", "empty.txt"])
def test_systemctl_show_malformed_has_no_load_state(name: str) -> None:
    props = parse_show((AGENT_FIXTURES / "systemctl" / name).read_bytes())
    assert "LoadState" not in props
    assert all("\x1b" not in v for v in props.values())


# -- dpkg-query and rpm -------------------------------------------------------------------------
DPKG = {
    "installed": ("installed", "1.9.2", True, "ii"),
    "half-configured": ("half-configured", "1.9.2", False, "iF"),
    "unpacked": ("unpacked", "1.9.2", False, "iU"),
    "config-files": ("config-files", "1.8.0", False, "rc"),
    "reinstreq": ("half-installed", "1.9.2", False, "iHR"),
    "unknown-not-installed": ("not-installed", None, False, "un"),
    "not-found": ("not-installed", None, False, ""),
}


@pytest.mark.parametrize("name", sorted(DPKG))
def test_dpkg_query_fixtures(name: str) -> None:
    pkg = parse_dpkg_query(*captured("dpkg-query", name))
    state, version, installed, abbrev = DPKG[name]
    assert (pkg.state, pkg.version, pkg.installed) == (state, version, installed)
    assert pkg.abbrev == abbrev
    assert pkg.broken == (state in ("half-configured", "unpacked", "half-installed"))


@pytest.mark.parametrize("name", ["db-locked", "malformed-no-tab", "malformed-status"])
def test_dpkg_query_malformed(name: str) -> None:
    with pytest.raises(MalformedAnswer):
        parse_dpkg_query(*captured("dpkg-query", name))


RPM = {
    "installed-qf": ("installed", "1.9.2-1"),
    "installed-nvra": ("installed", "1.9.2-1"),
    "two-versions": ("installed", "1.9.2-1"),
    "not-installed": ("not-installed", None),
}


@pytest.mark.parametrize("name", sorted(RPM))
def test_rpm_query_fixtures(name: str) -> None:
    pkg = parse_rpm_query(*captured("rpm", name))
    assert (pkg.state, pkg.version) == RPM[name]
    assert pkg.manager == "rpm" and pkg.abbrev == ""


@pytest.mark.parametrize("name", ["rpmdb-error", "malformed-other"])
def test_rpm_query_malformed(name: str) -> None:
    with pytest.raises(MalformedAnswer) as info:
        parse_rpm_query(*captured("rpm", name))
    assert "\n" not in str(info.value)


def test_dpkg_status_file_of_trees() -> None:
    ok = parse_dpkg_status_file((ROOTS / "agent-healthy/var/lib/dpkg/status").read_bytes())
    assert (ok.state, ok.version, ok.status) == ("installed", "1.9.2", "install ok installed")
    half = parse_dpkg_status_file(
        (ROOTS / "agent-half-configured/var/lib/dpkg/status").read_bytes()
    )
    assert (half.state, half.abbrev) == ("half-configured", "iF")
    absent = parse_dpkg_status_file(
        (ROOTS / "agent-not-installed/var/lib/dpkg/status").read_bytes()
    )
    assert absent.state == "not-installed" and not absent.installed
    assert parse_dpkg_status_file(b"\x00\xff garbage\n\nPackage: x\n").state == "not-installed"


def test_notable_files_keep_unit_and_binaries() -> None:
    listing = (ROOTS / "agent-healthy/var/lib/dpkg/info/amazon-guardduty-agent.list").read_bytes()
    files, count = notable_files(listing)
    assert files == (
        "/lib/systemd/system/amazon-guardduty-agent.service",
        "/opt/aws/amazon-guardduty-agent/bin/amazon-guardduty",
    )
    assert count == 12


# -- unit files ---------------------------------------------------------------------------------
def test_unit_settings_with_drop_in_and_reset() -> None:
    unit = b"[Unit]\nDescription=x\n[Service]\nMemoryMax=128M\nEnvironment=A=1\n# MemoryMax=1G\n"
    drop_in = b"[Service]\nMemoryMax=256M\nEnvironment=\nEnvironment=HTTPS_PROXY=http://p:3128\n"
    settings = parse_unit_settings([unit, drop_in])
    assert settings["MemoryMax"] == ["128M", "256M"]
    assert settings["Environment"] == ["HTTPS_PROXY=http://p:3128"]
    assert "Description" not in settings


@pytest.mark.parametrize(
    "text, expected",
    [
        ("32M", (32 << 20, 32 << 20)),
        ("64K:32M", (64 << 10, 32 << 20)),
        ("infinity", (None, None)),
        ("8388608", (8 << 20, 8 << 20)),
        ("lots", None),
    ],
)
def test_memlock_setting(
    text: str, expected: Optional[Tuple[Optional[int], Optional[int]]]
) -> None:
    assert parse_memlock_setting(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("128M", 128 << 20),
        ("256MB", 256 << 20),
        ("1G", 1 << 30),
        ("134217728", 134217728),
        ("infinity", None),
        ("", None),
        ("[not set]", None),
        ("12%", None),
    ],
)
def test_parse_size(text: str, expected: Optional[int]) -> None:
    assert parse_size(text) == expected


def test_fmt_bytes() -> None:
    assert [fmt_bytes(v) for v in (None, 512, 65536, 128 << 20, (21 << 20) + 300_000)] == [
        "unlimited",
        "512B",
        "64K",
        "128M",
        "21.3M",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("100ms", 100_000),
        ("1s 500ms", 1_500_000),
        ("2min", 120_000_000),
        ("infinity", None),
    ],
)
def test_timespan(text: str, expected: Optional[int]) -> None:
    assert parse_timespan_us(text) == expected


def test_environment_quotes_and_proxy_redaction() -> None:
    env = parse_environment(['"https_proxy=http://u:p@h:1" NO_PROXY=a,b LANG=C', 'unbalanced "'])
    assert env == {"https_proxy": "http://u:p@h:1", "NO_PROXY": "a,b", "LANG": "C"}
    proxies = AgentUnit("running", environment=env).proxy_env
    assert proxies == {"https_proxy": "http://***@h:1", "NO_PROXY": "a,b"}


# -- /proc --------------------------------------------------------------------------------------
def test_proc_limits_and_environ_of_the_memlock_tree() -> None:
    proc = ROOTS / "agent-memlock/proc/2540"
    assert parse_memlock((proc / "limits").read_bytes()) == (65536, 65536)
    assert parse_proxy_environ((proc / "environ").read_bytes()) == {
        "HTTPS_PROXY": "http://***@10.0.0.5:3128",
        "NO_PROXY": "169.254.169.254",
    }
    assert parse_status_rss((proc / "status").read_bytes()) == 22420 * 1024


@pytest.mark.parametrize(
    "data, expected",
    [
        (
            b"Max locked memory         unlimited            unlimited            bytes\n",
            (None, None),
        ),
        (
            b"Max locked memory         8388608              unlimited            bytes\n",
            (8 << 20, None),
        ),
        (b"Max locked memory         junk\n", None),
        (b"", None),
    ],
)
def test_parse_memlock_variants(data: bytes, expected: object) -> None:
    assert parse_memlock(data) == expected


def test_proxy_credentials_are_masked_up_to_the_last_at() -> None:
    """Go's URL parser ends the userinfo at the last @: a password may hold @ or /."""
    mask = mask_proxy_credentials
    assert mask("http://user:pa:ss@proxy.corp:3128/") == "http://***@proxy.corp:3128/"
    assert mask("http://proxy:3128") == "http://proxy:3128"
    assert mask("http://user:p@ss/w0rd@proxy.corp:3128") == "http://***@proxy.corp:3128"
    assert mask("http://us@er:p/@@ss@10.0.0.5:3128/") == "http://***@10.0.0.5:3128/"
    assert mask("proxy.corp:3128") == "proxy.corp:3128"


# -- journalctl -o json -------------------------------------------------------------------------
def test_journal_json_line_fields() -> None:
    line = json.dumps(
        {
            "__REALTIME_TIMESTAMP": "1795176000000000",
            "MESSAGE": "hello",
            "_PID": "1",
            "PRIORITY": "6",
            "UNRELATED": "x",
        }
    ).encode()
    entry = parse_journal_json_line(line)
    assert entry is not None and entry.realtime_us == 1795176000000000
    assert dict(entry.fields) == {"MESSAGE": "hello", "_PID": "1", "PRIORITY": "6"}


def test_journal_json_binary_repeated_and_huge_fields() -> None:
    binary = list(b"fail\x1b[31m")
    entry = parse_journal_json_line(
        json.dumps(
            {
                "__REALTIME_TIMESTAMP": "1",
                "MESSAGE": binary,
                "_COMM": ["a", "b"],
                "SYSLOG_IDENTIFIER": "x" * (JOURNAL_FIELD_LIMIT * 2),
                "_PID": None,
            }
        ).encode()
    )
    assert entry is not None
    assert entry.get("MESSAGE") == "fail\x1b[31m"  # decoded here, cleaned by the probes
    assert entry.get("_COMM") == "b"
    assert len(entry.get("SYSLOG_IDENTIFIER")) == JOURNAL_FIELD_LIMIT
    assert "_PID" not in entry.fields


@pytest.mark.parametrize(
    "line",
    [b"", b"not json", b"[1,2]", b'{"MESSAGE":"no time"}', b'{"__REALTIME_TIMESTAMP":"soon"}'],
)
def test_journal_json_line_rejects_non_entries(line: bytes) -> None:
    assert parse_journal_json_line(line) is None


def test_oom_kill_lines_are_counted_once_per_process() -> None:
    from amzn_gd_doctor.host.journal import JournalEntry

    def k(t: int, message: str) -> JournalEntry:
        return JournalEntry(t, {"MESSAGE": message, "_BOOT_ID": "b"})

    kills = oom_kills(
        [
            k(
                1,
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                "oom_memcg=/system.slice/x,task_memcg=/system.slice/x,task=amazon-guarddut,"
                "pid=77,uid=0",
            ),
            k(2, "Memory cgroup out of memory: Killed process 77 (amazon-guarddut) total-vm:1kB"),
            k(3, "Out of memory: Killed process 90 (amazon-guarddut) total-vm:1kB, anon-rss:1kB"),
            k(4, "Out of memory: Killed process 91 (java) total-vm:1kB"),
        ]
    )
    assert kills == {("b", "77"): (1, True), ("b", "90"): (3, False)}


# -- agent log lines ----------------------------------------------------------------------------
LOGS = {
    # file: (top phrase class, lines, {level: count}, garbage lines)
    "json-connection-timeout.log": (
        "connection_timeout",
        6,
        {"info": 3, "warning": 2, "error": 1},
        0,
    ),
    "logfmt-access-denied.log": ("telemetry_access_denied", 5, {"info": 3, "error": 2}, 0),
    "plain-btf.log": ("btf_missing", 7, {"none": 6, "error": 1}, 0),
    "glog-dns.log": ("dns_failure", 4, {"info": 2, "warning": 1, "error": 1}, 0),
    "bracket-tls.log": ("tls_error", 4, {"info": 2, "error": 2}, 0),
    "imds-refused.log": ("imds_unavailable", 4, {"info": 2, "error": 1, "fatal": 1}, 0),
    "memlock-eperm.log": ("memlock_limit", 5, {"none": 4, "error": 1}, 0),
    "clean.log": (None, 6, {"info": 5, "debug": 1}, 0),
    "hostile.log": ("connection_refused", 5, {"none": 3, "info": 1, "error": 1}, 2),
}


@pytest.mark.parametrize("name", sorted(LOGS))
def test_agent_log_fixtures(name: str) -> None:
    lines = agent_logs.split_lines((AGENT_FIXTURES / "logs" / name).read_bytes(), True)
    file = agent_logs.LogFile("agent.log", 0, False, 0, len(lines))
    result = agent_logs.analyse([(file, lines)], "/var/log/amzn-guardduty-agent")
    top, count, levels, garbage = LOGS[name]
    order = [c.name for c in phrases.phrase_classes()]
    found = sorted((h.name for h in result.phrases), key=order.index)
    assert (found[0] if found else None) == top
    assert (result.lines, dict(result.levels), result.garbage_lines) == (count, levels, garbage)
    for hit in result.phrases:
        assert hit.sample.isprintable() and len(hit.sample) <= agent_text.SAMPLE_CHARS


@pytest.mark.parametrize(
    "line, level",
    [
        ('{"level":"warn","msg":"x"}', "warning"),
        ("time=x level=error msg=y", "error"),
        ("2026-01-01 [CRITICAL] x", "fatal"),
        ("W1120 11:02:41.412001  1 x.go:1] y", "warning"),
        ("2026-01-01T00:00:00Z INFO started", "info"),
        ("libbpf: failed", None),
        ("an info-level word in lower case is not a level", None),
    ],
)
def test_line_level(line: str, level: Optional[str]) -> None:
    assert agent_text.line_level(line) == level


def test_printable_drops_escapes_and_garbage() -> None:
    assert agent_text.printable("\x1b[31mred\x1b[0m \x1b]0;title\x07") == "red "
    assert agent_text.printable("\x00" * 100) is None
    assert agent_text.printable("   ") == ""
    assert agent_text.printable("".join(chr(i) for i in range(32)) * 3) is None
    assert agent_text.printable("x" * 10_000) == "x" * agent_text.MAX_LINE_CHARS


def test_imds_phrase_needs_a_failure_line() -> None:
    routine = "2026-01-01T00:00:00Z INFO reading the identity document from 169.254.169.254"
    assert phrases.classify(routine, agent_text.is_failure_line(routine, "info")) is None
    failing = routine.replace("INFO", "ERROR") + ": connection refused"
    found = phrases.classify(failing, agent_text.is_failure_line(failing, "error"))
    assert found is not None and found.name == "imds_unavailable"


def test_phrase_catalogue_is_well_formed() -> None:
    classes = phrases.phrase_classes()
    assert len({c.name for c in classes}) == len(classes)
    assert {c.category for c in classes} <= set(phrases.categories())
    assert all(c.meaning and c.context in ("any", "error") for c in classes)


def test_gunzip_tail_keeps_the_end() -> None:
    text = b"".join(b"line %d\n" % i for i in range(100_000))
    tail, whole = agent_logs.gunzip_tail(gzip.compress(text), 1000)
    assert whole and text.endswith(tail) and len(tail) == 1000
    with pytest.raises(zlib.error):
        agent_logs.gunzip_tail(b"not gzip at all", 100)


# -- numbers from the host: ASCII digits, bounded -----------------------------------------------
HUGE_400 = "9" * 400
HUGE_4000 = "1" + "0" * 3999


@pytest.mark.parametrize(
    "text, expected",
    [
        (HUGE_400, SIZE_ABSURD),
        (HUGE_400 + "M", SIZE_ABSURD),
        ("0" * 400 + "64K", 64 << 10),  # leading zeros are not size
        ("9223372036854775807", (1 << 63) - 1),
        ("9223372036854775808", SIZE_ABSURD),
        ("8E", SIZE_ABSURD),  # 2^63 exactly
        ("1.5G", 3 << 29),
        ("²", None),  # str.isdigit() says True; int() refuses it
        ("٣M", None),  # int() would read it as 3
        ("３２M", None),  # full-width digits
    ],
)
def test_parse_size_is_bounded_and_ascii(text: str, expected: Optional[int]) -> None:
    assert parse_size(text) == expected


def test_fmt_bytes_says_absurd_past_2_63() -> None:
    assert fmt_bytes(SIZE_ABSURD) == "unlimited or absurd (2^63 bytes or more)"
    assert fmt_bytes(SIZE_ABSURD * 7) == fmt_bytes(SIZE_ABSURD)


def test_parse_count_and_bytes() -> None:
    assert [parse_count(t) for t in ("42", " 7\n", "²", "٣", "", "1" * 20, "-1")] == [
        42,
        7,
        None,
        None,
        None,
        None,
        None,
    ]
    assert [parse_bytes(t) for t in ("65536", HUGE_4000, "0" * 30, "¹²")] == [
        65536,
        SIZE_ABSURD,
        0,
        None,
    ]


@pytest.mark.parametrize(
    "digits",
    [HUGE_400, HUGE_4000, "7" * 5000],  # 5000: past int()'s 4300-digit limit on 3.11+
    ids=["400", "4000", "5000"],
)
def test_proc_limits_with_thousands_of_digits(digits: str) -> None:
    row = f"Max locked memory         {digits}              {digits}         bytes\n"
    soft, hard = parse_memlock(row.encode())  # type: ignore[misc]
    assert (soft, hard) == (SIZE_ABSURD, SIZE_ABSURD)
    assert fmt_bytes(soft) == "unlimited or absurd (2^63 bytes or more)"


def test_proc_limits_with_unicode_digits_is_malformed() -> None:
    assert parse_memlock("Max locked memory  ²  ²  bytes\n".encode()) is None


def test_systemctl_show_with_400_digit_sizes() -> None:
    props = parse_show(
        (
            f"LoadState=loaded\nActiveState=active\nMemoryMax={HUGE_400}\n"
            f"MemoryLimit=infinity\nLimitMEMLOCK={HUGE_400}\nLimitMEMLOCKSoft=65536\n"
            f"NRestarts={HUGE_400}\nMainPID=²\nExecMainStatus=٣\n"
            f"CPUQuotaPerSecUSec={HUGE_400}ms\n"
        ).encode()
    )
    unit = unit_from_show(props)
    assert (unit.memory_max, unit.memory_limit, unit.memory_cap) == (SIZE_ABSURD, None, SIZE_ABSURD)
    assert unit.memlock == (65536, SIZE_ABSURD)
    assert (unit.n_restarts, unit.main_pid, unit.exec_main_status) == (None, None, None)
    assert unit.cpu_quota_per_sec_us is None


def test_unit_settings_with_400_digits() -> None:
    assert parse_memlock_setting(f"{HUGE_400}:{HUGE_400}") == (SIZE_ABSURD, SIZE_ABSURD)
    assert parse_memlock_setting(f"64K:{HUGE_400}K") == (64 << 10, SIZE_ABSURD)
    assert [parse_cpu_quota(q) for q in ("10%", "12.5%", f"{HUGE_400}%", "²%", "10")] == [
        100_000,
        125_000,
        None,
        None,
        None,
    ]
    assert parse_timespan_us(f"{HUGE_400}s") is None
    assert parse_timespan_us("٣s") is None


@pytest.mark.parametrize("stamp", ["²", "١٧٩٥١٧٦٠٠٠٠٠٠٠٠٠", "1" * 4000, 17, ["1"]], ids=repr)
def test_journal_json_line_needs_an_ascii_bounded_timestamp(stamp: object) -> None:
    line = json.dumps({"__REALTIME_TIMESTAMP": stamp, "MESSAGE": "x"}).encode()
    assert parse_journal_json_line(line) is None


def test_superscript_digits_in_systemd_fields_are_not_numbers() -> None:
    counts = UnitCounts()
    restart = JournalEntry(
        1,
        {
            "_PID": "1",
            "UNIT": "amazon-guardduty-agent.service",
            "MESSAGE": "amazon-guardduty-agent.service: Scheduled restart job, restart counter "
            "is at ².",
            "N_RESTARTS": "²",
        },
    )
    exited = JournalEntry(
        2,
        {
            "MESSAGE": "amazon-guardduty-agent.service: Main process exited, code=killed, "
            "status=٩/KILL"
        },
    )
    count_pid1_entry(restart, counts)
    count_pid1_entry(exited, counts)
    assert (len(counts.restarts), counts.counter, counts.exits, counts.sigkills) == (
        1,
        None,
        {},
        [],
    )
