"""Host causes (docs/causes.md): the parsers over captured and quoted outputs
(fixtures/causes/), the grouping of error lines no cause explains, and the rules called
directly with values built inline, each with the confidence its evidence earns."""

from __future__ import annotations

from typing import Optional, Tuple

import pytest
from support import FIXTURES

from amzn_gd_doctor.facts.agent import AgentEvidence, AgentJournal, AgentLogs
from amzn_gd_doctor.facts.causes import (
    PLACES,
    ErrorGroup,
    HostDiskSpace,
    HostMounts,
    InotifyHolder,
    InotifyUse,
    LockHolder,
    Mount,
    PackageLocks,
    PlaceMount,
    PlaceSpace,
    StepOutputs,
    StepSign,
)
from amzn_gd_doctor.facts.ssm import LogCause, PluginInstallState, SsmLogs
from amzn_gd_doctor.model import Confidence, Outcome
from amzn_gd_doctor.probes.cause_errors import MAX_GROUPS, ErrorGrouper, shape
from amzn_gd_doctor.probes.cause_step_signs import find_signs
from amzn_gd_doctor.probes.host_inotify import count_watches, parse_uid
from amzn_gd_doctor.probes.host_locks import parse_locks
from amzn_gd_doctor.probes.host_mounts import holding, parse_mountinfo
from amzn_gd_doctor.probes.ssm_logs import parse_logs
from amzn_gd_doctor.rules import agent_logs, causes_install, causes_mounts, causes_worker, ssm

CAUSES = FIXTURES / "causes"
RUN = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def _read(rel: str) -> str:
    return (CAUSES / rel).read_text(encoding="utf-8")


# -- step outputs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, sign, subject",
    [
        (
            "noexec-aws-doc.txt",
            "exit_126",
            "/var/lib/amazon/ssm/instanceid/document/orchestration/commandid/PatchLinux/_script.sh",
        ),
        (
            "noexec-dash.txt",
            "exit_126",
            f"/var/lib/amazon/ssm/i-0123456789abcdef0/document/"
            f"orchestration/{RUN}/configurePackage/install/_script.sh",
        ),
        ("exit-127-dash.txt", "exit_127", "nosuchcmd-gd"),
        ("exit-127-bash.txt", "exit_127", "nosuchcmd-gd"),
        ("dpkg-locked-aws-doc.txt", "package_lock", ""),
        ("dpkg-locked-1.21.22.txt", "package_lock", "pid 26427"),
        ("apt-could-not-get-lock.txt", "package_lock", "/var/lib/apt/lists/lock"),
        ("yum-existing-lock.txt", "package_lock", "/var/run/yum.pid"),
        ("dnf-waiting.txt", "package_lock", "pid 4242"),
        ("rpm-waiting.txt", "package_lock", "/var/lib/rpm/.rpm.lock"),
        ("plugin-not-found.txt", "plugin_not_found", "aws:runShellScript"),
        ("worker-timed-out-2019.txt", "worker_timeout", ""),
        ("no-space.txt", "no_space", ""),
    ],
)
def test_a_step_output_shows_its_cause(name: str, sign: str, subject: str) -> None:
    signs = find_signs(_read(f"steps/{name}"), RUN, True)
    assert [(s.sign, s.subject) for s in signs][:1] == [(sign, subject)]
    assert all(s.run == RUN and s.guardduty for s in signs)


def test_a_step_that_exits_otherwise_shows_no_exit_sign() -> None:
    assert (
        find_signs(
            "dpkg: warning: files list file missing\nfailed to run commands: exit status 1",
            RUN,
            False,
        )
        == []
    )


def test_inotify_s_no_space_is_not_a_full_disk() -> None:
    text = "filewatcher listener encountered error when add watch: no space left on device"
    assert find_signs(text, RUN, False) == []


# -- /proc -----------------------------------------------------------------------------------
def test_mountinfo_man_example() -> None:
    mounts, skipped = parse_mountinfo(_read("proc/mountinfo-man-example.txt"))
    assert skipped == 0
    assert mounts == [
        Mount("/mnt2", "ext3", "/dev/root", ("rw", "noatime"), ("rw", "errors=continue"))
    ]


def test_the_mount_holding_a_path_is_the_longest_mount_point_whatever_the_order() -> None:
    mounts, _ = parse_mountinfo(_read("proc/mountinfo-root-listed-late.txt"))
    assert holding(mounts, "/var/lib/amazon/ssm").mount_point == "/"  # type: ignore[union-attr]
    assert holding(mounts, "/dev/shm/x").mount_point == "/dev/shm"  # type: ignore[union-attr]


def test_a_mount_stacked_on_another_is_the_one_that_counts_and_paths_are_unescaped() -> None:
    text = (
        "22 1 259:1 / / rw - xfs /dev/nvme0n1p1 rw\n"
        "40 22 259:5 / /var rw - xfs /dev/nvme1n1p1 rw\n"
        "41 40 0:50 / /var rw,noexec - tmpfs tmpfs rw\n"
        "42 22 0:51 / /data\\040disk rw - tmpfs tmpfs rw\n"
        "not a mount line\n"
    )
    mounts, skipped = parse_mountinfo(text)
    assert skipped == 1
    assert holding(mounts, "/var/lib/amazon/ssm").noexec  # type: ignore[union-attr]
    assert holding(mounts, "/data disk/x").mount_point == "/data disk"  # type: ignore[union-attr]


def test_a_filesystem_remounted_read_only_under_a_rw_mount_is_read_only() -> None:
    mounts, _ = parse_mountinfo("22 1 259:1 / / rw,relatime - ext4 /dev/root ro,errors=remount-ro")
    assert mounts[0].read_only and not mounts[0].noexec


def test_proc_locks_holders_and_waiters() -> None:
    text = (
        _read("proc/locks-sample.txt") + "7: -> POSIX  ADVISORY  WRITE 1580 fd:00:53013121 0 EOF\n"
    )
    text += "8: OFDLCK ADVISORY  WRITE -1 fd:00:1 0 EOF\n"
    holders, entries, waiting = parse_locks(text)
    assert holders == [(1578, "POSIX"), (1314, "FLOCK")]
    assert (entries, waiting) == (4, 1)


def test_inotify_fdinfo_and_status() -> None:
    assert count_watches(_read("proc/fdinfo-inotify.txt").encode()) == 2
    assert parse_uid(b"Name:\tsystemd\nUid:\t0\t0\t0\t0\n") == 0
    assert parse_uid(b"Name:\tx\n") is None


# -- error lines no cause explains ----------------------------------------------------------------
def test_lines_differing_in_ids_numbers_and_times_are_one_group() -> None:
    a = shape("2024-11-04 09:08:13.4731 ERROR [i-0abc12345678def01] retry 3 of 5 failed")
    b = shape("2024-11-04 09:09:14.0001 ERROR [i-0123456789abcdef0] retry 4 of 5 failed")
    assert a == b == "<time> ERROR [<id>] retry <n> of <n> failed"


def test_groups_keep_count_latest_time_and_newest_line_in_either_reading_order() -> None:
    lines = [
        (f"{t} ERROR disk {n} failed", t)
        for n, t in ((1, "2024-01-01 00:00:01"), (2, "2024-01-01 00:00:02"))
    ]
    forward = ErrorGrouper()
    for line, when in lines:
        forward.add(line, when)
    backward = ErrorGrouper(newest_first=True)
    for line, when in reversed(lines):
        backward.add(line, when)
    want = (
        ErrorGroup(
            "<time> ERROR disk <n> failed",
            2,
            "2024-01-01 00:00:02",
            "2024-01-01 00:00:02 ERROR disk 2 failed",
        ),
    )
    assert forward.result() == backward.result() == want


def test_only_the_most_recent_groups_are_kept_but_all_are_counted() -> None:
    grouper = ErrorGrouper()
    for i in range(MAX_GROUPS + 3):
        grouper.add(f"ERROR kind {'abcdefghij'[i]} broke")
    kept = grouper.result()
    assert len(kept) == MAX_GROUPS and grouper.total == MAX_GROUPS + 3
    assert kept[0].shape == "ERROR kind h broke"


SSM_262 = (
    "2020-03-16 14:41:15 ERROR [NewFileWatcherChannel @ filechannel.go.85] [ssm-document-worker] "
    "[608016b8-0aee-49af-b6a8-71ff0283232b] filewatcher listener encountered error when add watch: "
    "no space left on device\n"
    "2020-03-16 14:41:18 ERROR [Messaging @ messaging.go.93] [MessagingDeliveryService] "
    "[EngineProcessor] [OutOfProcExecuter] [608016b8-0aee-49af-b6a8-71ff0283232b] received "
    "timedout signal!\n"
    "2020-03-16 14:42:18 ERROR [Messaging @ messaging.go.93] [MessagingDeliveryService] "
    "[EngineProcessor] [OutOfProcExecuter] [e9378c87-68bd-4f2f-876c-81c24ac906fe] received "
    "timedout signal!\n"
    "2020-03-16 14:43:00 ERROR [replaceLogger @ ssmlog.go.144] New logger creation failed\n"
)


def test_ssm_log_host_causes_fold_a_time_out_that_follows_a_filewatcher_error() -> None:
    """#262: the time-out of the run whose channel could not be watched is explained by it; a
    time-out of another run is a cause of its own; the logger line is unexplained."""
    tally = parse_logs([(SSM_262.encode(), False)])
    causes = {c.cause: c.entries for c in tally.host_causes}
    assert causes == {"inotify_watches": 1, "worker_timeout": 1}
    groups = tally.errors.result()
    assert [g.sample for g in groups] == [
        "2020-03-16 14:43:00 ERROR [replaceLogger @ ssmlog.go.144] New logger creation failed"
    ]


def test_an_entry_in_both_ssm_files_counts_once_and_a_repeat_in_one_file_each_time() -> None:
    errors_log = (
        b"2020-02-13 21:06:46 ERROR [replaceLogger @ ssmlog.go.144] New logger creation failed\n"
    )
    agent_log = b"2020-02-13 21:06:46 ERROR New logger creation failed\n"
    tally = parse_logs([(agent_log, False), (errors_log * 3, False)])
    assert tally.errors.total == 1
    tally = parse_logs([(errors_log * 3, False)])
    assert tally.errors.total == 3


# -- ssm.logs_clean and agent.logs_clean warn over unexplained errors ----------------------------
GROUP = ErrorGroup(
    "<time> ERROR [replaceLogger @ ssmlog.go.<n>] New logger creation failed",
    3,
    "2020-02-13 21:06:46",
    "2020-02-13 21:06:46 ERROR [replaceLogger @ ssmlog.go.144] New logger creation failed",
)


def test_ssm_logs_clean_warns_over_errors_no_cause_matches_and_quotes_one() -> None:
    logs = SsmLogs(("a",), {"association_run": 1}, {}, unexplained=(GROUP,), unexplained_entries=5)
    v = ssm.logs_clean(logs)
    assert v.outcome is Outcome.WARN
    assert "5 ERROR entries that match no known cause" in v.summary
    assert "New logger creation failed' ×3, last seen 2020-02-13 21:06:46" in v.summary
    assert v.evidence == (
        f"SSM log, no known cause (×3, last 2020-02-13 21:06:46): {GROUP.sample}",
    )
    assert v.fix and "no known cause matches them" in v.fix[0]


def test_ssm_logs_clean_names_causes_and_unexplained_errors_together() -> None:
    cause = LogCause("clock_skew", 1, ("Signature expired",), "2024-01-11 10:05:20", ("l",))
    logs = SsmLogs(("a",), {}, {}, causes=(cause,), unexplained=(GROUP,), unexplained_entries=3)
    v = ssm.logs_clean(logs)
    assert v.outcome is Outcome.WARN and "names 1 cause(s): clock skew" in v.summary
    assert v.summary.endswith("last seen 2020-02-13 21:06:46.")


def _agent_evidence(
    log_groups: Tuple[ErrorGroup, ...], journal_groups: Tuple[ErrorGroup, ...]
) -> AgentEvidence:
    logs = AgentLogs("/var/log/amzn-guardduty-agent", True, lines=7, unexplained=log_groups)
    journal = AgentJournal(
        "systemd-python", "journal", 86400, 0.0, "now", 7, 0, unexplained=journal_groups
    )
    return AgentEvidence(logs, journal)


def test_agent_logs_clean_warns_over_errors_no_phrase_explains() -> None:
    ring = ErrorGroup(
        "event ring buffer full: dropped <n> events",
        1,
        "2026-11-20 11:58:40",
        "event ring buffer full: dropped 2048 events",
    )
    v = agent_logs.logs_clean(_agent_evidence((), (ring,)), None)
    assert v.outcome is Outcome.WARN
    assert "1 error line matches no known cause, the latest 'event ring buffer full" in v.summary
    assert v.evidence == (
        "agent journal, no known cause (×1, last 2026-11-20 11:58:40): "
        "event ring buffer full: dropped 2048 events",
    )


def test_agent_logs_clean_passes_only_without_such_lines() -> None:
    v = agent_logs.logs_clean(_agent_evidence((), ()), None)
    assert v.outcome is Outcome.PASS and "no error line that matches no known cause" in v.summary


def test_the_journal_counts_an_error_by_its_text_or_by_priority_3() -> None:
    from amzn_gd_doctor.host.journal import JournalEntry
    from amzn_gd_doctor.probes.agent_journal_summary import summarise

    def agent(message: str, priority: str, at: int) -> JournalEntry:
        fields = {
            "MESSAGE": message,
            "PRIORITY": priority,
            "_PID": "2540",
            "_SYSTEMD_UNIT": "amazon-guardduty-agent.service",
        }
        return JournalEntry(at, fields)

    end = 1_795_176_000_000_000
    entries = [
        agent('{"level":"error","msg":"failed to read process info","pid":31337}', "6", end - 3),
        agent("event ring buffer full: dropped 2048 events", "3", end - 2),
        agent("event ring buffer full: dropped 1 events", "6", end - 1),  # no level, info
        agent(
            '{"level":"error","msg":"lookup guardduty-data.us-east-1.amazonaws.com: no such host"}',
            "6",
            end,
        ),
    ]
    base = AgentJournal("journalctl", "journal", 86400, end / 1e6, "the newest entry", 4, 0)
    got = summarise(entries, [], end, base).unexplained
    assert [(g.sample[:22], g.count) for g in got] == [
        ("event ring buffer full", 1),
        ('{"level":"error","msg"', 1),
    ]


# -- the host-cause rules --------------------------------------------------------------------
SSM_PLACE = PLACES[0]
VAR_NOEXEC = Mount("/var", "xfs", "/dev/nvme1n1p1", ("rw", "nosuid", "nodev", "noexec"))
ROOT_RW = Mount("/", "xfs", "/dev/nvme0n1p1", ("rw", "noatime"))
ROOT_RO = Mount("/", "ext4", "/dev/root", ("rw", "relatime"), ("ro", "errors=remount-ro"))


def _mounts(ssm_mount: Mount, others: Mount = ROOT_RW) -> HostMounts:
    return HostMounts(
        7, (PlaceMount(SSM_PLACE, ssm_mount),) + tuple(PlaceMount(p, others) for p in PLACES[1:])
    )


DENIED = StepSign(
    "exit_126",
    RUN,
    "sh: 1: /var/lib/amazon/ssm/.../_script.sh: Permission denied",
    "/var/lib/amazon/ssm/.../_script.sh",
    True,
)


@pytest.mark.parametrize(
    "steps, confidence",
    [
        (StepOutputs(1, 2, (DENIED,)), Confidence.CONFIRMED),
        (None, Confidence.LIKELY),
        (StepOutputs(0, 0), Confidence.LIKELY),
    ],
)
def test_noexec_under_ssm_data_fails_confirmed_only_with_a_step_s_126(
    steps: Optional[StepOutputs], confidence: Confidence
) -> None:
    v = causes_mounts.mounts_allow_install(_mounts(VAR_NOEXEC), steps, None)
    assert (v.outcome, v.issue, v.confidence) == (
        Outcome.FAIL,
        "ssm_association_execution_failed",
        confidence,
    )
    assert "is on /var (xfs /dev/nvme1n1p1: rw,nosuid,nodev,noexec), which is noexec" in v.summary


def test_a_read_only_root_is_suspected_and_quotes_plugin_not_found() -> None:
    logs = SsmLogs(
        ("a",),
        {},
        {},
        host_causes=(
            LogCause(
                "plugin_not_found",
                1,
                ("aws:runShellScript",),
                "2025-03-05 14:15:03",
                (
                    "2025-03-05 14:15:03.0021 ERROR [ssm-document-worker] [x] Plugin with name "
                    "aws:runShellScript not found. Step name: aws:runShellScript",
                ),
            ),
        ),
    )
    v = causes_mounts.mounts_allow_install(_mounts(ROOT_RO, ROOT_RO), None, logs)
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.SUSPECTED)
    assert "filesystem ro,errors=remount-ro" in v.summary and "aws/amazon-ssm-agent#90" in v.summary
    assert "'Plugin with name aws:runShellScript not found." in v.summary


def test_noexec_on_the_agent_s_directory_warns_and_tmp_is_only_named() -> None:
    opt = Mount("/opt", "xfs", "/dev/nvme2n1", ("rw", "noexec"))
    tmp = Mount("/tmp", "tmpfs", "tmpfs", ("rw", "noexec"))
    places = tuple(
        PlaceMount(p, opt if p.path.startswith("/opt") else tmp if p.path == "/tmp" else ROOT_RW)
        for p in PLACES
    )
    v = causes_mounts.mounts_allow_install(HostMounts(9, places), None, None)
    assert (
        v.outcome is Outcome.WARN
        and "the GuardDuty agent's program cannot run programs" in v.summary
    )
    places = tuple(PlaceMount(p, tmp if p.path == "/tmp" else ROOT_RW) for p in PLACES)
    v = causes_mounts.mounts_allow_install(HostMounts(9, places), None, None)
    assert v.outcome is Outcome.PASS and "/tmp is noexec" in v.summary


def _space(free: int, inodes: int = 100_000) -> HostDiskSpace:
    return HostDiskSpace(
        tuple(PlaceSpace(p, p.path, 8 << 30, free, 500_000, inodes) for p in PLACES)
    )


def test_disk_full_low_and_fine() -> None:
    nospace = StepOutputs(
        1, 1, (StepSign("no_space", RUN, "cp: error writing 'x': No space left on device"),)
    )
    v = causes_mounts.disk_not_full(_space(50 << 20), None, None)
    assert (v.outcome, v.confidence) == (
        Outcome.FAIL,
        Confidence.LIKELY,
    ) and "50M free of 8G" in v.summary
    v = causes_mounts.disk_not_full(_space(50 << 20), nospace, None)
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.CONFIRMED)
    v = causes_mounts.disk_not_full(_space(4 << 30, inodes=12), None, None)
    assert v.outcome is Outcome.FAIL and "12 inodes" in v.summary
    assert causes_mounts.disk_not_full(_space(300 << 20), None, None).outcome is Outcome.WARN
    assert causes_mounts.disk_not_full(_space(4 << 30), None, None).outcome is Outcome.PASS


LOCKED = StepSign(
    "package_lock",
    RUN,
    "dpkg: error: dpkg frontend lock was locked by another process with pid 1426",
    "pid 1426",
    True,
)
HOLDERS = (
    LockHolder("/var/lib/dpkg/lock-frontend", "dpkg", 1426, "unattended-upgr", "POSIX lock"),
    LockHolder("/var/lib/dpkg/lock", "dpkg", 1426, "unattended-upgr", "POSIX lock"),
)
FAILED = PluginInstallState(True, 2, "Failed", "1.9.2")
INSTALLED = PluginInstallState(True, 8, "Installed", "1.9.2")


@pytest.mark.parametrize(
    "holders, signs, plugin, outcome, confidence",
    [
        (HOLDERS, (LOCKED,), FAILED, Outcome.FAIL, Confidence.CONFIRMED),
        ((), (LOCKED,), None, Outcome.FAIL, Confidence.CONFIRMED),
        (HOLDERS, (), FAILED, Outcome.FAIL, Confidence.LIKELY),
        (HOLDERS, (), INSTALLED, Outcome.WARN, Confidence.CONFIRMED),
        ((), (LOCKED,), INSTALLED, Outcome.WARN, Confidence.CONFIRMED),
        ((), (), FAILED, Outcome.PASS, Confidence.CONFIRMED),
    ],
)
def test_package_manager_locks(holders, signs, plugin, outcome, confidence) -> None:  # type: ignore[no-untyped-def]
    v = causes_install.package_manager_unlocked(
        PackageLocks(holders, True, 3), StepOutputs(1, 2, signs), plugin
    )
    assert (v.outcome, v.confidence) == (outcome, confidence), v.summary
    if holders:
        assert (
            "dpkg's /var/lib/dpkg/lock-frontend and /var/lib/dpkg/lock are locked by pid 1426 "
            "(unattended-upgr, POSIX lock)" in v.summary
        )


def test_locks_not_read_or_holders_unread_are_inconclusive() -> None:
    v = causes_install.package_manager_unlocked(PackageLocks((), False), None, None)
    assert v.outcome is Outcome.INCONCLUSIVE and "/proc/locks was not read" in v.summary
    v = causes_install.package_manager_unlocked(PackageLocks((), True, 4, 0, 2), None, None)
    assert v.outcome is Outcome.INCONCLUSIVE and "2 lock holder(s) could not be read" in v.summary


def test_install_script_exit_codes() -> None:
    not_found = StepSign(
        "exit_127", RUN, "install.sh: line 23: systemctl: command not found", "systemctl", True
    )
    v = causes_install.install_script_executes(StepOutputs(1, 2, (not_found,)), None)
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.CONFIRMED)
    assert "the command systemctl was not found" in v.summary and "(systemctl)" in v.fix[0]
    v = causes_install.install_script_executes(StepOutputs(1, 2, (DENIED,)), _mounts(VAR_NOEXEC))
    assert "it lies on the noexec mount /var" in v.summary
    other = StepSign("exit_126", "cmd-1", DENIED.line, DENIED.subject, False)
    assert (
        causes_install.install_script_executes(StepOutputs(1, 2, (other,)), None).outcome
        is Outcome.WARN
    )
    assert (
        causes_install.install_script_executes(StepOutputs(0, 0), None).outcome
        is Outcome.NOT_APPLICABLE
    )


def _inotify_cause(guardduty: bool) -> LogCause:
    return LogCause(
        "inotify_watches",
        2,
        (),
        "2020-03-16 14:41:15",
        (
            "2020-03-16 14:41:15 ERROR [ssm-document-worker] [x] filewatcher listener "
            "encountered error when add watch: no space left on device",
        ),
        guardduty,
    )


@pytest.mark.parametrize(
    "use, guardduty, outcome, confidence",
    [
        (InotifyUse(8192, 128, 8192, 5, 200), False, Outcome.FAIL, Confidence.CONFIRMED),
        (InotifyUse(8192, 128, 40, 5, 200), True, Outcome.FAIL, Confidence.CONFIRMED),
        (InotifyUse(8192, 128, 40, 5, 200), False, Outcome.FAIL, Confidence.LIKELY),
        (InotifyUse(8192, 128, None, None), False, Outcome.FAIL, Confidence.LIKELY),
    ],
)
def test_inotify_lines_with_and_without_exhaustion_now(use, guardduty, outcome, confidence) -> None:  # type: ignore[no-untyped-def]
    logs = SsmLogs(("a",), {}, {}, host_causes=(_inotify_cause(guardduty),))
    v = causes_worker.inotify_not_exhausted(use, logs)
    assert (v.outcome, v.confidence) == (outcome, confidence), v.summary
    assert (
        "'filewatcher listener encountered error when add watch: no space left on device'"
        in v.summary
    )


def test_inotify_use_without_lines() -> None:
    top = (InotifyHolder(812, "systemd", 8000, 3),)
    assert (
        causes_worker.inotify_not_exhausted(
            InotifyUse(8192, 128, 8192, 5, 9, True, top), None
        ).confidence
        is Confidence.LIKELY
    )
    v = causes_worker.inotify_not_exhausted(InotifyUse(8192, 128, 7900, 5, 9, True, top), None)
    assert v.outcome is Outcome.WARN and "the most: systemd 8000" in v.summary
    v = causes_worker.inotify_not_exhausted(InotifyUse(8192, 128, 10, 5, 9, False), None)
    assert v.outcome is Outcome.PASS and "(at least: not every process could be read)" in v.summary
    assert (
        causes_worker.inotify_not_exhausted(InotifyUse(None, None, None, None), None).outcome
        is Outcome.INCONCLUSIVE
    )


def test_document_worker_time_outs_and_missing_plugins() -> None:
    timeout = LogCause(
        "worker_timeout",
        2,
        (RUN,),
        "2025-03-05 14:25:09",
        (
            "2025-03-05 14:25:09.7731 ERROR [ssm-agent-worker] [x] ipc messaging received "
            "timedout signal!",
        ),
        True,
    )
    v = causes_worker.document_worker_completes(
        SsmLogs(("a",), {}, {}, host_causes=(timeout,)), None
    )
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.LIKELY)
    assert (
        "'ipc messaging received timedout signal!' (2 times, last 2025-03-05 14:25:09)" in v.summary
    )
    missing = StepSign(
        "plugin_not_found",
        RUN,
        "Plugin with name aws:runShellScript not found. Step name: aws:runShellScript",
        "aws:runShellScript",
        True,
    )
    v = causes_worker.document_worker_completes(
        SsmLogs(("a",), {}, {}), StepOutputs(1, 1, (missing,))
    )
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.SUSPECTED)
    other = LogCause("worker_timeout", 1, (), "", ("x received timedout signal!",), False)
    assert (
        causes_worker.document_worker_completes(
            SsmLogs(("a",), {}, {}, host_causes=(other,)), None
        ).outcome
        is Outcome.WARN
    )
    assert (
        causes_worker.document_worker_completes(SsmLogs((), {}, {}), None).outcome
        is Outcome.NOT_APPLICABLE
    )
