"""Replay: every scenario tree run live, collected into a bundle and replayed with
`check --from` gives the same verdict, diagnoses and checks; and a live run against the loopback
IMDS and DNS servers records HTTP, DNS and TCP observations that replay the same way."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from agent.conftest import copy_tree
from network.conftest import STANDARD, DnsServer, dns_server  # noqa: F401 (a fixture)
from scenarios import TREES
from support import ROOTS, ImdsServer, doctor_env, run_cli
from test_corpus import Reports

from amzn_gd_doctor.host import CouldNotLook, LiveHost
from amzn_gd_doctor.host import recorded as recording
from amzn_gd_doctor.host.threads import thread_name as recording_thread
from amzn_gd_doctor.redact import mask


def observations(bundle: Path) -> List[Dict[str, object]]:
    with tarfile.open(bundle) as tar:
        member = tar.extractfile("observations.jsonl")
        assert member is not None
        return [json.loads(line) for line in member.read().decode().splitlines()]


def stable_report(data: Dict[str, object], root: Path) -> str:
    """What a replay must reproduce: the verdict, the diagnoses, every check's id, outcome,
    summary and issue, and the exit code (the tree's path written `<ROOT>`)."""
    report = json.loads(json.dumps(data).replace(str(root), "<ROOT>"))
    kept = {
        "verdict": report["verdict"],
        "diagnoses": report["diagnoses"],
        "checks": [
            {key: c[key] for key in ("id", "outcome", "summary", "issue")} for c in report["checks"]
        ],
        "exit_code": report["exit_code"],
    }
    return json.dumps(kept, indent=2, ensure_ascii=False) + "\n"


def embedded_report(bundle: Path) -> Dict[str, object]:
    with tarfile.open(bundle) as tar:
        member = tar.extractfile("report.json")
        assert member is not None
        return dict(json.loads(member.read()))


@pytest.mark.parametrize("name", TREES)
def test_tree_replays_as_it_ran(name: str, tmp_path: Path, scenario_reports: Reports) -> None:
    """The live run of each tree (`check`, shared with the scenario tests), then collect on a
    copy, then replay: the collect's own report and the replay must both equal the live one.
    The canary tree's secrets are masked in the recording, so this also holds masking to
    keeping what the probes read: a masked log its blank lines, a masked JSON file its quotes."""
    root = copy_tree(tmp_path, name)
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    bundle = tmp_path / "evidence.tar.gz"
    args = ["--root", str(root), "--dns-server", "127.0.0.1:9"]
    collected = run_cli("collect", "-o", str(bundle), *args, env=env)
    live = scenario_reports(name)
    assert collected.returncode == 0, collected.stderr
    replayed = run_cli("check", "-f", "json", "--from", str(bundle), env=env)
    assert replayed.stderr == ""
    assert replayed.returncode == live["exit_code"]
    data = replayed.json()
    assert data["replay"]["bundle"] == "evidence.tar.gz"
    expected = stable_report(live, Path("<ROOT>"))
    assert stable_report(embedded_report(bundle), root) == expected
    assert stable_report(data, root) == expected


def test_live_run_with_imds_and_dns_replays(
    imds_server: ImdsServer,
    dns_server: Callable[..., DnsServer],  # noqa: F811 (the fixture imported above)
    refused_port: int,
    tmp_path: Path,
) -> None:
    """No --root: commands, processes and the journal of this machine, IMDS and DNS on loopback
    servers, the endpoint's port refused. What the bundle's report says is what a replay says,
    even where probes running at once saw the process table change between their looks (see
    test_replay_answers_each_probe_from_its_own_questions)."""
    dns = dns_server({STANDARD: ("127.0.0.1",)})
    bundle = tmp_path / "live.tar.gz"
    env = doctor_env(AWS_METADATA_SERVICE_TIMEOUT="0.5")
    args = ["--imds-endpoint", imds_server.url, "--dns-server", dns.address]
    args += ["--endpoint-port", str(refused_port), "--deadline", "20"]
    collected = run_cli("collect", "-o", str(bundle), *args, env=env)
    assert collected.stderr.startswith(f"wrote {bundle} (")
    methods = {str(o["method"]) for o in observations(bundle)}
    assert {"http", "dns_query", "tcp_connect", "run", "read_bytes"} <= methods
    replayed = run_cli("check", "-f", "json", "--from", str(bundle), env=env)
    assert replayed.stderr == ""
    recorded = embedded_report(bundle)
    assert (collected.returncode, replayed.returncode) == (0, recorded["exit_code"])
    assert stable_report(replayed.json(), ROOTS) == stable_report(recorded, ROOTS)
    # The identity document was read through IMDS on replay as it was live.
    check = next(c for c in replayed.json()["checks"] if c["id"] == "imds.identity_document")
    assert check["outcome"] == "pass"


def test_imds_token_and_signatures_are_never_requested_nor_kept(
    imds_server: ImdsServer, tmp_path: Path
) -> None:
    imds_server.tags = {"Name": "web"}
    bundle = tmp_path / "imds.tar.gz"
    env = doctor_env(AWS_METADATA_SERVICE_TIMEOUT="0.5")
    run_cli(
        "collect",
        "-o",
        str(bundle),
        "--root",
        str(ROOTS / "al2023-6.1"),
        "--imds-endpoint",
        imds_server.url,
        env=env,
    )
    paths = [path for _, path, _ in imds_server.requests]
    assert "/latest/api/token" in paths
    forbidden = ("signature", "pkcs7", "rsa2048", "iam", "credentials", "user-data")
    assert [p for p in paths if any(word in p for word in forbidden)] == []
    issued = list(imds_server.issued)
    assert issued, "IMDS issued no token"
    with tarfile.open(bundle) as tar:
        everything = b"".join(
            tar.extractfile(m).read()
            for m in tar.getmembers()  # type: ignore[union-attr]
        )
    for token in issued:
        assert token.encode() not in everything
    assert recording.TOKEN_PLACEHOLDER in everything
    http = [o for o in observations(bundle) if o["method"] == "http"]
    assert http and all(
        v == recording.WITHHELD
        for o in http
        for k, v in o["args"]["headers"]["map"]  # type: ignore[index]
        if k.lower() == "x-aws-ec2-metadata-token"
    )


def test_recording_host_refuses_forbidden_imds_paths() -> None:
    """The recording host never passes a signature or credentials request on (the inner host
    here is a stand-in that fails the test if it is asked anything)."""

    class Untouchable:
        def http(self, *args: object) -> None:
            raise AssertionError("the request reached the host")

    inner = LiveHost(env={})
    inner.web = Untouchable()  # type: ignore[assignment]
    host = recording.RecordingHost(inner)
    base = "http://169.254.169.254/latest/"
    for path in (
        "dynamic/instance-identity/signature",
        "dynamic/instance-identity/pkcs7",
        "dynamic/instance-identity/rsa2048",
        "meta-data/iam/security-credentials/role",
        "meta-data/identity-credentials/ec2/security-credentials/ec2-instance",
        "user-data",
    ):
        with pytest.raises(CouldNotLook, match="is never requested by the doctor"):
            host.http("GET", base + path, {}, 1.0, 1024)
    assert host.observations == []


def test_answers_and_errors_survive_the_round_trip() -> None:
    """Each value class by its fields, and each error as the same type, through JSON."""
    from amzn_gd_doctor.host import (
        CommandResult,
        DnsAnswer,
        HostTimeout,
        HttpFailure,
        HttpResponse,
        JournalEntry,
        JournalRead,
        ProcessInfo,
        TcpResult,
        TlsResult,
        Unsupported,
    )

    answers = [
        CommandResult(("rpm", "-q", "x"), 1, b"\xff\xfenot utf-8", b"err", truncated=True),
        HttpResponse(200, {"Content-Type": "text/plain"}, b"doc", False),
        DnsAnswer("127.0.0.1:53", "a.example", "ok", ("10.0.0.1", "10.0.0.2"), "", 3),
        TcpResult("10.0.0.1", 443, "refused", "ECONNREFUSED", 1),
        TlsResult("10.0.0.1", 443, "a.example", "ok", names=("a.example",), elapsed_ms=9),
        JournalRead((JournalEntry(1, {"MESSAGE": "hi"}),), "journalctl", "the live journal"),
        (ProcessInfo(7, "amazon-guardduty-agent", ("a", "b"), None, 1.5, (None, 65536)),),
        {"id": "amzn", "version_id": "2023"},
        ["a", "b"],
        1.25,
    ]
    for answer in answers:
        data = json.loads(json.dumps(recording.encode(answer, mask)))
        assert recording.decode(data) == answer
        assert type(recording.decode(data)) is type(answer)
    errors = [
        FileNotFoundError(2, "No such file or directory", "/etc/x"),
        PermissionError(13, "Permission denied"),
        HttpFailure("refused", "connection refused"),
        Unsupported("not under --root"),
        CouldNotLook("no journal"),
        HostTimeout("took too long"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ]
    for error in errors:
        data = json.loads(json.dumps(recording.encode_error(error, mask)))
        back = recording.decode_error(data)
        assert str(back) == str(error)
        if isinstance(error, UnicodeDecodeError):  # it takes five arguments: its nearest base
            assert type(back) is UnicodeError
        else:
            assert type(back) is type(error)
    assert recording.decode_error(recording.encode_error(errors[2], mask)).kind == ("refused")


def test_replay_serves_repeats_in_order_and_refuses_the_unrecorded() -> None:
    entries = [
        {"seq": 0, "method": "exists", "args": {"path": "/a"}, "result": True},
        {"seq": 1, "method": "exists", "args": {"path": "/a"}, "result": False},
        {
            "seq": 2,
            "method": "read_bytes",
            "args": {"path": "/b", "limit": 10, "tail": False},
            "error": {"type": "FileNotFoundError", "message": "", "errno": 2, "strerror": "x"},
        },
    ]
    host = recording.ReplayHost(entries, {}, 1234.5)
    assert [host.exists("/a"), host.exists("/a"), host.exists("/a")] == [True, False, False]
    with pytest.raises(FileNotFoundError):
        host.read_bytes("/b", 10)
    with pytest.raises(CouldNotLook, match="^not in the recording$"):
        host.read_bytes("/b", 11)
    assert host.now() == 1234.5


def in_thread(name: str, ask: Callable[[], object]) -> object:
    """ASK's answer, asked from a thread named NAME (as the engine names a probe's thread)."""
    import threading

    out: List[object] = []
    thread = threading.Thread(target=lambda: out.append(ask()), name=name)
    thread.start()
    thread.join()
    return out[0]


def test_replay_answers_each_probe_from_its_own_questions() -> None:
    """Two probes listed /proc at different moments (a command of one of them ran meanwhile)
    and read the comm of what each saw. Replayed, each gets its own listing and its own reads,
    whichever asks first; a question no probe asked gets all the answers in recorded order, and
    so does every question of a bundle that does not say which probe asked."""
    entries = [
        {"seq": 0, "probe": "b", "method": "list_dir", "args": {"path": "/proc"}, "result": ["1"]},
        {"seq": 1, "probe": "a", "method": "list_dir", "args": {"path": "/proc"},
         "result": ["1", "77"]},
        {"seq": 2, "probe": "a", "method": "read_bytes",
         "args": {"path": "/proc/77/comm", "limit": 64, "tail": False},
         "result": {"bytes": "journalctl"}},
        {"seq": 3, "method": "exists", "args": {"path": "/x"}, "result": True},
        {"seq": 4, "probe": "a", "method": "exists", "args": {"path": "/x"}, "result": False},
    ]  # fmt: skip
    host = recording.ReplayHost(entries, {}, 0.0)
    listing = lambda: host.list_dir("/proc")  # noqa: E731
    assert in_thread(recording_thread("a"), listing) == ["1", "77"]
    assert in_thread(recording_thread("a"), lambda: host.read_bytes("/proc/77/comm", 64)) == (
        b"journalctl"
    )
    assert in_thread(recording_thread("b"), listing) == ["1"]
    assert in_thread(recording_thread("c"), lambda: host.exists("/x")) is True  # not its own
    assert in_thread(recording_thread("a"), lambda: host.exists("/x")) is False
    anonymous = recording.ReplayHost([{k: v for k, v in e.items() if k != "probe"}
                                      for e in entries], {}, 0.0)  # fmt: skip
    assert in_thread(recording_thread("a"), lambda: anonymous.list_dir("/proc")) == ["1"]


def test_the_recording_names_the_probe_that_asked() -> None:
    inner = LiveHost(env={})
    recorder = recording.RecordingHost(inner)
    in_thread(recording_thread("platform.kernel"), lambda: recorder.exists("/proc"))
    recorder.exists("/proc")  # the main thread: no probe
    asked = [(o.get("probe"), o["method"]) for o in recorder.observations]
    assert asked == [("platform.kernel", "exists"), (None, "exists")]


# -- the recording is made from the host's declaration ---------------------------------------------
def test_every_question_of_every_recorded_part_is_recorded_and_replayed() -> None:
    """The recording and the replay are generated from the part protocols: each protocol
    question has one, under a name unique across the parts, with its answer type read."""
    from amzn_gd_doctor.host import protocols
    from amzn_gd_doctor.host.protocols import method_names

    declared = recording.declared()
    asked = [name for _, protocol in protocols.RECORDED for name in method_names(protocol)]
    assert len(asked) == len(set(asked)) == len(declared) >= 15
    replay = recording.ReplayHost([], {}, 0.0)
    inner = LiveHost(env={})
    recorder = recording.RecordingHost(inner)
    for part, protocol in protocols.RECORDED:
        for name in method_names(protocol):
            assert declared[name].part == part
            assert callable(getattr(getattr(replay, part), name))
            assert callable(getattr(getattr(recorder, part), name))


def test_a_malformed_recorded_answer_is_could_not_look_never_a_crash() -> None:
    """Every answer is read back as its declared type: one that is not reaches the probe as
    could-not-look, and its check is inconclusive."""
    from amzn_gd_doctor import doctor, registry

    entries = [
        {"seq": 0, "method": "exists", "args": {"path": "/etc/os-release"}, "result": "yes"},
        {
            "seq": 1,
            "method": "read_bytes",
            "args": {"path": "/b", "limit": 1, "tail": False},
            "result": {"bytes": 7},
        },
        {
            "seq": 2,
            "method": "find_processes",
            "args": {"names": {"tuple": ["x"]}, "pids": {"tuple": []}},
            "result": {"tuple": [{"value": "ProcessInfo", "fields": {}}]},
        },
        {"seq": 3, "method": "list_dir", "args": {"path": "/proc"}, "error": "not an error"},
    ]
    host = recording.ReplayHost(entries, {}, 0.0)
    with pytest.raises(CouldNotLook, match="the recorded answer to exists is malformed"):
        host.files.exists("/etc/os-release")
    with pytest.raises(CouldNotLook, match="malformed"):
        host.files.read_bytes("/b", 1)
    with pytest.raises(CouldNotLook, match="ProcessInfo that is incomplete"):
        host.processes.find_processes(["x"])
    with pytest.raises(CouldNotLook, match="a recorded error that is not one"):
        host.files.list_dir("/proc")
    probes, _ = registry.load()
    report = doctor.run(
        recording.ReplayHost(entries, {}, 0.0),
        doctor.Options(root="/tree"),
        {"platform.os": probes["platform.os"]},
        {},
    )
    (fact,) = report.facts
    assert (fact.status.value, fact.crashed) == ("error", False)
    assert fact.reason is not None and fact.reason.startswith("the recorded answer to exists")


def test_recordings_of_earlier_versions_replay() -> None:
    """What earlier doctors recorded: a tree's clock said Unsupported where it now says None,
    and the SSM agent's package was asked in another spelling."""
    older_ssm_query = ("dpkg-query", "-W", "-f", "${Status}\t${Version}", "amazon-ssm-agent")
    entries = [
        {"seq": 0, "method": "now", "args": {}, "error": {"type": "Unsupported", "message": "x"}},
        {"seq": 1, "method": "exists", "args": {"path": "/var/lib/dpkg/status"}, "result": True},
        {
            "seq": 2,
            "method": "run",
            "args": {"argv": {"tuple": list(older_ssm_query)}, "timeout": 3.0, "limit": None},
            "result": {
                "value": "CommandResult",
                "fields": {
                    "argv": {"tuple": list(older_ssm_query)},
                    "returncode": 0,
                    "stdout": {"bytes": "install ok installed\t3.3.1142.0-1"},
                    "stderr": {"bytes": ""},
                },
            },
        },
    ]
    for path in ("Packages", "rpmdb.sqlite", "Packages.db"):
        for directory in ("/var/lib/rpm", "/usr/lib/sysimage/rpm"):
            entries.append(
                {
                    "seq": 9,
                    "method": "exists",
                    "args": {"path": f"{directory}/{path}"},
                    "result": False,
                }
            )
    rooted = recording.ReplayHost(entries, {}, 1234.5, rooted=True)
    assert rooted.clock.now() is None
    live = recording.ReplayHost(entries, {}, 1234.5)
    (query,) = live.packages.records("amazon-ssm-agent")
    assert query.result.stdout == b"install ok installed\t3.3.1142.0-1"
    from amzn_gd_doctor.probes.ssm_packages import package_record

    assert package_record(live.packages) == (True, "deb", "3.3.1142.0-1")
