"""IMDS scenarios end to end: the real CLI against a real IMDSv2-behaving server on loopback.

Every run uses the al2023-6.1 root so the rest of the report is deterministic. A scenario
declares only the IMDS checks it is about (their outcomes and the words their summaries hold),
never the other areas' checks.
"""

from __future__ import annotations

import json

import pytest
from scenarios import assert_declared
from support import ROOTS, CliResult, ImdsServer, doctor_env, run_cli, shown_in

ROOT = str(ROOTS / "al2023-6.1")
FAST = {"AWS_METADATA_SERVICE_TIMEOUT": "0.5"}
# What IMDS alone can make the console show; other areas judge the rest of the root.
IMDS_CODES = {"identity_document_unavailable", "exclusion_tag"}

pytestmark = pytest.mark.corpus


def check(imds: ImdsServer, *extra: str, env: dict = None, fmt: str = "json"):  # type: ignore[assignment]
    return run_cli(
        "check",
        "--root",
        ROOT,
        "--imds-endpoint",
        imds.url,
        "-f",
        fmt,
        *extra,
        env=doctor_env(**FAST, **(env or {})),
    )


def finding(report: dict, rule_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == rule_id)


def fact(report: dict, fact_id: str) -> dict:
    return next(f for f in report["facts"] if f["id"] == fact_id)


def assert_imds(result: CliResult, text: CliResult, declared: dict) -> None:
    """The JSON report holds what DECLARED says of the IMDS checks, and the text report of the
    same scenario shows each of them with the same summary."""
    report = result.json()
    assert_declared(report, declared)
    for rule in declared["outcomes"]:
        assert shown_in(f"{rule}: {finding(report, rule)['summary']}", text.stdout)
    assert [i["id"] for i in report["incomplete"] if i["id"].startswith("imds.")] == []


def test_identity_document_healthy_imdsv2(imds_server: ImdsServer) -> None:
    result = check(imds_server)
    report = result.json()
    assert not [d for d in report["diagnoses"] if d["code"] in IMDS_CODES]
    assert finding(report, "imds.identity_document")["summary"] == (
        "identity document of i-0123456789abcdef0 (t3.micro) in us-east-1, account "
        "123456789012, read with IMDSv2."
    )
    assert report["host"]["vpc_cidrs"] == ["10.0.0.0/16"]
    host = report["host"]
    assert (host["instance_id"], host["instance_type"], host["region"], host["account_id"]) == (
        "i-0123456789abcdef0",
        "t3.micro",
        "us-east-1",
        "123456789012",
    )
    assert (host["vpc_id"], host["subnet_id"]) == (
        "vpc-0a1b2c3d4e5f60718",
        "subnet-0123456789abcdef0",
    )
    assert [fact(report, f)["status"] for f in ("imds.identity", "imds.network", "imds.tags")] == [
        "ok",
        "ok",
        "ok",
    ]
    gets = [r for r in imds_server.requests if r[0] == "GET"]
    assert gets and all("X-aws-ec2-metadata-token" in headers for _, _, headers in gets)
    assert_imds(
        result,
        check(imds_server, fmt="text"),
        {
            "outcomes": {"imds.identity_document": "pass", "imds.exclusion_tag": "pass"},
            "summaries": {
                "imds.identity_document": ["i-0123456789abcdef0", "read with IMDSv2"],
                "imds.exclusion_tag": ["tags in instance metadata are off"],
            },
        },
    )


def test_vpc_values_are_fetched_at_once(imds_server: ImdsServer) -> None:
    """The VPC id, subnet and CIDR blocks do not depend on each other: asked together, not one
    after another. Each GET is held for a while so that the requests overlap if sent at once."""
    imds_server.get_delay = 0.3
    report = check(imds_server, "--deadline", "20").json()
    assert finding(report, "imds.identity_document")["outcome"] == "pass"
    assert imds_server.most_in_flight >= 3


def test_never_requests_credentials(imds_server: ImdsServer) -> None:
    imds_server.tags = {"Name": "web"}
    check(imds_server)
    paths = [path for _, path, _ in imds_server.requests]
    assert paths and not any("iam" in p or "credentials" in p for p in paths)


@pytest.mark.parametrize("status", [403, 404, 405])
def test_identity_document_falls_back_to_imdsv1(imds_server: ImdsServer, status: int) -> None:
    imds_server.tokens, imds_server.token_status = "off", status
    report = check(imds_server).json()
    item = finding(report, "imds.identity_document")
    assert item["outcome"] == "warn"
    assert item["summary"].endswith(
        f"read with IMDSv1. Note: token request answered HTTP {status}; fell back to IMDSv1."
    )
    assert not [d for d in report["diagnoses"] if d["code"] in IMDS_CODES]


def test_identity_document_v1_disabled(imds_server: ImdsServer) -> None:
    imds_server.tokens, imds_server.token_status = "off", 404
    result = check(imds_server, env={"AWS_EC2_METADATA_V1_DISABLED": "true"})
    report = result.json()
    assert result.returncode == 1
    assert report["verdict"]["issue_message"] == "Unable to retrieve instance identity document."
    assert "IMDSv1 is disabled by AWS_EC2_METADATA_V1_DISABLED" in report["diagnoses"][0]["summary"]


def test_identity_document_token_400(imds_server: ImdsServer) -> None:
    imds_server.tokens, imds_server.token_status = "off", 400
    report = check(imds_server).json()
    assert report["verdict"]["code"] == "identity_document_unavailable"
    assert finding(report, "imds.identity_document")["summary"] == (
        f"IMDS at {imds_server.url} rejected the token request (HTTP 400)."
    )


def test_hop_limit_symptom_with_v1_fallback(imds_server: ImdsServer) -> None:
    imds_server.put_delay = 1.5
    report = check(imds_server).json()
    item = finding(report, "imds.identity_document")
    assert item["outcome"] == "warn"
    assert "token PUT" in item["summary"] and "hop-limit symptom" in item["summary"]
    assert "fell back to IMDSv1" in item["summary"]


def test_hop_limit_symptom_when_tokens_required(imds_server: ImdsServer) -> None:
    imds_server.put_delay, imds_server.tokens = 1.5, "required"
    result = check(imds_server)
    report = result.json()
    item = finding(report, "imds.identity_document")
    assert item["outcome"] == "inconclusive"
    assert "(HTTP 401): the hop-limit symptom" in item["summary"]
    assert "run the doctor on the host, not in a container" in item["summary"]


def test_identity_document_blackholed(blackhole_port: int) -> None:
    url = f"http://127.0.0.1:{blackhole_port}/"
    result = run_cli(
        "check", "--root", ROOT, "--imds-endpoint", url, "-f", "json", env=doctor_env(**FAST)
    )
    report = result.json()
    assert result.returncode == 1
    assert finding(report, "imds.identity_document")["summary"] == (
        f"IMDS at {url} did not answer the token request within 0.5 s, nor a plain GET "
        "(no response within 0.5 s)."
    )
    assert finding(report, "imds.exclusion_tag")["outcome"] == "inconclusive"
    assert finding(report, "imds.exclusion_tag")["blocked_by"] == "imds.identity_document"


def test_identity_document_refused(refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/"
    args = ("check", "--root", ROOT, "--imds-endpoint", url)
    result = run_cli(*args, "-f", "json", env=doctor_env(**FAST))
    assert result.returncode == 1
    report = result.json()
    assert report["diagnoses"][0]["summary"] == (
        f"IMDS at {url} could not be reached for a token (connection refused)."
    )
    assert report["verdict"]["code"] == "identity_document_unavailable"
    assert report["diagnoses"][0]["confidence"] == "confirmed"
    assert report["host"]["instance_id"] is None and report["host"]["vpc_cidrs"] == []
    for blocked in ("imds.network", "imds.tags"):
        assert fact(report, blocked)["status"] == "error"
        assert fact(report, blocked)["reason"].startswith("needs imds.identity: IMDS at ")
    assert finding(report, "imds.exclusion_tag")["blocked_by"] == "imds.identity_document"
    assert_imds(
        result,
        run_cli(*args, env=doctor_env(**FAST)),
        {
            "outcomes": {"imds.identity_document": "fail", "imds.exclusion_tag": "inconclusive"},
            "summaries": {
                "imds.identity_document": [
                    "could not be reached for a token",
                    "connection refused",
                ],
                "imds.exclusion_tag": [
                    'the check "Instance identity document from IMDS", which failed'
                ],
            },
        },
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body>Proxy error</body></html>", "the response is HTML, not JSON"),
        (json.dumps({"accountId": "123456789012"}).encode()[:20], "the response is not valid JSON"),
        (b"", "the response body is empty"),
        (b"\xff\xfe\x00garbage", "the response is not UTF-8 text"),
        (b"[1, 2]", "the response is a JSON list, not an object"),
        (
            json.dumps(
                {"accountId": "1", "instanceId": "i-0123456789abcdef0", "region": "us-east-1"}
            ).encode(),
            "field accountId is missing or invalid ('1')",
        ),
    ],
)
def test_identity_document_malformed(imds_server: ImdsServer, body: bytes, expected: str) -> None:
    imds_server.overrides["/latest/dynamic/instance-identity/document"] = (200, body)
    report = check(imds_server).json()
    assert report["verdict"]["code"] == "identity_document_unavailable"
    assert expected in finding(report, "imds.identity_document")["summary"]


def test_identity_document_huge_body_is_bounded(imds_server: ImdsServer) -> None:
    imds_server.overrides["/latest/dynamic/instance-identity/document"] = (
        200,
        b"{" + b" " * 20_000_000,
    )
    result = check(imds_server)
    assert "exceeds 64 KiB" in finding(result.json(), "imds.identity_document")["summary"]


def test_identity_document_missing_404(imds_server: ImdsServer) -> None:
    imds_server.overrides["/latest/dynamic/instance-identity/document"] = (404, b"Not Found")
    report = check(imds_server).json()
    assert finding(report, "imds.identity_document")["summary"] == (
        "IMDS answered the identity document request with HTTP 404."
    )


def test_exclusion_tag_false(imds_server: ImdsServer) -> None:
    imds_server.tags = {"GuardDutyManaged": "false", "Name": "web"}
    result = check(imds_server)
    report = result.json()
    assert result.returncode == 1
    assert report["verdict"]["issue_type"] == "Agent Not Provisioned"
    assert report["verdict"]["issue_message"] == (
        "Instances with exclusion tags are excluded from Runtime Monitoring."
    )
    assert report["verdict"]["code"] == "exclusion_tag"
    assert report["diagnoses"][0]["confidence"] == "confirmed"
    assert_imds(
        result,
        check(imds_server, fmt="text"),
        {
            "outcomes": {"imds.identity_document": "pass", "imds.exclusion_tag": "fail"},
            "summaries": {
                "imds.identity_document": ["i-0123456789abcdef0", "read with IMDSv2"],
                "imds.exclusion_tag": ["GuardDutyManaged=false", "excludes it from Runtime"],
            },
        },
    )


@pytest.mark.parametrize(
    ("tags", "outcome", "summary"),
    [
        (
            None,
            "pass",
            "tags in instance metadata are off, so GuardDuty cannot read a "
            "GuardDutyManaged exclusion tag through IMDS either.",
        ),
        ({"Name": "web"}, "pass", "no GuardDutyManaged tag on the instance."),
        ({"GuardDutyManaged": "true"}, "pass", "GuardDutyManaged=true: an inclusion tag."),
        (
            {"GuardDutyManaged": "maybe"},
            "warn",
            "GuardDutyManaged='maybe' is neither true nor false; only false excludes.",
        ),
    ],
)
def test_exclusion_tag_other_values(
    imds_server: ImdsServer, tags: dict, outcome: str, summary: str
) -> None:
    imds_server.tags = tags
    item = finding(check(imds_server).json(), "imds.exclusion_tag")
    assert (item["outcome"], item["summary"]) == (outcome, summary)


def test_exclusion_tag_comes_before_kernel(imds_server: ImdsServer) -> None:
    imds_server.tags = {"GuardDutyManaged": "false"}
    result = run_cli(
        "check",
        "--root",
        str(ROOTS / "al2-4.14"),
        "--imds-endpoint",
        imds_server.url,
        "-f",
        "json",
        env=doctor_env(**FAST),
    )
    report = result.json()
    assert [d["code"] for d in report["diagnoses"]][:2] == ["exclusion_tag", "kernel_too_low"]
    assert report["verdict"]["code"] == "exclusion_tag"


def test_proxy_variables_never_used_for_imds(imds_server: ImdsServer, refused_port: int) -> None:
    dead = f"http://127.0.0.1:{refused_port}"
    proxies = {
        "HTTP_PROXY": dead,
        "http_proxy": dead,
        "HTTPS_PROXY": dead,
        "ALL_PROXY": dead,
        "NO_PROXY": "",
    }
    result = check(imds_server, env=proxies)
    assert finding(result.json(), "imds.identity_document")["outcome"] == "pass"


def test_imds_endpoint_from_environment(imds_server: ImdsServer) -> None:
    result = run_cli(
        "check",
        "--root",
        ROOT,
        "-f",
        "json",
        env=doctor_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds_server.url, **FAST),
    )
    assert finding(result.json(), "imds.identity_document")["outcome"] == "pass"
    assert imds_server.requests


def test_imds_disabled_is_inconclusive() -> None:
    result = run_cli(
        "check", "--root", ROOT, "-f", "json", env=doctor_env(AWS_EC2_METADATA_DISABLED="true")
    )
    report = result.json()
    assert report["verdict"]["code"] not in IMDS_CODES
    assert finding(report, "imds.identity_document")["summary"] == (
        "inconclusive, because the instance identity document cannot be observed here (IMDS "
        "access is disabled for this run by AWS_EC2_METADATA_DISABLED=true)"
    )


def test_deadline_is_honoured_with_blackholed_imds(blackhole_port: int) -> None:
    url = f"http://127.0.0.1:{blackhole_port}/"
    result = run_cli(
        "check",
        "--root",
        ROOT,
        "--imds-endpoint",
        url,
        "--deadline",
        "1.5",
        "-f",
        "json",
        env=doctor_env(AWS_METADATA_SERVICE_TIMEOUT="30"),
    )
    report = result.json()
    # Generous margin: the interpreter start and a loaded machine, not the probes.
    assert result.elapsed < 1.5 + 3.0
    # The deadline counts from when the doctor's first module loaded, so start-up and the run
    # together end within it; what remains after it is judging and rendering.
    assert report["timing"]["startup_ms"] + report["elapsed_ms"] < 1500 + 300
    assert finding(report, "imds.identity_document")["outcome"] == "inconclusive"
    fact = next(f for f in report["facts"] if f["id"] == "imds.identity")
    assert fact["status"] == "timeout"
    assert "imds.identity" in [i["id"] for i in report["incomplete"]]


@pytest.mark.parametrize(
    ("env", "endpoint", "expected"),
    [
        ({}, None, ("http://169.254.169.254/", False, False, 1.0, 1, "default")),
        (
            {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"},
            None,
            ("http://[fd00:ec2::254]/", False, False, 1.0, 1, "endpoint mode ipv6"),
        ),
        (
            {"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:8080"},
            None,
            ("http://127.0.0.1:8080/", False, False, 1.0, 1, "AWS_EC2_METADATA_SERVICE_ENDPOINT"),
        ),
        (
            {"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:8080/"},
            "http://127.0.0.2:9/",
            ("http://127.0.0.2:9/", False, False, 1.0, 1, "--imds-endpoint"),
        ),
        (
            {
                "AWS_EC2_METADATA_DISABLED": "TRUE",
                "AWS_EC2_METADATA_V1_DISABLED": "true",
                "AWS_METADATA_SERVICE_TIMEOUT": "2.5",
                "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3",
            },
            None,
            ("http://169.254.169.254/", True, True, 2.5, 3, "default"),
        ),
        (
            {"AWS_METADATA_SERVICE_TIMEOUT": "soon", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "99"},
            None,
            ("http://169.254.169.254/", False, False, 1.0, 5, "default"),
        ),
    ],
)
def test_parse_imds_config(env: dict, endpoint: str, expected: tuple) -> None:
    from amzn_gd_doctor.probes.imds_session import parse_imds_config

    c = parse_imds_config(env, endpoint)
    assert (c.base_url, c.disabled, c.v1_disabled, c.timeout, c.attempts, c.source) == expected


def test_token_server_error_is_reported_not_retried(imds_server: ImdsServer) -> None:
    imds_server.tokens, imds_server.token_status = "off", 500
    report = check(imds_server, env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3"}).json()
    # Attempts repeat calls that got no answer; an HTTP answer is the answer.
    assert [m for m, p, _ in imds_server.requests if p == "/latest/api/token"] == ["PUT"]
    assert finding(report, "imds.identity_document")["summary"] == (
        f"IMDS at {imds_server.url} answered the token request with HTTP 500."
    )
