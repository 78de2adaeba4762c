"""Run Command output read from S3 (``s3://bucket/prefix``), with boto3 from the ``fleet`` extra.

Needs s3:ListBucket on the bucket and s3:GetObject on the keys (s3:GetBucketLocation helps
when HeadBucket does not name the region). Credentials and endpoints come from boto3's standard
chain: environment, shared files, SSO, the instance profile, and ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_S3``, which botocore reads itself. Nothing is written.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, FrozenSet, Iterator, List, Optional, Tuple

from .source import OUTPUT_LIMIT, PLUGIN_DIR, Output, layout_parts

if TYPE_CHECKING:
    from botocore.config import Config

# An unreachable endpoint must fail within seconds, not after botocore's 60 s defaults times
# its retries: a refused or silent endpoint shows up in the first connect.
CONNECT_TIMEOUT_S = 5
# One GET of at most OUTPUT_LIMIT bytes: a slow S3 still answers within this.
READ_TIMEOUT_S = 30
# One retry of a throttled or dropped request, in botocore's standard mode.
MAX_ATTEMPTS = 2
# GETs at once: enough to hide S3's latency for a few thousand small objects, few enough to stay
# under botocore's default pool of 10 connections.
WORKERS = 8
# Where a bucket's region cannot be learned (no header, GetBucketLocation denied), the client
# stays in the configured region or this one, S3's default.
DEFAULT_REGION = "us-east-1"
LAYOUT = "<prefix>/<command-id>/<instance-id>/" + PLUGIN_DIR + "/<step-name>/stdout"
INSTALL_HINT = "pip install 'amzn-gd-doctor[fleet]'"


class S3Error(Exception):
    """Why an s3:// source could not be read; its text is meant for the operator."""


def parse_url(url: str) -> "Tuple[str, str]":
    """``s3://bucket/runs/2026`` -> ("bucket", "runs/2026/"); the prefix ends in "/" so that
    ``runs`` does not also match ``runs-old``."""
    if not url.startswith("s3://"):
        raise S3Error(f"{url}: not an s3:// URL (expected s3://BUCKET[/PREFIX])")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise S3Error(f"{url}: no bucket name (expected s3://BUCKET[/PREFIX])")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def _config(region: str) -> "Config":
    from botocore.config import Config

    return Config(
        region_name=region,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        max_pool_connections=WORKERS,
    )


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _denied(code: str) -> bool:
    return code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId")


def _client_error(error: Any, bucket: str, action: str, key: str = "") -> S3Error:
    """A ClientError as the operator needs it: which bucket, which action, what to grant."""
    code = _code(error)
    where = f"s3://{bucket}/{key}" if key else f"bucket {bucket}"
    if _denied(code):
        return S3Error(
            f"access denied ({code}) to {action} on {where}: the credentials in use need "
            f"{action} there (bucket policy, IAM policy, or an SCP denies it)"
        )
    if code in ("NoSuchBucket", "404"):
        return S3Error(f"no such bucket: {bucket} (NoSuchBucket)")
    message = error.response.get("Error", {}).get("Message", "") or str(error)
    return S3Error(f"{action} on {where} failed: {code}: {message}")


def _connection_error(error: Exception, endpoint: str) -> S3Error:
    return S3Error(
        f"cannot reach S3 at {endpoint} (within {CONNECT_TIMEOUT_S} s, {MAX_ATTEMPTS} attempts): "
        f"{error}. Check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3, the proxy and the network."
    )


def bucket_region(client: Any, bucket: str) -> "Optional[str]":
    """The bucket's region: HeadBucket's x-amz-bucket-region header (present even on a 403
    from the wrong region), else GetBucketLocation (None stands for us-east-1)."""
    from botocore.exceptions import ClientError

    try:
        response = client.head_bucket(Bucket=bucket)
    except ClientError as error:
        response = error.response
        if _code(error) in ("NoSuchBucket", "404"):
            raise _client_error(error, bucket, "s3:ListBucket (HeadBucket)") from None
    region = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    if region:
        return str(region)
    try:
        location = client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as error:
        if _code(error) in ("NoSuchBucket", "404"):
            raise _client_error(error, bucket, "s3:GetBucketLocation") from None
        return None  # denied: listing will say what is missing, from the configured region
    return str(location) if location else DEFAULT_REGION


def _list(
    client: Any, bucket: str, prefix: str, command_ids: "FrozenSet[str]" = frozenset()
) -> "List[Tuple[str, int, float]]":
    """(key, size, LastModified as seconds since the epoch) of every ``stdout`` object in Run
    Command's layout, in key order; only the runs in ``command_ids`` when there are any."""
    from botocore.exceptions import ClientError

    found = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                key = item["Key"]
                parts = layout_parts(tuple(key.split("/")))
                if parts is None or (command_ids and parts[0] not in command_ids):
                    continue
                modified = item.get("LastModified")
                mtime = modified.timestamp() if hasattr(modified, "timestamp") else 0.0
                found.append((key, int(item.get("Size", 0)), mtime))
    except ClientError as error:
        raise _client_error(error, bucket, "s3:ListBucket (ListObjectsV2)") from None
    return sorted(found)


def _get(client: Any, bucket: str, key: str, size: int, mtime: float = 0.0) -> Output:
    from botocore.exceptions import ClientError

    # A range keeps a large object from crossing the network whole; an empty object cannot
    # take one (S3 answers 416), so only objects over the bound ask for it.
    extra = {"Range": f"bytes=0-{OUTPUT_LIMIT}"} if size > OUTPUT_LIMIT else {}
    try:
        body = client.get_object(Bucket=bucket, Key=key, **extra)["Body"]
        try:
            data = body.read(OUTPUT_LIMIT + 1)
        finally:
            body.close()
    except ClientError as error:
        raise _client_error(error, bucket, "s3:GetObject", key) from None
    parts = layout_parts(tuple(key.split("/")))
    assert parts is not None  # _list kept only such keys
    command_id, instance_id, step = parts
    return Output(
        instance_id=instance_id,
        command_id=command_id,
        step=step,
        data=bytes(data[:OUTPUT_LIMIT]),
        truncated=len(data) > OUTPUT_LIMIT or size > OUTPUT_LIMIT,
        location=f"s3://{bucket}/{key}",
        mtime=mtime,
    )


def iter_s3(
    url: str,
    command_ids: "Tuple[str, ...]" = (),
    found: "Optional[Callable[[int], None]]" = None,
) -> "Iterator[Output]":
    """Every Run Command ``stdout`` under ``url`` (of the runs in ``command_ids`` when there
    are any), in key order, each read up to OUTPUT_LIMIT. ``found`` is told how many there are
    once they are listed (for progress).

    Raises S3Error, with a message for the operator, for anything that stops the reading."""
    bucket, prefix = parse_url(url)
    try:
        import boto3
        from botocore.exceptions import (
            BotoCoreError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
        )
    except ImportError:
        raise S3Error(f"reading {url} needs boto3: {INSTALL_HINT}") from None

    endpoint = "the S3 endpoint"
    try:
        session = boto3.session.Session()
        first = session.client("s3", config=_config(session.region_name or DEFAULT_REGION))
        endpoint = first.meta.endpoint_url
        region = bucket_region(first, bucket)
        client = first
        if region and region != first.meta.region_name:
            client = session.client("s3", config=_config(region))
        keys = _list(client, bucket, prefix, frozenset(command_ids))
        if not keys:
            runs = f" of command id {', '.join(command_ids)}" if command_ids else ""
            raise S3Error(
                f"no Run Command output{runs} under {url}: expected objects named {LAYOUT} "
                f"(the S3 output of an aws:runShellScript step)"
            )
        if found is not None:
            found(len(keys))
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            # map() yields in the order of keys, whichever GET finishes first.
            yield from pool.map(lambda item: _get(client, bucket, *item), keys)
    except NoCredentialsError:
        raise S3Error(
            f"no AWS credentials found to read {url}: set AWS_PROFILE or AWS_ACCESS_KEY_ID / "
            f"AWS_SECRET_ACCESS_KEY, run `aws sso login`, or use an instance profile"
        ) from None
    except (ConnectionError, HTTPClientError) as error:
        raise _connection_error(error, endpoint) from None
    except BotoCoreError as error:
        raise S3Error(f"reading {url} failed: {error}") from None
