"""The S3 source against moto's S3 server on loopback (a real HTTP server speaking the S3 API;
AWS itself cannot be reached from a test). botocore finds it through AWS_ENDPOINT_URL, as an
operator's would; credentials are fake ones in the environment, IMDS lookups are disabled.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (the fleet/test extras)")
moto_server = pytest.importorskip(
    "moto.server", reason="moto[server] is not installed (the test extra, Python >= 3.10)"
)

from support import doctor_env, run_cli  # noqa: E402

from amzn_gd_doctor.fleet import s3  # noqa: E402
from amzn_gd_doctor.fleet.source import OUTPUT_LIMIT, Output, layout_parts  # noqa: E402

BUCKET = "fleet-runs"
REGION = "eu-west-3"  # not the client's configured region: iter_s3 must find it
PREFIX = "gd-doctor/2026-12"
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _tree() -> dict[str, bytes]:
    """Run Command's output layout for 150 instances, plus keys a summary must skip (stderr of
    1000 more runs among them), more than one ListObjectsV2 page (1000 keys) in all."""
    files: dict[str, bytes] = {}
    for n in range(1150):
        base = f"{PREFIX}/cmd-{n % 3}/i-{n:017x}/awsrunShellScript/0.awsrunShellScript"
        files[f"{base}/stderr"] = b"warning\n"
        if n % 8 == 0 or n > 1100:
            files[f"{base}/stdout"] = f"Coverage: HEALTHY instance {n}\n".encode()
    files[f"{PREFIX}/cmd-0/i-big/awsrunShellScript/0.awsrunShellScript/stdout"] = b"x" * (
        OUTPUT_LIMIT + 100
    )
    files[f"{PREFIX}/cmd-0/i-empty/awsrunShellScript/0.awsrunShellScript/stdout"] = b""
    files[f"{PREFIX}/cmd-0/i-odd/awsrunPowerShellScript/0.step/stdout"] = b"not ours"
    files[f"{PREFIX}/cmd-0/i-odd/stdout"] = b"too short"
    files[f"{PREFIX}/README.txt"] = b"junk"
    files[f"{PREFIX}-old/cmd-9/i-old/awsrunShellScript/0.step/stdout"] = b"other prefix"
    return files


def _key(o: Output) -> tuple:
    return (o.command_id, o.instance_id, o.step, o.data, o.truncated)


def _walk(root: Path) -> list[Output]:
    """What reading the same tree from a folder gives: every layout ``stdout``, bounded."""
    outputs = []
    for path in sorted(root.rglob("stdout")):
        parts = layout_parts(path.relative_to(root).parts)
        if parts is None:
            continue
        data = path.read_bytes()
        outputs.append(
            Output(parts[1], parts[0], parts[2], data[:OUTPUT_LIMIT], len(data) > OUTPUT_LIMIT)
        )
    return outputs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(
        ip_address="127.0.0.1", port=_free_port(), verbose=False
    )
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    # The objects go into moto's store directly: over HTTP its server takes about 20 ms an
    # object. Everything iter_s3 does still goes over HTTP; one object is put that way too.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    store = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    tree = _tree()
    big = f"{PREFIX}/cmd-0/i-big/awsrunShellScript/0.awsrunShellScript/stdout"
    client.put_object(Bucket=BUCKET, Key=big, Body=tree.pop(big))
    for key, data in tree.items():
        store.put_object(BUCKET, key, data)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment where botocore finds only what the test sets: no profile, no shared
    files, no IMDS, no container credentials; us-east-1 as the configured region."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return monkeypatch


@pytest.fixture
def moto_env(aws_env: pytest.MonkeyPatch, endpoint: str) -> str:
    for name, val in FAKE_KEYS.items():
        aws_env.setenv(name, val)
    aws_env.setenv("AWS_ENDPOINT_URL", endpoint)
    return endpoint


def test_s3_gives_the_same_outputs_as_the_folder(moto_env: str, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for key, data in _tree().items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    # More keys than one ListObjectsV2 page holds: the listing has to paginate.
    first = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)
    assert first["IsTruncated"] is True and first["KeyCount"] == 1000

    got = list(s3.iter_s3(f"s3://{BUCKET}/{PREFIX}"))

    expected = _walk(root / PREFIX)
    assert len(got) == len(expected) == 189
    assert [_key(o) for o in got] == [_key(o) for o in expected]
    big = next(o for o in got if o.instance_id == "i-big")
    assert big.truncated and len(big.data) == OUTPUT_LIMIT
    first_key = f"{PREFIX}/cmd-0/i-{0:017x}/awsrunShellScript/0.awsrunShellScript/stdout"
    assert got[0].location == f"s3://{BUCKET}/{first_key}"


def test_prefix_is_a_folder_not_a_string_prefix(moto_env: str) -> None:
    got = list(s3.iter_s3(f"s3://{BUCKET}/{PREFIX}-old/"))
    assert [(o.instance_id, o.data) for o in got] == [("i-old", b"other prefix")]


def test_the_bucket_region_is_found_from_another_region(moto_env: str) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    assert s3.bucket_region(client, BUCKET) == REGION


def test_endpoint_for_s3_only_is_honoured(aws_env: pytest.MonkeyPatch, endpoint: str) -> None:
    for name, val in FAKE_KEYS.items():
        aws_env.setenv(name, val)
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # every other service
    aws_env.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    assert len(list(s3.iter_s3(f"s3://{BUCKET}/{PREFIX}-old"))) == 1


def test_no_such_bucket(moto_env: str) -> None:
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3("s3://no-such-fleet-bucket/x"))
    assert str(error.value) == "no such bucket: no-such-fleet-bucket (NoSuchBucket)"


def test_empty_prefix_says_which_layout_was_expected(moto_env: str) -> None:
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3(f"s3://{BUCKET}/nothing-here"))
    assert str(error.value) == (
        f"no Run Command output under s3://{BUCKET}/nothing-here: expected objects named "
        "<prefix>/<command-id>/<instance-id>/awsrunShellScript/<step-name>/stdout "
        "(the S3 output of an aws:runShellScript step)"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://", "s3://: no bucket name (expected s3://BUCKET[/PREFIX])"),
        ("s3:///runs", "s3:///runs: no bucket name (expected s3://BUCKET[/PREFIX])"),
        (
            "https://bucket/runs",
            "https://bucket/runs: not an s3:// URL (expected s3://BUCKET[/PREFIX])",
        ),
    ],
)
def test_bad_url(url: str, message: str) -> None:
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3(url))
    assert str(error.value) == message


def test_no_credentials(aws_env: pytest.MonkeyPatch, endpoint: str) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", endpoint)
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3(f"s3://{BUCKET}/{PREFIX}"))
    assert str(error.value).startswith(f"no AWS credentials found to read s3://{BUCKET}/{PREFIX}:")


def test_unreachable_endpoint_fails_fast(aws_env: pytest.MonkeyPatch, refused_port: int) -> None:
    for name, val in FAKE_KEYS.items():
        aws_env.setenv(name, val)
    aws_env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{refused_port}")
    began = time.monotonic()
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3(f"s3://{BUCKET}/{PREFIX}"))
    assert time.monotonic() - began < 10
    assert str(error.value).startswith(f"cannot reach S3 at http://127.0.0.1:{refused_port} ")


def test_without_boto3_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # boto3 is installed here; a None entry in sys.modules makes its import fail as on a host
    # without the extra.
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3(f"s3://{BUCKET}/x"))
    assert str(error.value) == (
        f"reading s3://{BUCKET}/x needs boto3: pip install 'amzn-gd-doctor[fleet]'"
    )


# -- real denials: moto's IAM enforcement, in a server process of its own ---------------------
@pytest.fixture(scope="module")
def iam_endpoint() -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """A moto server that enforces IAM (its setting is process-wide, so not the shared one):
    a bucket, and two users whose policies lack s3:ListBucket and s3:GetObject respectively."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        admin = dict(endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing")
        bucket = boto3.client("s3", region_name=REGION, **admin)
        bucket.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        key = f"{PREFIX}/cmd-0/i-1/awsrunShellScript/0.step/stdout"
        bucket.put_object(Bucket=BUCKET, Key=key, Body=b"report")
        iam = boto3.client("iam", region_name="us-east-1", **admin)
        users = {}
        for name, actions in {
            "no-list": ["s3:GetObject", "s3:GetBucketLocation"],
            "no-get": ["s3:ListBucket", "s3:GetBucketLocation"],
        }.items():
            iam.create_user(UserName=name)
            policy = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
            created = iam.create_access_key(UserName=name)["AccessKey"]
            users[name] = {
                "AWS_ACCESS_KEY_ID": created["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": created["SecretAccessKey"],
            }
        # From here on every request is authenticated and authorised against IAM.
        request = urllib.request.Request(
            f"{url}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(request, timeout=10).read()
        yield url, users
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_access_denied_to_list_names_bucket_and_action(
    aws_env: pytest.MonkeyPatch, iam_endpoint
) -> None:
    url, users = iam_endpoint
    aws_env.setenv("AWS_ENDPOINT_URL", url)
    for name, val in users["no-list"].items():
        aws_env.setenv(name, val)
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3(f"s3://{BUCKET}/{PREFIX}"))
    assert str(error.value) == (
        f"access denied (AccessDenied) to s3:ListBucket (ListObjectsV2) on bucket {BUCKET}: "
        "the credentials in use need s3:ListBucket (ListObjectsV2) there (bucket policy, IAM "
        "policy, or an SCP denies it)"
    )


def test_access_denied_to_get_names_the_object(aws_env: pytest.MonkeyPatch, iam_endpoint) -> None:
    url, users = iam_endpoint
    aws_env.setenv("AWS_ENDPOINT_URL", url)
    for name, val in users["no-get"].items():
        aws_env.setenv(name, val)
    with pytest.raises(s3.S3Error) as error:
        list(s3.iter_s3(f"s3://{BUCKET}/{PREFIX}"))
    assert str(error.value).startswith(
        f"access denied (AccessDenied) to s3:GetObject on s3://{BUCKET}/{PREFIX}/cmd-0/i-1/"
        "awsrunShellScript/0.step/stdout: "
    )


# -- the command line over S3 ----------------------------------------------------------------
def _cli_env(endpoint: str, tmp_path: Path) -> dict[str, str]:
    """The doctor's process environment for moto: only what the test sets reaches botocore."""
    env = {k: v for k, v in doctor_env().items() if not k.startswith("AWS_")}
    env["TMPDIR"] = os.environ["TMPDIR"]
    env.update(FAKE_KEYS)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return env


def test_summarize_s3_equals_summarize_folder(endpoint: str, tmp_path: Path) -> None:
    """`fleet summarize s3://...` through moto gives the very summary of the same tree on disk."""
    root = tmp_path / "tree"
    for key, data in _tree().items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    env = _cli_env(endpoint, tmp_path)
    from_s3 = run_cli("fleet", "summarize", f"s3://{BUCKET}/{PREFIX}", "-f", "json", env=env)
    from_disk = run_cli("fleet", "summarize", str(root / PREFIX), "-f", "json", env=env)
    assert (from_s3.returncode, from_s3.stderr) == (0, "")
    assert (from_disk.returncode, from_disk.stderr) == (0, "")
    s3_data, disk_data = from_s3.json(), from_disk.json()
    assert s3_data["instances"] == 189
    for data in (s3_data, disk_data):
        data.pop("source", None)
    assert s3_data == disk_data


def test_summarize_missing_bucket_is_a_usage_error(endpoint: str, tmp_path: Path) -> None:
    result = run_cli(
        "fleet", "summarize", "s3://no-such-bucket/x", env=_cli_env(endpoint, tmp_path)
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("Error: "), result.stderr
    assert "no-such-bucket" in result.stderr and "Traceback" not in result.stderr


def test_summarize_s3_counts_an_instance_once_from_its_newest_object(
    endpoint: str, tmp_path: Path
) -> None:
    """Two runs under one prefix: an instance in both counts once, from the object S3 says was
    written last (LastModified), whatever the order of the keys; --command-id keeps to one."""
    from datetime import datetime

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket = "fleet-repeats"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    store = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for command, instance, data, day in (
        ("cmd-a", "i-1", b"amzn-gd-doctor: UNKNOWN | could not decide: 2 checks | i-1\n", 2),
        ("cmd-b", "i-1", b"amzn-gd-doctor: HEALTHY | no issue predicted | i-1\n", 1),
        ("cmd-b", "i-2", b"amzn-gd-doctor: HEALTHY | no issue predicted | i-2\n", 1),
    ):
        key = f"runs/{command}/{instance}/awsrunShellScript/0.awsrunShellScript/stdout"
        store.put_object(bucket, key, data).last_modified = datetime(2026, 12, day, 10, 0, 0)
    env = _cli_env(endpoint, tmp_path)
    result = run_cli("fleet", "summarize", f"s3://{bucket}/runs", "-f", "json", env=env)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert (data["instances"], data["outputs"]) == (2, 3)
    assert data["repeated"] == {"instances": 1, "outputs_not_counted": 1, "runs": 2}
    assert [(u["instance_id"], u["command_id"]) for u in data["undecided"]] == [("i-1", "cmd-a")]
    assert data["by_status"]["HEALTHY"] == 1
    one = run_cli(
        "fleet", "summarize", f"s3://{bucket}/runs", "-f", "json", "--command-id", "cmd-b", env=env
    ).json()
    assert (one["instances"], one["outputs"], one["by_status"]["HEALTHY"]) == (2, 2, 2)
