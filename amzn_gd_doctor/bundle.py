"""Evidence bundles: one ``.tar.gz`` holding what a run observed and what it concluded, for
AWS Support or a colleague, and for ``check --from`` to replay.

Members, in this order, each mode 0644 and owned by root:root, dated at the capture:

- ``manifest.json``: the bundle format, the tool's version, the options, the capture time, each
  probe's status and duration, and the members' sizes;
- ``observations.jsonl``: one recorded host call a line (host/recorded.py), cleaned of secrets;
- ``report.json`` and ``report.txt``: the report as ``check -f json`` and ``check`` give it.

The bundle is the only file written: created 0600 next to its final name, synced, then linked
to that name, which must not exist yet (an existing file is never replaced).
"""

import contextlib
import gzip
import io
import json
import os
import tarfile
import zlib
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .values import value

FORMAT = "amzn-gd-doctor-bundle"
FORMAT_VERSION = "1.0"  # the major changes when an older reader could not replay a bundle
MEMBERS = ("manifest.json", "observations.jsonl", "report.json", "report.txt")
# Reading refuses members past these sizes: a bundle the doctor wrote stays well under them
# (observations are bounded by host.recorded.OBSERVATIONS_LIMIT, reports are tens of KiB).
MEMBER_LIMIT = 64 * 1024 * 1024
MANIFEST_LIMIT = 1024 * 1024


class BundleError(Exception):
    """A bundle that cannot be written or read; the message says why."""


@value
class Bundle:
    manifest: "Dict[str, Any]"
    observations: "Tuple[Dict[str, Any], ...]"
    report_json: str


def _member(name: str, data: bytes, mtime: int) -> "Tuple[tarfile.TarInfo, io.BytesIO]":
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = mtime
    return info, io.BytesIO(data)


def encode_members(
    manifest: "Mapping[str, Any]",
    observations: "Sequence[Mapping[str, Any]]",
    report_json: str,
    report_txt: str,
) -> "List[Tuple[str, bytes]]":
    lines = "".join(json.dumps(o, sort_keys=True, ensure_ascii=False) + "\n" for o in observations)
    members = [
        ("observations.jsonl", lines.encode("utf-8", "surrogateescape")),
        ("report.json", report_json.encode("utf-8")),
        ("report.txt", report_txt.encode("utf-8")),
    ]
    full = dict(manifest)
    full["sizes"] = {name: len(data) for name, data in members}
    head = json.dumps(full, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return [("manifest.json", head.encode("utf-8"))] + members


def write(path: str, members: "Sequence[Tuple[str, bytes]]", mtime: int) -> int:
    """Write the bundle at ``path``, which must not exist; returns its size in bytes.
    FileExistsError when it does (then nothing was changed)."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    tmp = _temporary(directory, base)
    try:
        fd = tmp[1]
        with os.fdopen(fd, "wb") as raw:
            _write_archive(raw, members, mtime)
            raw.flush()
            os.fsync(raw.fileno())
            size = os.fstat(raw.fileno()).st_size
        os.link(tmp[0], path)  # refuses an existing name: no file is ever replaced
        _sync_directory(directory)
        return size
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp[0])


def _write_archive(raw: "IO[bytes]", members: "Sequence[Tuple[str, bytes]]", mtime: int) -> None:
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz, tarfile.open(
        fileobj=gz, mode="w", format=tarfile.PAX_FORMAT
    ) as tar:
        for name, data in members:
            info, stream = _member(name, data, mtime)
            tar.addfile(info, stream)


def _temporary(directory: str, base: str) -> "Tuple[str, int]":
    """A new file beside the bundle, mode 0600 from its creation."""
    for attempt in range(100):
        name = os.path.join(directory, f".{base}.{os.getpid()}.{attempt}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
            return name, os.open(name, flags, 0o600)
        except FileExistsError:
            continue
    raise BundleError(f"could not create a temporary file in {directory}")


def _sync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read(path: str) -> Bundle:
    """The bundle at ``path``; BundleError says what is wrong with it."""
    if not os.path.exists(path):
        raise BundleError(f"{path}: no such file")
    if os.path.isdir(path):
        raise BundleError(f"{path}: is a directory, not a bundle")
    found: Dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                if info.name not in MEMBERS or not info.isfile():
                    continue
                limit = MANIFEST_LIMIT if info.name == "manifest.json" else MEMBER_LIMIT
                if info.size > limit:
                    raise BundleError(f"{path}: {info.name} is larger than {limit} bytes")
                stream = tar.extractfile(info)
                assert stream is not None
                found[info.name] = stream.read(limit + 1)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BundleError(f"{path}: not a gzip-compressed tar archive ({exc})") from None
    if "manifest.json" not in found:
        raise BundleError(f"{path}: not an evidence bundle (no manifest.json)")
    manifest = _json_object(path, "manifest.json", found["manifest.json"])
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: manifest.json is not an amzn-gd-doctor bundle's")
    version = str(manifest.get("format_version", ""))
    major = version.partition(".")[0]
    if not major.isdigit():
        raise BundleError(f"{path}: manifest.json has no usable format_version ({version!r})")
    if int(major) > int(FORMAT_VERSION.partition(".")[0]):
        raise BundleError(
            f"{path}: bundle format {version} is newer than this doctor reads "
            f"({FORMAT_VERSION}); replay it with a newer amzn-gd-doctor"
        )
    if "observations.jsonl" not in found:
        raise BundleError(f"{path}: the bundle holds no observations.jsonl")
    observations = []
    text = str(found["observations.jsonl"], "utf-8", "surrogateescape")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise BundleError(f"{path}: observations.jsonl line {number}: {exc}") from None
        if not isinstance(entry, dict) or "method" not in entry:
            raise BundleError(f"{path}: observations.jsonl line {number} is not an observation")
        observations.append(entry)
    report = str(found.get("report.json", b""), "utf-8", "replace")
    return Bundle(manifest, tuple(observations), report)


def _json_object(path: str, name: str, data: bytes) -> "Dict[str, Any]":
    try:
        loaded = json.loads(str(data, "utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: {name} is not JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise BundleError(f"{path}: {name} is not a JSON object")
    return loaded


def default_name(instance: "Optional[str]", hostname: str, captured_at: float) -> str:
    import re
    import time

    who = instance or hostname or "host"
    who = re.sub(r"[^A-Za-z0-9._-]", "_", who)[:64]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(captured_at))
    return f"amzn-gd-doctor-{who}-{stamp}.tar.gz"
