"""redact.mask per kind of secret (what is masked and what is left alone), the catalogue's own
examples for every kind (redact_kinds.py), each kind caught alone and through both paths of
``mask``, idempotence, bytes, linear time on hostile text, the fixtures left unchanged, the docs
listing every kind, and the Pseudonymizer."""

from __future__ import annotations

import ipaddress
import re
import time
from pathlib import Path

import pytest
from support import FIXTURES

from amzn_gd_doctor import redact, redact_kinds
from amzn_gd_doctor.model import Finding, HostSummary, Outcome, Report
from amzn_gd_doctor.redact import Pseudonymizer, mask, mask_bytes, scrub

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION = "IQoJb3JpZ2luX2VjEHYaCXVzLWVhc3QtMSJGMEQCIFakeSessionTokenBodyxyzXYZ0123456789=="
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
RSA = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n"
    "7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLc\n"
    "-----END RSA PRIVATE KEY-----"
)

# (text, what mask must make of it)
MASKED = [
    ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]"),
    ("key ASIAY34FZKBOKMUTVV7A in use", "key [REDACTED:aws-access-key-id] in use"),
    (f"AWS_SECRET_ACCESS_KEY={SECRET_KEY}", "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]"),
    (f"aws_secret_access_key = {SECRET_KEY}", "aws_secret_access_key = [REDACTED:aws-secret-key]"),
    (f'{{"SecretAccessKey": "{SECRET_KEY}"}}', '{"SecretAccessKey": "[REDACTED:aws-secret-key]"}'),
    (f"AWS_SESSION_TOKEN={SESSION}", "AWS_SESSION_TOKEN=[REDACTED:aws-session-token]"),
    (f"token in a message {SESSION} here", "token in a message [REDACTED:aws-session-token] here"),
    (f'"Token" : "{SESSION}"', '"Token" : "[REDACTED:aws-session-token]"'),
    ("https://bob:pa55w0rd@example.com/x", "https://bob:[REDACTED:url-password]@example.com/x"),
    (
        "HTTPS_PROXY=http://proxyuser:s3cret@10.0.0.5:3128",
        "HTTPS_PROXY=http://proxyuser:[REDACTED:url-password]@10.0.0.5:3128",
    ),
    ("password=hunter2", "password=[REDACTED:password]"),
    ("DB_PASSWORD='hunter two'", "DB_PASSWORD='[REDACTED:password]'"),
    ('export MYSQL_PWD_PASSWORD="x y z"', 'export MYSQL_PWD_PASSWORD="[REDACTED:password]"'),
    ("passwd: s3cr3t", "passwd: [REDACTED:password]"),
    ('{"password": "p@ss w0rd"}', '{"password": "[REDACTED:password]"}'),
    ("client_secret=abcdef123456", "client_secret=[REDACTED:secret]"),
    ("Environment=API_TOKEN=abc123xyz", "Environment=API_TOKEN=[REDACTED:token]"),
    ('Environment="API_KEY=abc123xyz"', 'Environment="API_KEY=[REDACTED:key]"'),
    ("activation-code=Ab12Cd34Ef56", "activation-code=[REDACTED:key]"),
    (
        "X-aws-ec2-metadata-token: AQAEAFakeT0ken==",
        "X-aws-ec2-metadata-token: [REDACTED:imds-token]",
    ),
    ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [REDACTED:authorization]"),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED:authorization]"),
    (
        "Proxy-Authorization: Basic dXNlcjpwYXNz",
        "Proxy-Authorization: Basic [REDACTED:authorization]",
    ),
    ("sent Bearer abcdefgh12345678 upstream", "sent Bearer [REDACTED:bearer-token] upstream"),
    (f"id_token {JWT} end", "id_token [REDACTED:jwt] end"),
    ("gh token ghp_" + "a1B2" * 9 + " used", "gh token [REDACTED:github-token] used"),
    ("slack xoxb-1234567890-abcdefghij", "slack [REDACTED:slack-token]"),
    # github_pat_ alone, with no other "gh" in the string (a needle once skipped it).
    ("github_pat_11ABCDEFG0123456789_abcdefghij", "[REDACTED:github-pat]"),
    # One marker a line of the block: a masked log keeps its line count.
    (RSA + "\nnext line", "[REDACTED:private-key]\n" * 4 + "next line"),
    (
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
        "\\n-----END PRIVATE KEY-----\\n",
        "[REDACTED:private-key]\\n",
    ),
    (
        "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB12\n\n"
        "MHcCAQEEIBv\n-----END EC PRIVATE KEY-----",
        # The blank line after the armour headers stays blank, as in the log.
        "\n".join(["[REDACTED:private-key]"] * 3 + [""] + ["[REDACTED:private-key]"] * 2),
    ),
    (
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAbBgkqhkiG9w0BBQwwDgQI",
        "[REDACTED:private-key]\n[REDACTED:private-key]",
    ),
    (
        "x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
        "x [REDACTED:private-key]\n[REDACTED:private-key]",
    ),
    # JSON inside a JSON string, as an SSM state document holds its parameters.
    (
        r'"{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}"',
        r'"{\"SecretAccessKey\": \"[REDACTED:aws-secret-key]\"}"',
    ),
]

# What the doctor shows every day, and must show unchanged.
UNCHANGED = [
    "arn:aws:iam::123456789012:role/GuardDutyAgentRole",
    "i-0123456789abcdef0 in us-east-1a",
    "kernel 5.10.228-219.884.amzn2.x86_64",
    "Environment=GOMAXPROCS=2",
    "ExecStart=/opt/aws/amazon-guardduty-agent/bin/amazon-guardduty-agent --region us-east-1",
    "2024-11-04 09:08:13 ERROR EC2RoleProvider error calling RequestManagedInstanceRoleToken: "
    "AccessDeniedException: denied",
    'caused by: Put "http://169.254.169.254/latest/api/token": dial tcp 169.254.169.254:80',
    "TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token "
    "-H 'X-aws-ec2-metadata-token-ttl-seconds: 21600')",
    'curl -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/',
    "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/token",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit 356a192b7913b04c54574d18c28d46e6395428ab",
    "password: required",
    "no valid credentials could be retrieved for ec2 identity",
    "https://guardduty-data.us-east-1.amazonaws.com:443/",
    "http://10.0.0.5:3128",
]


@pytest.mark.parametrize(("text", "expected"), MASKED, ids=[e for _, e in MASKED])
def test_mask_masks_each_kind(text: str, expected: str) -> None:
    assert mask(text) == expected
    assert mask(expected) == expected  # idempotent


@pytest.mark.parametrize("text", UNCHANGED)
def test_mask_leaves_what_holds_no_secret(text: str) -> None:
    assert mask(text) == text


def test_mask_is_idempotent_on_everything_at_once() -> None:
    text = "\n".join(t for t, _ in MASKED)
    once = mask(text)
    assert mask(once) == once
    assert "hunter2" not in once and SECRET_KEY not in once and "MIIEpAIBAAKCAQEA" not in once


def test_mask_bytes_keeps_undecodable_bytes_around_a_secret() -> None:
    data = b"\xff\xfe garbage \x80 password=hunter2 \xc3(\x00end"
    assert mask_bytes(data) == b"\xff\xfe garbage \x80 password=[REDACTED:password] \xc3(\x00end"
    clean = b"\xff\x00\x80 nothing secret here \xe2\x82"
    assert mask_bytes(clean) is clean


KINDS = redact_kinds.ALL_KINDS
POSITIVES = [(k, text, masked) for k in KINDS for text, masked in k.positives]
NEGATIVES = [(k, text) for k in KINDS for text in k.negatives]


def test_the_catalogue_has_fifty_named_kinds_each_with_examples() -> None:
    names = [k.name for k in KINDS]
    assert len(names) == len(set(names)) >= 50
    for kind in KINDS:
        assert re.fullmatch("[a-z0-9-]+", kind.name) and re.fullmatch("[a-z0-9-]+", kind.label)
        assert kind.positives, kind.name
        assert kind.summary
        for _, masked in kind.positives:
            assert redact_kinds.marker(kind.label) in masked, (kind.name, masked)


@pytest.mark.parametrize(
    ("kind", "text", "masked"), POSITIVES, ids=[f"{k.name}:{t[:30]}" for k, t, _ in POSITIVES]
)
def test_every_kind_masks_its_examples(kind: redact_kinds.Kind, text: str, masked: str) -> None:
    """The secret goes, its label stays, and the marker names the kind; each example is alone
    in its string, with no other kind to hint at it, and masks the same on the short path (the
    union of all kinds tried first) as on the long one (each kind run on a long text)."""
    assert mask(text) == masked
    assert mask(masked) == masked
    padding = "clean log line 2024-11-04 09:08:13 INFO nothing here\n" * 100
    assert len(padding) > redact.UNION_MAX
    assert mask(padding + text) == padding + masked
    if kind.regex is not None:
        assert redact._ANY_KIND.search(text), kind.name  # the union cannot skip a kind


@pytest.mark.parametrize(
    ("kind", "text"), NEGATIVES, ids=[f"{k.name}:{t[:30]}" for k, t in NEGATIVES]
)
def test_every_kind_leaves_its_negative_examples(kind: redact_kinds.Kind, text: str) -> None:
    assert mask(text) == text


def test_docs_list_every_kind() -> None:
    """docs/redaction.md's table of kinds is the catalogue's: ``python tests/test_redact.py``
    rewrites it."""
    docs = (Path(redact.__file__).parent.parent / "docs/redaction.md").read_text()
    assert kinds_table() in docs


def kinds_table() -> str:
    rows = ["| kind | marker | what |", "| --- | --- | --- |"]
    for kind in KINDS:
        what = kind.summary.replace("|", "\\|")
        rows.append(f"| `{kind.name}` | `[REDACTED:{kind.label}]` | {what} |")
    return "\n".join(rows) + "\n"


HOSTILE = [
    "a-" * 1_500_000,
    "Authorization: Basic " * 150_000,
    "cookie: " * 300_000,
    "-----BEGIN RSA PRIVATE KEY-----\n" + "# AAAA\n" * 300_000,
    "https://u:" + "p@" * 1_000_000,
    "AKIAIOSFOD\n" * 300_000,
    "aws configure set " * 150_000,
    "curl -u a:" * 200_000,
    "machine h password " * 150_000,
    "password" * 400_000,
    "a://" * 800_000,
    "-----BEGIN RSA PRIVATE KEY-----" * 100_000,
    "Authorization: " * 200_000,
    "eyJaaaaa." * 350_000,
    "AKIA" * 800_000,
    "1.2.3." * 500_000,
    ("x" * 5000 + ":") * 600,
    "token=" + "a" * 3_000_000,
]


def _seconds(text: str) -> float:
    """CPU seconds, which a loaded machine disturbs far less than wall-clock time."""
    began = time.process_time()
    mask(text)
    return time.process_time() - began


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:12]))
def test_mask_is_linear_on_hostile_text(text: str) -> None:
    """Eight times the text costs about eight times the time, not 64 times (quadratic) or
    more (backtracking), and 3 MB stays within a generous bound for a loaded machine."""
    eighth = text[: len(text) // 8]
    small, big = min(_seconds(eighth) for _ in range(3)), _seconds(text)
    assert big < 24 * small + 1.0, (small, big)
    assert big < 30.0
    out = mask(text)
    assert mask(out) == out


def test_fixture_files_are_unchanged_except_planted_secrets() -> None:
    """Every captured file under fixtures/ (logs, journals, unit files, environments, goldens)
    passes through mask unchanged, except the proxy passwords planted on purpose and the canary
    tree, which is all secrets."""
    changed = {}
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.is_symlink() or "canary" in str(path):
            continue
        data = path.read_bytes()
        masked = mask_bytes(data)
        if masked != data:
            changed[str(path.relative_to(FIXTURES))] = sorted(
                set(re.findall(rb"\[REDACTED:[a-z0-9-]+\]", masked))
            )
    assert changed == {
        "agent/systemctl/auto-restart.txt": [b"[REDACTED:url-password]"],
        "roots/agent-memlock/proc/2540/environ": [b"[REDACTED:url-password]"],
    }


def test_pseudonymizer_is_consistent_and_keeps_shapes() -> None:
    p = Pseudonymizer(salt=b"fixed")
    text = (
        "arn:aws:iam::123456789012:role/R i-0123456789abcdef0 at 10.0.1.23 and 52.94.0.1, "
        "account 123456789012 owns i-0123456789abcdef0; mi-0123456789abcdef1 i-1234abcd "
        "2600:1f18:1:2::5 next to 127.0.0.1 169.254.169.254 fd00:ec2::254 ::1 10:00:00"
    )
    out = p.pseudonymize(text)
    assert p.pseudonymize(text) == out
    for original in ("123456789012", "0123456789abcdef0", "10.0.1.23", "52.94.0.1", "1234abcd"):
        assert original not in out
    for kept in ("127.0.0.1", "169.254.169.254", "fd00:ec2::254", "::1", "10:00:00"):
        assert kept in out
    accounts = re.findall(r"\d{12}", out)
    assert len(accounts) == 2 and accounts[0] == accounts[1]
    instances = re.findall(r"\bm?i-[0-9a-f]+\b", out)
    assert [len(i) for i in instances] == [19, 19, 20, 10]
    assert instances[0] == instances[1] != instances[2][1:]
    private, public = re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", out)[:2]
    assert ipaddress.ip_address(private) in ipaddress.ip_network("10.0.0.0/8")
    assert ipaddress.ip_address(public) in ipaddress.ip_network("198.18.0.0/15")
    six = next(w for w in out.split() if w.startswith("2001:db8:"))
    assert ipaddress.ip_address(six) in ipaddress.ip_network("2001:db8::/32")
    assert p.pseudonymize("123456789012") == accounts[0]  # a bare account id, as in the header


def test_pseudonymizer_reads_escaped_json_and_ec2_host_names() -> None:
    """An SSM state file keeps a plugin's output as JSON inside a JSON string; EC2 host names
    spell the address with dashes: each gets the pseudonym the plain form gets."""
    p = Pseudonymizer(salt=b"fixed")
    account = p.account("123456789012")
    escaped = r'"Output": "{\"accountId\": \"123456789012\"}"'
    assert p.pseudonymize(escaped) == escaped.replace("123456789012", account)
    twice = r"{\\\"accountId\\\": \\\"123456789012\\\"}"
    assert "123456789012" not in p.pseudonymize(twice)
    dotted = p.pseudonymize("10.42.3.17").replace(".", "-")
    assert p.pseudonymize("ip-10-42-3-17.ec2.internal") == f"ip-{dotted}.ec2.internal"
    public = p.pseudonymize("198.51.100.7").replace(".", "-")
    assert p.pseudonymize("ec2-198-51-100-7.compute-1.amazonaws.com") == (
        f"ec2-{public}.compute-1.amazonaws.com"
    )
    assert p.pseudonymize("ip-169-254-169-254") == "ip-169-254-169-254"  # names no one
    assert p.pseudonymize("build-10-42-3-17") == "build-10-42-3-17"


def test_pseudonymizer_different_inputs_get_different_pseudonyms() -> None:
    p = Pseudonymizer()
    addresses = [f"10.0.{i // 256}.{i % 256}" for i in range(3000)]
    mapped = [p.ipv4(a) for a in addresses]
    assert len(set(mapped)) == len(addresses)
    ids = [f"i-{n:017x}" for n in range(2000)]
    assert len({p.pseudonymize(i) for i in ids}) == len(ids)


def test_pseudonymizer_salt_differs_per_run() -> None:
    assert Pseudonymizer().pseudonymize("i-0123456789abcdef0") != Pseudonymizer().pseudonymize(
        "i-0123456789abcdef0"
    )


def test_scrub_walks_value_classes_and_keeps_what_is_clean() -> None:
    clean = Finding("a.b", "t", "agent", Outcome.PASS, "fine", evidence=("nothing",))
    assert scrub(clean) is clean
    dirty = Finding("a.b", "t", "agent", Outcome.FAIL, "x", evidence=("password=hunter2",))
    assert scrub(dirty).evidence == ("password=[REDACTED:password]",)
    assert scrub(dirty).outcome is Outcome.FAIL
    host = HostSummary(instance_id="i-0123456789abcdef0", account_id="123456789012")
    p = Pseudonymizer(salt=b"s")
    out = scrub(host, p)
    assert out.instance_id == p.pseudonymize("i-0123456789abcdef0") != host.instance_id
    assert out.account_id == p.account("123456789012") != host.account_id


def test_redact_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import amzn_gd_doctor.redact; "
        "print(sorted(m for m in ('hashlib', 'hmac', 'ipaddress', 'typer') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(redact.__file__).parent.parent,
    ).stdout
    assert out.strip() == "[]"


class _ToyHost:
    root = None
    env: dict = {}
    deadline = None


def _report_with_secrets(pseudonymize: bool = False) -> Report:
    """doctor.run with a toy probe whose value, and a rule whose summary and evidence, hold
    secrets and host names: what every renderer is then given."""
    from amzn_gd_doctor import doctor
    from amzn_gd_doctor.model import failed
    from amzn_gd_doctor.registry import ProbeSpec, RuleSpec

    def read(ctx: object) -> dict:
        return {"environ": "AWS_SECRET_ACCESS_KEY=" + SECRET_KEY, "ip": "10.0.1.23"}

    def judge(toy_read: dict) -> object:
        return failed(
            "kernel_too_low",
            "agent environment has " + toy_read["environ"],
            evidence=("HTTPS_PROXY=http://u:hunter22@10.0.1.23:3128", "on i-0123456789abcdef0"),
        )

    return doctor.run(
        _ToyHost(),  # type: ignore[arg-type]
        doctor.Options(deadline=5.0, pseudonymize=pseudonymize),
        {"toy.read": ProbeSpec("toy.read", read, (), 5.0)},
        {
            "toy.judge": RuleSpec(
                "toy.judge", judge, "t", ("toy.read",), (), (), ("kernel_too_low",)
            )
        },
        summarize=lambda facts, options: HostSummary(
            instance_id="i-0123456789abcdef0", account_id="123456789012"
        ),
    )


def test_the_engine_masks_the_report_once_for_every_renderer() -> None:
    from amzn_gd_doctor.render import json as render_json
    from amzn_gd_doctor.render import text as render_text

    report = _report_with_secrets()
    finding = report.findings[0]
    assert finding.outcome is Outcome.FAIL
    assert (
        finding.summary == "agent environment has AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]"
    )
    assert finding.evidence[0] == "HTTPS_PROXY=http://u:[REDACTED:url-password]@10.0.1.23:3128"
    assert report.facts[0].value["environ"] == "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]"
    for out in (
        render_json.render(report),
        render_text.render(report, verbose=True),
        render_text.summary_line(report),
    ):
        assert SECRET_KEY not in out and "hunter22" not in out
    assert "i-0123456789abcdef0" in render_text.render(report, verbose=True)


def test_pseudonymize_option_replaces_names_across_the_report() -> None:
    from amzn_gd_doctor.render import text as render_text

    report = _report_with_secrets(pseudonymize=True)
    out = render_text.render(report, verbose=True)
    for name in ("i-0123456789abcdef0", "123456789012", "10.0.1.23"):
        assert name not in out
    instance = report.host.instance_id
    assert re.fullmatch(r"i-[0-9a-f]{17}", instance or "")
    assert f"on {instance}" in report.findings[0].evidence[1]  # the same pseudonym everywhere
    assert report.facts[0].value["ip"] in report.findings[0].evidence[0]


def test_scrub_masks_a_bare_secret_in_a_secret_field() -> None:
    from amzn_gd_doctor.facts.imds import ImdsSession

    session = ImdsSession(None, "AQAEAFakeImdsToken==")  # type: ignore[arg-type]
    scrubbed = scrub(session)
    assert scrubbed.token == "[REDACTED:token]"
    assert scrubbed.version == "IMDSv2"


if __name__ == "__main__":
    import sys

    path = Path(redact.__file__).parent.parent / "docs/redaction.md"
    text = path.read_text()
    begin, end = "<!-- kinds: begin -->\n", "<!-- kinds: end -->"
    head, rest = text.split(begin)
    path.write_text(head + begin + kinds_table() + end + rest.split(end, 1)[1])
    sys.stdout.write(f"wrote {path}\n")
