"""The canary over evidence bundles: `collect` on fixtures/roots/canary-secrets and a live
`collect` against a loopback IMDS whose answers carry secrets leave none of them in any byte of
the bundle (compressed, or any member decompressed) nor on standard error; `check --from` of
such a bundle shows none in any format. With --pseudonymize the tree's and IMDS's instance id,
account id and private addresses are in no byte either, an id has one pseudonym throughout the
bundle, and the bundle replays with the verdict it was collected with. And the recording holds
only allow-listed calls (host/recorded.py ALLOWED_*), none refused today."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import tarfile
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from agent.conftest import copy_tree
from canary import SECRETS, TREE, assert_no_secret
from support import ImdsServer, doctor_env, run_cli

from amzn_gd_doctor.cli_app import CheckFormat
from amzn_gd_doctor.host import recorded

NO_DNS = ["--dns-server", "127.0.0.1:9"]
# What identifies the canary host, in the tree (SSM's state folder, the proxy, resolv.conf) and
# in the loopback IMDS's identity document.
IDENTIFYING = ["i-0123456789abcdef0", "0123456789abcdef0", "123456789012", "10.0.0.5", "10.0.1.23"]


def members(path: Path) -> Dict[str, bytes]:
    with tarfile.open(path) as tar:
        out = {}
        for info in tar.getmembers():
            stream = tar.extractfile(info)
            assert stream is not None
            out[info.name] = stream.read()
        return out


# A base64 run long enough to hide a PIECE of a secret: the bytes it decodes to are searched too.
_BASE64 = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}")


def layers(where: str, data: bytes, depth: int = 0) -> Iterator[Tuple[str, bytes]]:
    """``data`` and every layer inside it: gzip streams decompressed, base64 runs decoded, the
    strings of a JSON document unescaped, each searched again (to a bounded depth)."""
    yield where, data
    if depth >= 4:
        return
    if data[:2] == b"\x1f\x8b":
        yield from layers(f"{where} gunzipped", gzip.decompress(data), depth + 1)
        return
    for run in _BASE64.findall(data):
        try:
            decoded = base64.b64decode(run + b"=" * (-len(run) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        yield from layers(f"{where} base64", decoded, depth + 1)
    for line in data.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        for text in json_strings(document):
            yield from layers(
                f"{where} JSON string", text.encode("utf-8", "surrogatepass"), depth + 1
            )


def json_strings(document: object) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from json_strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from json_strings(value)


def assert_bundle_clean(path: Path, stderr: str, identifying: List[str] = ()) -> None:  # type: ignore[assignment]
    """Every byte of the bundle, compressed and in every layer: the tar.gz, the tar, each member
    and, inside a member, every gzip stream, base64 run and JSON string."""
    raw = path.read_bytes()
    everything = list(layers("bundle", raw))
    for name, data in members(path).items():
        everything += list(layers(name, data))
        if name == "manifest.json" or name.endswith(".json"):
            everything += list(layers(name, json.dumps(json.loads(data)).encode()))
    everything.append(("stderr", stderr.encode()))
    # One search over all the layers joined (thousands of them), then, on a find, each layer
    # alone to say where.
    joined = b"\x00".join(data for _, data in everything)
    try:
        assert_no_secret(joined)
        assert not [name for name in identifying if name.encode() in joined]
    except AssertionError:
        for where, data in everything:
            assert_no_secret(data, where=where)
            for name in identifying:
                assert name.encode() not in data, (where, name)
        raise


def plant_imds_secrets(imds: ImdsServer) -> None:
    """Secrets where IMDS text could hold them: the identity document, tags, user metadata."""
    imds.identity = dict(imds.identity, devpayProductCodes=[f"password={SECRETS['password']}"])
    imds.tags = {"Owner": f"token={SECRETS['token']}", "Key": SECRETS["aws-access-key-id"]}
    imds.overrides["/latest/meta-data/hostname"] = (
        200,
        f"ip-10-0-1-23 Authorization: Bearer {SECRETS['bearer-token']}".encode(),
    )


def replay_everywhere(bundle: Path, identifying: List[str]) -> Dict[str, str]:
    """Every format of `check --from bundle`, checked for secrets; the JSON one returned."""
    out = {}
    for args in [[f"--format={fmt.value}"] for fmt in CheckFormat] + [["-v"]]:
        result = run_cli("check", "--from", str(bundle), *args, env=doctor_env())
        assert result.returncode in (0, 1, 3), result.stderr
        assert result.stdout.strip()
        for data in (result.stdout.encode(), result.stderr.encode()):
            assert_no_secret(data, where=f"check --from {' '.join(args)}")
            for name in identifying:
                assert name.encode() not in data, (args, name)
        out[" ".join(args)] = result.stdout
    return out


def verdicts(report: Dict) -> Dict[str, str]:  # type: ignore[type-arg]
    return {c["id"]: c["outcome"] for c in report["checks"]}


@pytest.mark.parametrize("pseudonymize", [False, True], ids=["plain", "pseudonymized"])
def test_rooted_bundle_holds_no_secret(tmp_path: Path, pseudonymize: bool) -> None:
    root = copy_tree(tmp_path, TREE.name)
    out = tmp_path / "canary.tar.gz"
    flags = ["--pseudonymize"] if pseudonymize else []
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    result = run_cli("collect", *flags, "-o", str(out), "--root", str(root), *NO_DNS, env=env)
    assert result.returncode in (0, 1, 3), result.stderr
    identifying = IDENTIFYING if pseudonymize else []
    assert_bundle_clean(out, result.stderr, identifying)
    files = members(out)
    assert json.loads(files["manifest.json"])["refused"] == 0
    collected = json.loads(files["report.json"])
    replayed = json.loads(replay_everywhere(out, identifying)["--format=json"])
    assert replayed["verdict"] == collected["verdict"]
    assert verdicts(replayed) == verdicts(collected)


@pytest.mark.parametrize("pseudonymize", [False, True], ids=["plain", "pseudonymized"])
def test_live_bundle_holds_no_secret(
    imds_server: ImdsServer, tmp_path: Path, pseudonymize: bool
) -> None:
    """A live collect (this machine's files, a loopback IMDS): no IMDS-borne secret, no token
    the IMDS issued, and no signature or credentials request."""
    plant_imds_secrets(imds_server)
    out = tmp_path / "live.tar.gz"
    flags = ["--pseudonymize"] if pseudonymize else []
    result = run_cli(
        "collect",
        *flags,
        "-o",
        str(out),
        "--imds-endpoint",
        imds_server.url,
        *NO_DNS,
        env=doctor_env(),
    )
    assert result.returncode in (0, 1, 3), result.stderr
    assert imds_server.issued, result.stderr
    identifying = ["i-0123456789abcdef0", "123456789012", "10.0.1.23"] if pseudonymize else []
    assert_bundle_clean(out, result.stderr, identifying)
    everything = gzip.decompress(out.read_bytes())
    for token in imds_server.issued:
        assert token.encode() not in everything
    paths = [path for _, path, _ in imds_server.requests]
    assert [p for p in paths if re.search("signature|pkcs7|rsa2048|credentials", p)] == []
    files = members(out)
    report = json.loads(files["report.json"])
    observations = [json.loads(line) for line in files["observations.jsonl"].splitlines()]
    identity = [
        o
        for o in observations
        if o["method"] == "http" and o["args"]["url"].endswith("instance-identity/document")
    ]
    assert identity
    if pseudonymize:
        # The same pseudonym for the instance in the recorded document and in the report.
        shown = report["host"]["instance_id"]
        assert re.fullmatch("i-[0-9a-f]{17}", shown) and shown != "i-0123456789abcdef0"
        assert all(shown in json.dumps(o["result"]) for o in identity)
    # Every format of the replay holds no secret either. That a live bundle replays to the same
    # verdict is tests/test_replay.py's (test_live_run_with_imds_and_dns_replays).
    replay_everywhere(out, identifying)


def recorded_calls(path: Path) -> List[Dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in members(path)["observations.jsonl"].splitlines()]


def test_only_allow_listed_calls_are_recorded(imds_server: ImdsServer, tmp_path: Path) -> None:
    """Every method, path, command and URL a live and a rooted recording hold is on the
    explicit allow-list, and nothing was refused: a probe reading something new fails here until
    the allow-list names it."""
    live, rooted = tmp_path / "live.tar.gz", tmp_path / "rooted.tar.gz"
    run_cli(
        "collect", "-o", str(live), "--imds-endpoint", imds_server.url, *NO_DNS, env=doctor_env()
    )
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    run_cli("collect", "-o", str(rooted), "--root", str(TREE), *NO_DNS, env=env)
    seen = set()
    for bundle in (live, rooted):
        assert json.loads(members(bundle)["manifest.json"])["refused"] == 0
        for entry in recorded_calls(bundle):
            args = {k: recorded.decode(v) for k, v in entry["args"].items()}
            assert recorded.refusal(entry["method"], args) is None, entry
            seen.add(entry["method"])
    assert {"read_bytes", "exists", "run", "http", "find_processes"} <= seen


@pytest.mark.parametrize(
    "method, args",
    [
        ("read_bytes", {"path": "/etc/shadow"}),
        ("read_bytes", {"path": "/var/lib/amazon/ssm/Vault/Store/RegistrationKey"}),
        ("list_dir", {"path": "/root/.aws"}),
        ("exists", {"path": "/etc/systemd/system/../../shadow"}),
        ("run", {"argv": ("cat", "/etc/shadow")}),
        ("run", {"argv": ("systemctl", "restart", "amazon-guardduty-agent")}),
        ("http", {"url": "http://169.254.169.254/latest/user-data"}),
        ("http", {"url": "http://169.254.169.254/latest/meta-data/iam/security-credentials/r"}),
        ("http", {"url": "http://169.254.169.254/latest/dynamic/instance-identity/pkcs7"}),
        ("http", {"url": "http://169.254.169.254/latest/dynamic/instance-identity/signature"}),
        ("unknown_method", {}),
    ],
)
def test_the_allow_list_refuses(method: str, args: Dict) -> None:  # type: ignore[type-arg]
    assert recorded.refusal(method, args) is not None


def test_a_refused_call_is_not_recorded_and_is_counted() -> None:
    """RecordingHost over a host that must never be asked (a stand-in, since a refused call
    never reaches any host)."""

    class Untouchable:
        def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
            raise AssertionError("asked")

    from amzn_gd_doctor.host import CouldNotLook, LiveHost

    inner = LiveHost(env={})
    inner.files = Untouchable()  # type: ignore[assignment]
    host = recorded.RecordingHost(inner)
    with pytest.raises(CouldNotLook, match="^/etc/shadow is not on the recording's allow-list$"):
        host.read_bytes("/etc/shadow", 100)
    assert host.refused == {"read_bytes": 1}
    assert host.observations == []


def test_proxy_passwords_holding_at_or_slash_are_masked_wherever_proxies_are_read() -> None:
    """One list of proxy variables and one masker (redact.py) for a process's environ, a unit's
    Environment= and a recording's environment: a password may hold @ or /, and Go's URL
    parser ends it at the last @."""
    from amzn_gd_doctor.facts.agent import AgentUnit, Systemd
    from amzn_gd_doctor.host.processes import parse_proxy_environ

    secret = "c4nary/P@ss"
    url = f"http://proxyuser:{secret}@10.0.0.5:3128"
    environ = f"PATH=/bin\0HTTPS_PROXY={url}\0no_proxy=169.254.169.254\0".encode()
    masked = {"HTTPS_PROXY": "http://***@10.0.0.5:3128", "no_proxy": "169.254.169.254"}
    assert parse_proxy_environ(environ) == masked
    unit = AgentUnit(
        Systemd.RUNNING, environment={"HTTPS_PROXY": url, "no_proxy": masked["no_proxy"]}
    )
    assert unit.proxy_env == masked
    kept = recorded.allowed_env({"HTTPS_PROXY": url, "HOME": "/root", "SSL_CERT_DIR": "/etc/ssl"})
    assert kept == {"HTTPS_PROXY": masked["HTTPS_PROXY"], "SSL_CERT_DIR": "/etc/ssl"}
    assert all("P@ss" not in v and "c4nary" not in v for v in kept.values())
    # A unit file or a log line, recorded as text: masked up to the last @ as well.
    clean = recorded.cleaner()
    assert clean(f"Environment=HTTPS_PROXY={url}\n") == (
        "Environment=HTTPS_PROXY=http://proxyuser:[REDACTED:url-password]@10.0.0.5:3128\n"
    )
    assert clean("proxyconnect tcp: http://u:p@ss@h:1: dial") == (
        "proxyconnect tcp: http://u:[REDACTED:url-password]@h:1: dial"
    )


def test_a_pseudonymized_bundle_is_not_named_after_the_host(tmp_path: Path) -> None:
    """Without -o and with no instance id known, the default name holds the host name; with
    --pseudonymize it holds "host" instead (evidence.collect)."""
    import socket
    import subprocess
    import sys

    root = copy_tree(tmp_path, TREE.name)
    folder = tmp_path / "out"
    folder.mkdir()
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    argv = [sys.executable, "-m", "amzn_gd_doctor", "collect", "--pseudonymize"]
    result = subprocess.run(
        [*argv, "--root", str(root), *NO_DNS],
        cwd=str(folder),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1, 3), result.stderr
    (written,) = [p.name for p in folder.iterdir()]
    assert re.fullmatch(r"amzn-gd-doctor-host-\d{8}T\d{6}Z\.tar\.gz", written), written
    if socket.gethostname() != "host":
        assert socket.gethostname() not in written
