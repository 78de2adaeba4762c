"""Host families (docs/families.md): the parsers on real-shaped inputs, the probes on trees made
here (hostile ones included), the rules called with their value classes, the engine's handling
of a check that does not apply, and the EKS verdict end to end in every format.

The scenario trees (fixtures/roots/bottlerocket-*, ecs-*, eks-*) are judged by the corpus; here
are the cases a tree would only repeat, and the ones no tree can hold.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, Optional

import pytest
from support import ROOTS, doctor_env, run_cli

from amzn_gd_doctor import cli_app, doctor, registry
from amzn_gd_doctor.facts.agent import AgentPackage
from amzn_gd_doctor.facts.family import (
    CONTAINER_VIEW,
    CONTROL_VIEW,
    HOST_VIEW,
    Bottlerocket,
    ContainerJournal,
    EcsInstance,
    EksNode,
    HostContainer,
    version_tuple,
)
from amzn_gd_doctor.facts.platform import KernelRelease
from amzn_gd_doctor.facts.ssm import SsmAgent
from amzn_gd_doctor.host import RootedHost
from amzn_gd_doctor.host.journal import JournalEntry
from amzn_gd_doctor.model import Confidence, Fact, FactStatus, Finding, Outcome
from amzn_gd_doctor.probes.family_bottlerocket import parse_env
from amzn_gd_doctor.probes.family_ecs import parse_agent_version, parse_cluster
from amzn_gd_doctor.probes.family_eks import addon_files, parse_kubeconfig, parse_nodeadm_cache
from amzn_gd_doctor.probes.family_journal import summarise
from amzn_gd_doctor.probes.family_text import parse_os_release
from amzn_gd_doctor.registry import RuleSpec
from amzn_gd_doctor.rules import agent_install, family, platform, ssm
from amzn_gd_doctor.summary import family_line

# -- parsers ---------------------------------------------------------------------------------
# The sample the reference cites (REFERENCE.md section 12; bottlerocket-release's reader).
BOTTLEROCKET_1_47 = """NAME=Bottlerocket
ID=bottlerocket
VERSION="1.47.0 (aws-k8s-1.34)"
PRETTY_NAME="Bottlerocket OS 1.47.0 (aws-k8s-1.34)"
VARIANT_ID=aws-k8s-1.34
VERSION_ID=1.47.0
BUILD_ID=6154605b
VENDOR_NAME=Bottlerocket
"""


def test_os_release_quotes_removed_as_bottlerocket_reads_them() -> None:
    keys = parse_os_release(BOTTLEROCKET_1_47 + "# a comment\nnot a pair\n")
    assert keys["ID"] == "bottlerocket"
    assert keys["VERSION"] == "1.47.0 (aws-k8s-1.34)"
    assert (keys["VARIANT_ID"], keys["VERSION_ID"], keys["BUILD_ID"]) == (
        "aws-k8s-1.34",
        "1.47.0",
        "6154605b",
    )
    assert "# a comment" not in keys and len(keys) == 8


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.62.1", (1, 62, 1)),
        ("v1.62.1-rc1", (1, 62, 1)),
        ("1.77", (1, 77, 0)),
        ("1.105.1", (1, 105, 1)),
        ("latest", None),
        ("9" * 50, None),
    ],
)
def test_version_tuple(text: str, expected: Optional[tuple]) -> None:
    assert version_tuple(text) == expected


@pytest.mark.parametrize(
    "variant, orchestrator, generation",
    [
        ("aws-ecs-2", "ecs", 2),
        ("aws-ecs-3-nvidia-fips", "ecs", 3),
        ("aws-ecs-2-fips", "ecs", 2),
        ("aws-ecs-1", "ecs", 1),
        ("aws-k8s-1.34-nvidia", "k8s", None),
        ("aws-dev", "", None),
        ("vmware-k8s-1.30", "", None),
    ],
)
def test_variants(variant: str, orchestrator: str, generation: Optional[int]) -> None:
    host = Bottlerocket(True, HOST_VIEW, variant_id=variant, version_id="1.62.1")
    assert (host.orchestrator, host.ecs_generation) == (orchestrator, generation)


def test_host_container_env_file() -> None:
    # core-kit sources/api/host-containers write_env_file
    text = (
        "CTR_SUPERPOWERED=true\nCTR_SOURCE=593207742271.dkr.ecr.us-east-1.amazonaws.com/"
        "aws-guardduty-agent-ecs-ec2:v1.0.0\n\n# Just for reference; service is enabled or "
        "disabled by host-containers service\n# CTR_ENABLED=false\n"
    )
    found = parse_env(text, "amazon-guardduty-agent", "x.env")
    assert found.enabled is False and found.source.endswith("aws-guardduty-agent-ecs-ec2:v1.0.0")
    assert parse_env("CTR_SOURCE=x\n", "admin", "x.env").enabled is None


@pytest.mark.parametrize(
    "log, version",
    [
        # seelog, 1.17.3 to 1.59 (aws/amazon-ecs-agent PR #1281)
        (
            "2018-03-07T00:34:58Z [INFO] Amazon ECS agent Version: 1.17.1, Commit: 2be41090\n",
            "1.17.1",
        ),
        # logfmt (the ECS developer guide's example)
        (
            'level=info time=2019-12-12T23:43:29Z msg="Loading configuration" module=agent.go\n'
            'level=info time=2019-12-12T23:43:29Z msg="Amazon ECS agent Version: 1.36.0, '
            'Commit: ca640387" module=agent.go\n',
            "1.36.0",
        ),
        # structured, 1.60.0 on (agent/app/agent.go; fields in any order)
        (
            'level=info time=2026-06-30T10:00:00Z msg="Starting Amazon ECS Agent" '
            'commit="8dfceca6" version="1.105.1"\n',
            "1.105.1",
        ),
        (
            '{"level":"info","time":"2026-06-30T10:00:00Z","msg":"Starting Amazon ECS Agent",'
            '"version":"1.99.0","commit":"0123abcd"}\n',
            "1.99.0",
        ),
        ('level=info time=2026-06-30T10:00:00Z msg="Loading configuration"\n', None),
    ],
)
def test_ecs_agent_version(log: str, version: Optional[str]) -> None:
    assert parse_agent_version(log) == version


def test_ecs_agent_version_latest_start_wins() -> None:
    older = 'msg="Starting Amazon ECS Agent" version="1.68.2"\n'
    newer = 'msg="Starting Amazon ECS Agent" version="1.105.1"\n'
    assert parse_agent_version(older + newer) == "1.105.1"


def test_ecs_cluster() -> None:
    assert parse_cluster("ECS_LOGLEVEL=info\nECS_CLUSTER=qa-platform\n") == "qa-platform"
    assert parse_cluster("ECS_CLUSTER=\n") == ""
    assert parse_cluster("ECS_LOGLEVEL=info\n") is None
    # Bottlerocket's drop-in (core-kit packages/ecs-agent/ecs-base-conf, rendered)
    dropin = '[Service]\nEnvironment=ECS_BACKEND_HOST=""\nEnvironment=ECS_CLUSTER="prod"\n'
    assert parse_cluster(dropin) == "prod"
    assert EcsInstance(True, cluster="").cluster_name == "default"


def test_nodeadm_cache_yields_the_cluster_name_only() -> None:
    cache = json.dumps(
        {
            "kind": "NodeConfig",
            "spec": {"cluster": {"name": "my-cluster", "certificateAuthority": "Y2Vy"}},
        }
    )
    assert parse_nodeadm_cache(cache) == "my-cluster"
    assert parse_nodeadm_cache("{not json") is None
    assert parse_nodeadm_cache("[" * 100_000) is None
    assert parse_nodeadm_cache('{"spec": {"cluster": {"name": "bad name; rm -rf"}}}') is None
    assert parse_nodeadm_cache('{"spec": []}') is None


def test_kubeconfig_cluster() -> None:
    al2023 = (ROOTS / "eks-al2023-addon/var/lib/kubelet/kubeconfig").read_text()
    assert parse_kubeconfig(al2023) == "my-cluster"
    # AL2's template (amazon-eks-ami templates/al2/runtime/kubelet-kubeconfig), substituted
    al2 = (
        '      args:\n        - "token"\n        - "-i"\n        - "prod-eks"\n        - --region\n'
    )
    assert parse_kubeconfig(al2) == "prod-eks"
    assert parse_kubeconfig(al2.replace("prod-eks", "CLUSTER_NAME")) is None
    assert parse_kubeconfig("users: []\n") is None


def test_addon_pod_logs() -> None:
    log = (
        "aws-guardduty-agent-dc5z8_amazon-guardduty_aws-guardduty-agent-"
        "a8dcd25a72ab0700176ebfd1dd15e3c3b74d5fed716c517133f6075b8da30a10.log"
    )
    other = "coredns-5d8b_kube-system_coredns-0123abcd.log"
    pod = "amazon-guardduty_aws-guardduty-agent-dc5z8_5c0e0a3e-3b7e-4c51-9a0e-6d2f1c4b8a71"
    assert addon_files((log, other), (pod, "kube-system_coredns-5d8b_0f")) == (
        f"/var/log/containers/{log}",
        f"/var/log/pods/{pod}",
    )
    assert addon_files((other,), ()) == ()


def _entry(message: str) -> JournalEntry:
    return JournalEntry(0, {"MESSAGE": message})


def test_pull_summary_says_which_came_last() -> None:
    failed = _entry('level=warning msg="failed to pull image. waiting 2.4s before retrying..."')
    exhausted = _entry('level=error msg="retries exhausted: failed to resolve reference"')
    pulled = _entry('level=info msg="pulled image successfully" img="x"')
    assert summarise([failed, exhausted]).latest_pull == "failed"
    later = summarise([failed, pulled])
    assert (later.latest_pull, later.pull_failures, later.pulls) == ("pulled", 1, 1)
    assert summarise([]).latest_pull == ""


# -- probes on trees made here ---------------------------------------------------------------
def _facts(root: Path) -> Dict[str, Fact]:
    probes = {k: v for k, v in registry.load()[0].items() if k.startswith("family.")}
    host = RootedHost(root=str(root))
    return doctor.collect(host, doctor.Options(root=str(root)), probes, time.monotonic() + 20)


def _write(root: Path, files: Dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_probes_on_another_family_see_nothing(tmp_path: Path) -> None:
    facts = _facts(_write(tmp_path, {"/etc/os-release": b'ID="amzn"\nVERSION_ID="2023"\n'}))
    assert [f.value.found for k, f in facts.items() if k != "family.agent_container_journal"] == [
        False,
        False,
        False,
    ]
    assert facts["family.agent_container_journal"].value == ContainerJournal(0, 0, 0, "")


def test_hostile_family_files_are_named_not_raised(tmp_path: Path) -> None:
    release = b"ID=bottlerocket\nVARIANT_ID=aws-ecs-2\nVERSION_ID=1.62.1\n"
    root = _write(
        tmp_path,
        {
            "/etc/os-release": release,
            "/etc/host-containers/admin.env": b"\xff\xfe" * 10,
            "/etc/host-containers/control.env": b"x" * (64 * 1024),
            "/etc/ecs/ecs.config": b"ECS_CLUSTER=\x1b[31mred\x07\n",
            "/var/lib/kubelet/kubeconfig": b"- --cluster-name\n",
            "/run/eks/nodeadm/config.json": b"[" * 200_000,
        },
    )
    facts = _facts(root)
    assert all(
        f.status is FactStatus.OK
        for f in facts.values()
        if f.probe_id != "family.agent_container_journal"
    )
    host = facts["family.bottlerocket"].value
    # Configured (their env files are there), whether enabled unknown, and why.
    assert [(c.name, c.enabled) for c in host.containers] == [("admin", None), ("control", None)]
    assert any("not UTF-8" in p for p in host.problems)
    assert any("larger than 16 KiB" in p for p in host.problems)
    verdict = ssm.agent_running(ssm_agent(False, known=False), None, None, host)
    assert verdict.outcome is Outcome.WARN and "could not be read" in verdict.summary
    assert "\x1b" not in facts["family.ecs"].value.cluster
    eks = facts["family.eks"].value
    assert eks.found and eks.cluster == ""


def test_control_container_view(tmp_path: Path) -> None:
    facts = _facts(ROOTS / "bottlerocket-control-container")
    host = facts["family.bottlerocket"].value
    assert (host.view, host.release_file, host.variant_id) == (
        CONTROL_VIEW,
        "/etc/bottlerocket-release",
        "aws-ecs-2",
    )
    assert host.ssm_state == "/.bottlerocket/host-containers/current/ssm"


def test_admin_container_reads_the_host_root(tmp_path: Path) -> None:
    assert cli_app.admin_rootfs(str(tmp_path)) is None
    _write(tmp_path, {"/etc/bottlerocket-release": BOTTLEROCKET_1_47.encode()})
    assert cli_app.admin_rootfs(str(tmp_path)) is None  # the control container: no rootfs
    (tmp_path / ".bottlerocket/rootfs").mkdir(parents=True)
    assert cli_app.admin_rootfs(str(tmp_path)) == str(tmp_path / ".bottlerocket/rootfs")
    assert cli_app.ADMIN_ROOTFS == "/.bottlerocket/rootfs"
    host = Bottlerocket(True, HOST_VIEW, variant_id="aws-ecs-2", version_id="1.62.1")
    assert family_line(host, None, None, "/.bottlerocket/rootfs") == (
        "release 1.62.1, variant aws-ecs-2, read at /.bottlerocket/rootfs from its admin container"
    )


# -- rules -----------------------------------------------------------------------------------
def br(variant: str, version: str = "1.62.1", view: str = HOST_VIEW, **kw: object) -> Bottlerocket:
    return Bottlerocket(True, view, "/etc/os-release", variant, version, "x", **kw)  # type: ignore[arg-type]


NOT_BR = Bottlerocket(False)


@pytest.mark.parametrize(
    "host, outcome, confidence",
    [
        (br("aws-ecs-2"), Outcome.PASS, None),
        (br("aws-ecs-3-nvidia-fips", "1.63.0"), Outcome.PASS, None),
        (br("aws-ecs-2", "1.62.0"), Outcome.FAIL, Confidence.CONFIRMED),
        (br("aws-ecs-3", "1.47.0"), Outcome.FAIL, Confidence.CONFIRMED),
        (br("aws-ecs-1", "1.70.0"), Outcome.FAIL, Confidence.SUSPECTED),
        (br("aws-k8s-1.34"), Outcome.NOT_APPLICABLE, None),
        (br("aws-dev"), Outcome.WARN, None),
        (br("aws-ecs-2", "latest"), Outcome.INCONCLUSIVE, None),
        (NOT_BR, Outcome.NOT_APPLICABLE, None),
    ],
)
def test_bottlerocket_supported(
    host: Bottlerocket, outcome: Outcome, confidence: Optional[Confidence]
) -> None:
    verdict = family.bottlerocket_supported(host)
    assert verdict.outcome is outcome, verdict.summary
    if confidence is not None:
        assert (verdict.issue, verdict.confidence) == (
            "bottlerocket_release_unsupported",
            confidence,
        )


GD = "amazon-guardduty-agent"
ENV = "/etc/host-containers/amazon-guardduty-agent.env"
SETTINGS = ("/etc/host-containers",)


def test_host_container() -> None:
    enabled = br(
        "aws-ecs-2", containers=(HostContainer(GD, True, "img", ENV),), settings_read=SETTINGS
    )
    assert family.host_container(enabled, None).outcome is Outcome.PASS
    disabled = br(
        "aws-ecs-2", containers=(HostContainer(GD, False, "", ENV),), settings_read=SETTINGS
    )
    verdict = family.host_container(disabled, None)
    assert (verdict.outcome, verdict.issue) == (Outcome.FAIL, "bottlerocket_no_agent_reporting")
    assert "is disabled" in verdict.summary
    storage_only = br("aws-ecs-2", containers=(HostContainer("control", None, "", "/local"),))
    verdict = family.host_container(storage_only, None)
    assert (
        verdict.confidence is Confidence.SUSPECTED
        and "among the host containers' storage" in verdict.summary
    )
    failing = ContainerJournal(12, 6, 0, "failed", ("retries exhausted: 403",))
    verdict = family.host_container(enabled, failing)
    assert (verdict.issue, verdict.confidence) == ("ecr_image_pull_failed", Confidence.SUSPECTED)
    assert verdict.evidence == ("journal: retries exhausted: 403",)
    recovered = family.host_container(enabled, ContainerJournal(12, 6, 1, "pulled"))
    assert recovered.outcome is Outcome.PASS and "after 6 failed" in recovered.summary
    unread = family.host_container(br("aws-ecs-2", problems=("permission denied",)), None)
    assert unread.outcome is Outcome.INCONCLUSIVE and "permission denied" in unread.summary
    inside = family.host_container(br("aws-ecs-2", view=CONTAINER_VIEW), None)
    assert inside.outcome is Outcome.INCONCLUSIVE and "host container" in inside.summary
    assert family.host_container(br("aws-k8s-1.34"), None).outcome is Outcome.NOT_APPLICABLE
    assert family.host_container(NOT_BR, None).outcome is Outcome.NOT_APPLICABLE


def kernel(raw: str) -> KernelRelease:
    parts = tuple(int(p) for p in raw.split("-")[0].split("."))
    return KernelRelease(raw, (parts + (0,))[:3])  # type: ignore[arg-type]


def test_ecs_agent() -> None:
    ecs = EcsInstance(True, "prod", "/etc/ecs/ecs.config", "1.105.1", "/var/log/ecs/ecs-agent.log")
    ok = family.ecs_agent(ecs, kernel("6.1.115-126.197.amzn2023.x86_64"), NOT_BR)
    assert ok.outcome is Outcome.PASS and "under EC2 instances" in ok.summary
    old = EcsInstance(True, "", "", "1.68.2", "/var/log/ecs/ecs-agent.log")
    verdict = family.ecs_agent(old, kernel("4.14.355-284.742.amzn2.x86_64"), None)
    assert verdict.outcome is Outcome.WARN and verdict.issue is None
    assert "1.68.2 is older than 1.77" in verdict.summary and "older than 5.10" in verdict.summary
    assert "cluster default" in verdict.summary
    unknown = family.ecs_agent(EcsInstance(True, "prod"), kernel("6.1.1"), None)
    assert unknown.outcome is Outcome.WARN and "localhost:51678" in unknown.summary
    on_br = family.ecs_agent(ecs, None, br("aws-ecs-2"))
    assert on_br.outcome is Outcome.NOT_APPLICABLE
    assert family.ecs_agent(EcsInstance(False), None, None).outcome is Outcome.NOT_APPLICABLE


ADDON = ("/var/log/containers/aws-guardduty-agent-x_amazon-guardduty_aws-guardduty-agent-1.log",)
INSTALLED = AgentPackage("rpm", "installed", "1.9.2", "installed", ("/usr/bin/x",))


def test_coverage_owner() -> None:
    with_addon = family.coverage_owner(EksNode(True, "my-cluster", addon=ADDON), None, None)
    assert with_addon.outcome is Outcome.WARN
    assert with_addon.summary.startswith("this instance's coverage is EKS Runtime Monitoring's")
    assert "eks-runtime-monitoring-coverage.html" in with_addon.summary
    assert with_addon.evidence == ADDON and "idle" not in with_addon.summary
    both = family.coverage_owner(EksNode(True, "my-cluster", addon=ADDON), None, INSTALLED)
    assert "stays idle by design" in both.summary
    br_eks = family.coverage_owner(EksNode(False), br("aws-k8s-1.34"), None)
    assert br_eks.outcome is Outcome.WARN and "EKS variant" in br_eks.summary
    plain = family.coverage_owner(EksNode(True, "my-cluster"), None, INSTALLED)
    assert plain.outcome is Outcome.PASS and "EC2 Runtime Monitoring covers it" in plain.summary
    assert family.coverage_owner(EksNode(False), None, None).outcome is Outcome.NOT_APPLICABLE


ABSENT = AgentPackage("dpkg", "not-installed", None, "")


def test_agent_is_never_advised_by_hand_where_it_is_not_a_package() -> None:
    on_br = agent_install.installed(ABSENT, None, br("aws-ecs-2"), None)
    assert on_br.outcome is Outcome.NOT_APPLICABLE and "never installed by hand" in on_br.summary
    on_eks = agent_install.installed(ABSENT, None, None, EksNode(True, "c", addon=ADDON))
    assert on_eks.outcome is Outcome.NOT_APPLICABLE and "EKS add-on" in on_eks.summary
    # Without the add-on, an EKS node is an EC2 instance like any other.
    plain = agent_install.installed(ABSENT, None, None, EksNode(True, "c"))
    assert plain.outcome is Outcome.FAIL


def ssm_agent(running: bool, pids: tuple = (), known: bool = True) -> SsmAgent:
    return SsmAgent(False, running, known, "", None, None, {}, pids)


def test_ssm_agent_on_bottlerocket() -> None:
    control = HostContainer("control", True, "", "/etc/host-containers/control.env")
    host = br("aws-ecs-2", containers=(control,), settings_read=SETTINGS, ssm_state="/local/x/ssm")
    verdict = ssm.agent_running(ssm_agent(True, (2301,)), None, None, host)
    assert verdict.outcome is Outcome.PASS
    assert "runs in Bottlerocket's control container" in verdict.summary
    assert "None" not in verdict.summary and "pid 2301" in verdict.summary
    off = br(
        "aws-ecs-2",
        containers=(HostContainer("control", False, "", "/etc/host-containers/control.env"),),
        settings_read=SETTINGS,
    )
    verdict = ssm.agent_running(ssm_agent(False), None, None, off)
    assert (verdict.outcome, verdict.issue) == (Outcome.FAIL, "waiting_for_ssm_notification")
    assert "apiclient set host-containers.control.enabled=true" in verdict.fix[0]
    stopped = ssm.agent_running(ssm_agent(False), None, None, host)
    assert stopped.outcome is Outcome.WARN and "no amazon-ssm-agent process" in stopped.summary
    unread = ssm.agent_running(ssm_agent(False, known=False), None, None, br("aws-ecs-2"))
    assert unread.outcome is Outcome.INCONCLUSIVE
    inside = ssm.agent_running(
        ssm_agent(True, (7,)), None, None, br("aws-ecs-2", view=CONTROL_VIEW)
    )
    assert inside.outcome is Outcome.PASS and "where this doctor runs" in inside.summary


def test_ssm_process_without_unit_is_not_named_none() -> None:
    verdict = ssm.agent_running(ssm_agent(True, (7,)), None, None, None)
    assert verdict.outcome is Outcome.PASS
    assert "None" not in verdict.summary and "pid 7" in verdict.summary


def test_kernel_matrix_does_not_judge_bottlerocket() -> None:
    verdict = platform.kernel_supported(kernel("6.1.119"), None, None, br("aws-ecs-2"))
    assert verdict.outcome is Outcome.PASS and "by its variant and release" in verdict.summary


# -- engine: a prerequisite that does not apply ----------------------------------------------
def test_a_check_whose_prerequisite_does_not_apply_does_not_apply() -> None:
    title = "GuardDuty agent package installed"
    prior = Finding("agent.installed", title, "agent", Outcome.NOT_APPLICABLE, "Bottlerocket.")
    spec = RuleSpec("agent.unit_running", lambda: None, "t", (), (), ("agent.installed",), ())
    finding = doctor.evaluate(spec, {}, {"agent.installed": prior})
    assert finding.outcome is Outcome.NOT_APPLICABLE
    assert finding.summary == (
        'not applicable, as the check "GuardDuty agent package installed" is not.'
    )


# -- the EKS verdict end to end --------------------------------------------------------------
def test_eks_addon_node_is_eks_coverage_in_every_format() -> None:
    root = str(ROOTS / "eks-al2023-addon")
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    args = ("check", "--root", root, "--dns-server", "127.0.0.1:9")
    report = run_cli(*args, "-f", "json", env=env).json()
    verdict = report["verdict"]
    assert verdict["coverage_status"] == "UNKNOWN" and report["exit_code"] == 3
    assert verdict["covered_elsewhere"].startswith(
        "this instance's coverage is EKS Runtime Monitoring's (the aws-guardduty-agent add-on"
    )
    assert verdict["not_ec2"] is None
    assert all(d["confidence"] == "suspected" for d in report["diagnoses"])
    assert (
        report["host"]["family"] == "EKS node, cluster my-cluster, GuardDuty's EKS add-on runs here"
    )
    text = run_cli(*args, env=env).stdout
    assert "  Coverage:      this instance's coverage is EKS Runtime Monitoring's" in text
    summary = run_cli(*args, "-f", "summary", env=env).stdout
    assert summary.startswith("amzn-gd-doctor: UNKNOWN | this instance's coverage is EKS")
    for shown in (text, json.dumps(report)):
        assert "installing-gdu-security-agent-ec2-manually" not in shown
        assert "Manually managed agent" not in shown


def test_eks_node_without_addon_names_its_cluster() -> None:
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    root = str(ROOTS / "eks-al2023-ec2-agent")
    report = run_cli(
        "check", "--root", root, "-f", "json", "--dns-server", "127.0.0.1:9", env=env
    ).json()
    assert report["verdict"]["covered_elsewhere"] is None
    assert report["host"]["family"] == "EKS node, cluster my-cluster"
