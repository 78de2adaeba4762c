"""A host that can be recorded, and one that serves a recording: the two ends of an evidence
bundle (bundle.py).

``RecordingHost`` wraps another host, answers every question through it and keeps each call,
its arguments and its answer or exception as an observation. ``ReplayHost`` answers the same
questions from those observations, so the engine gives a recorded run's report again. Both
depend only on the host protocol's method names and its value classes.

What is kept is bounded and cleaned: every text and byte string passes through ``cleaner``,
that is redact.mask, the same masking as the report's, then (``--pseudonymize``) the run's one
Pseudonymizer, which the report shares; only calls on the allow-list below are passed on and
kept; only allow-listed environment variables are kept; the IMDS token is never kept (its PUT's
answer is recorded as a placeholder and the header that carries it is withheld); and the
identity document's signatures and any credentials path of IMDS are never requested.

A pseudonymized recording replays: arguments are pseudonymized as the answers are, so a call
the engine derives from a replayed answer (an address from a pseudonymized resolv.conf) is
looked up under the very key it was recorded with.
"""

import base64
import builtins
import errno as errno_module
import json
import threading
import time
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

from .. import lazy_re
from ..values import fields

T = TypeVar("T")

if TYPE_CHECKING:
    from ..redact import Pseudonymizer
    from .protocols import Host


# -- cleaning -----------------------------------------------------------------------------------
def cleaner(pseudonymizer: "Optional[Pseudonymizer]" = None) -> "Callable[[str], str]":
    """What every recorded text goes through: redact.mask (the same masking as the report's),
    then, with ``--pseudonymize``, the run's one Pseudonymizer."""
    from ..redact import mask

    if pseudonymizer is None:
        return mask
    lock = threading.Lock()  # probes record from several threads; pseudonyms are picked once

    def clean(text: str) -> str:
        masked = mask(text)
        with lock:
            return pseudonymizer.pseudonymize(masked)

    return clean


# -- what may be kept and asked -----------------------------------------------------------------
# The environment a probe reads: IMDS configuration as botocore reads it, the trust store, and
# proxies (their credentials masked). Nothing else of the environment is kept.
ENV_PREFIXES = ("AWS_EC2_METADATA_", "AWS_METADATA_SERVICE_")
ENV_NAMES = frozenset(
    (
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "https_proxy",
        "HTTPS_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "no_proxy",
        "NO_PROXY",
        "all_proxy",
        "ALL_PROXY",
    )
)
# IMDS paths that are never requested through a recording host: the identity document's
# signatures, credentials of the role and the instance identity, and user data.
_FORBIDDEN_IMDS_RE = lazy_re.compile(
    r"(?i)/(?:signature|pkcs7|rsa2048|iam/security-credentials|identity-credentials|user-data)"
    r"(?:/|$)"
)
TOKEN_PATH = "latest/api/token"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
# Recorded instead of the IMDS token: a well-formed token that IMDS never issued.
TOKEN_PLACEHOLDER = b"token-withheld-from-the-recording"
WITHHELD = "<withheld>"
# Recorded observations stop past this many bytes of JSON (the rest are replayed as not
# recorded): generous for a real host, whose observations are a few hundred KiB to a few MiB.
OBSERVATIONS_LIMIT = 48 * 1024 * 1024
NOT_RECORDED = "not in the recording"


def allowed_env(env: "Mapping[str, str]") -> "Dict[str, str]":
    from ..redact import mask

    return {
        name: mask(value)
        for name, value in sorted(env.items())
        if name in ENV_NAMES or name.startswith(ENV_PREFIXES)
    }


def forbidden_url(url: str) -> bool:
    return bool(_FORBIDDEN_IMDS_RE.search(url.split("?", 1)[0]))


# -- the allow-list -------------------------------------------------------------------------------
# Everything a recording host passes on and records. A call outside it is refused (CouldNotLook,
# so its check is inconclusive), counted in the manifest, and not recorded: a probe that starts
# reading something new must extend this list on purpose (tests/test_collect.py holds it to what
# the probes read today).
FILE_METHODS = frozenset(
    ("read_bytes", "exists", "is_dir", "list_dir", "file_size", "mtime", "readlink", "path")
)
# Methods whose arguments name nothing but what the probes ask for (units, process names, the
# endpoints' names and addresses), passed on as they are.
FREE_METHODS = frozenset(
    (
        "os_release",
        "runs_commands",
        "machine",
        "is_root",
        "now",
        "find_processes",
        "journal_entries",
        "dns_query",
        "system_resolve",
        "tcp_connect",
        "tls_handshake",
    )
)
ALLOWED_PATHS = lazy_re.compile(
    r"/etc/os-release|/usr/lib/os-release|/etc/debian_version"
    r"|/etc/resolv\.conf|/run/systemd/resolve/resolv\.conf"
    # systemd: units, drop-ins, wants links and the manager's configuration
    r"|/etc/systemd/system(?:/.*)?|/etc/systemd/system\.conf(?:\.d(?:/.*)?)?"
    r"|/(?:usr/)?lib/systemd/system(?:/.*)?|/usr/lib/systemd/system\.conf\.d(?:/.*)?"
    r"|/run/systemd/system(?:/.*)?"
    # the kernel and the machine
    r"|/proc|/proc/stat|/proc/sys/kernel/osrelease|/proc/sys/crypto/fips_enabled"
    r"|/proc/[0-9]+/(?:cmdline|comm|environ|limits|stat|status)"
    r"|/sys/class/dmi/id(?:/[a-z_]+)?|/sys/hypervisor/uuid|/sys/kernel/btf/vmlinux"
    # packages: the rpm and dpkg databases, the SSM agent's snap and binary
    r"|/usr/lib/sysimage/rpm(?:/.*)?|/var/lib/rpm(?:/.*)?|/var/lib/dpkg/status"
    r"|/var/lib/dpkg/info(?:/[^/]+)?|/snap/amazon-ssm-agent/current(?:/.*)?"
    r"|/usr/bin/amazon-ssm-agent"
    # SSM: its state documents, packages and registration (never its Vault), and logs
    r"|/var/lib/amazon/ssm|/var/lib/amazon/ssm/registration"
    r"|/var/lib/amazon/ssm/m?i-[0-9a-f]+/document(?:/.*)?"
    r"|/var/lib/amazon/ssm/packages(?:/.*)?"
    r"|/var/log/amazon/ssm(?:/.*)?|/var/log/amzn-guardduty-agent(?:/.*)?"
    r"|/var/log/journal(?:/.*)?|/run/log/journal(?:/.*)?"
)
# Commands, by their first two words.
ALLOWED_COMMANDS = frozenset(
    (
        ("systemctl", "show"),
        ("rpm", "-q"),
        ("rpm", "-ql"),
        ("dpkg-query", "-W"),
        ("dpkg", "-L"),
    )
)
# IMDS: the token, the metadata tree and the identity document (never its signatures).
ALLOWED_IMDS = lazy_re.compile(
    r"[a-z]+://[^/]+/latest/(?:api/token|meta-data(?:/[^?#]*)?|dynamic/instance-identity/document)"
)


def refusal(method: str, args: "Mapping[str, Any]") -> "Optional[str]":
    """Why a call may not be passed on and recorded; None when it may."""
    if method in FREE_METHODS:
        return None
    if method in FILE_METHODS:
        path = str(args.get("path", ""))
        if ".." not in path.split("/") and ALLOWED_PATHS.fullmatch(path.rstrip("/") or "/"):
            return None
        return f"{path} is not on the recording's allow-list"
    if method == "run":
        argv = tuple(str(a) for a in args.get("argv", ()))
        if argv[:2] in ALLOWED_COMMANDS:
            return None
        return f"`{' '.join(argv[:2])}` is not on the recording's allow-list"
    if method == "http":
        url = str(args.get("url", ""))
        if forbidden_url(url):
            return f"{url} is never requested by the doctor"
        if ALLOWED_IMDS.fullmatch(url.split("?", 1)[0]):
            return None
        return f"{url} is not on the recording's allow-list"
    return f"{method} is not on the recording's allow-list"


def _is_token_request(method: str, url: str) -> bool:
    return method.upper() == "PUT" and url.split("?", 1)[0].rstrip("/").endswith(TOKEN_PATH)


def _http_headers(headers: "Mapping[str, str]") -> "Dict[str, str]":
    return {k: (WITHHELD if k.lower() == TOKEN_HEADER else v) for k, v in sorted(headers.items())}


# -- values to JSON and back --------------------------------------------------------------------
def _value_classes() -> "Dict[str, type]":
    from . import (
        CommandResult,
        DnsAnswer,
        HttpResponse,
        JournalEntry,
        JournalRead,
        ProcessInfo,
        TcpResult,
        TlsResult,
    )

    classes = (
        CommandResult,
        DnsAnswer,
        HttpResponse,
        JournalEntry,
        JournalRead,
        ProcessInfo,
        TcpResult,
        TlsResult,
    )
    return {cls.__name__: cls for cls in classes}


def encode(obj: Any, clean: "Callable[[str], str]") -> Any:
    """JSON for a host's answer: value classes by their fields, tuples, bytes and maps tagged so
    that ``decode`` gives back an equal object. Every text goes through ``clean``."""
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, bytes):
        text = obj.decode("utf-8", "surrogateescape")
        cleaned = clean(text)
        try:
            return {"bytes": cleaned.encode("utf-8", "surrogateescape").decode("utf-8")}
        except UnicodeDecodeError:
            raw = cleaned.encode("utf-8", "surrogateescape")
            return {"base64": base64.b64encode(raw).decode("ascii")}
    if isinstance(obj, tuple):
        return {"tuple": [encode(item, clean) for item in obj]}
    if isinstance(obj, list):
        return [encode(item, clean) for item in obj]
    if isinstance(obj, Mapping):
        return {"map": [[encode(k, clean), encode(v, clean)] for k, v in obj.items()]}
    names = getattr(obj, "__value_fields__", None)
    if names is not None:
        return {
            "value": type(obj).__name__,
            "fields": {name: encode(getattr(obj, name), clean) for name in fields(obj)},
        }
    raise TypeError(f"cannot record a {type(obj).__name__}")


def decode(data: Any, classes: "Optional[Mapping[str, type]]" = None) -> Any:
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item, classes) for item in data]
    if not isinstance(data, dict):
        raise ValueError(f"unexpected {type(data).__name__} in a recording")
    if "bytes" in data:
        return str(data["bytes"]).encode("utf-8", "surrogateescape")
    if "base64" in data:
        return base64.b64decode(str(data["base64"]))
    if "tuple" in data:
        return tuple(decode(item, classes) for item in data["tuple"])
    if "map" in data:
        return {decode(k, classes): decode(v, classes) for k, v in data["map"]}
    if "value" in data:
        known = classes if classes is not None else _value_classes()
        cls = known.get(str(data["value"]))
        if cls is None:
            raise ValueError(f"unknown value class {data['value']!r} in a recording")
        return cls(**{k: decode(v, known) for k, v in dict(data["fields"]).items()})
    raise ValueError("an unknown object in a recording")


def encode_error(exc: BaseException, clean: "Callable[[str], str]") -> "Dict[str, Any]":
    out: Dict[str, Any] = {"type": type(exc).__name__, "message": clean(str(exc))}
    if isinstance(exc, OSError):
        out.update(
            errno=exc.errno,
            strerror=clean(exc.strerror) if exc.strerror else exc.strerror,
            filename=clean(str(exc.filename)) if exc.filename is not None else None,
        )
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str):
        out.update(kind=kind, detail=clean(str(getattr(exc, "detail", ""))))
    return out


def decode_error(data: "Mapping[str, Any]") -> Exception:
    """The exception a recorded call raised, of the same type (OSErrors by their errno)."""
    from . import CouldNotLook, HostTimeout, HttpFailure, Unsupported

    name = str(data.get("type", ""))
    message = str(data.get("message", ""))
    if data.get("errno") is not None:
        code = int(data["errno"])
        strerror = data.get("strerror") or errno_module.errorcode.get(code, "")
        if data.get("filename") is not None:
            return OSError(code, strerror, data["filename"])
        return OSError(code, strerror)
    if name == "HttpFailure":
        return HttpFailure(str(data.get("kind", "connection")), str(data.get("detail", "")))
    ours = {"Unsupported": Unsupported, "CouldNotLook": CouldNotLook, "HostTimeout": HostTimeout}
    if name in ours:
        return ours[name](message)
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        for candidate in cls.__mro__:  # UnicodeDecodeError takes five arguments: a ValueError
            try:
                made = candidate(message)
            except TypeError:
                continue
            if isinstance(made, Exception):
                return made
    return RuntimeError(f"{name}: {message}")


def call_key(method: str, args: "Mapping[str, Any]") -> str:
    """How a call is looked up in a recording: its method and arguments, without the timeout
    (a budget that depends on the clock) and without the IMDS token."""
    kept = {k: v for k, v in args.items() if k != "timeout"}
    return method + " " + json.dumps(kept, sort_keys=True, separators=(",", ":"))


def _journal_args(
    matches: "Sequence[Sequence[str]]", since_s: "Optional[float]", max_entries: int, max_bytes: int
) -> "Dict[str, Any]":
    return {
        "matches": tuple(tuple(m) for m in matches),
        "since_s": since_s,
        "max_entries": max_entries,
        "max_bytes": max_bytes,
    }


# -- the two hosts ------------------------------------------------------------------------------
class RecordingHost:
    """Answers through ``inner`` and keeps every observation, thread-safely."""

    def __init__(self, inner: "Host", pseudonymizer: "Optional[Pseudonymizer]" = None) -> None:
        self.inner = inner
        self.clean = cleaner(pseudonymizer)
        self.env: Mapping[str, str] = {k: self.clean(v) for k, v in allowed_env(inner.env).items()}
        self._lock = threading.Lock()
        self._size = 0
        self.dropped = 0
        # Calls refused because they are not on the allow-list, by method.
        self.refused: Dict[str, int] = {}
        self.observations: List[Dict[str, Any]] = []

    @property
    def deadline(self) -> "Optional[float]":
        return getattr(self.inner, "deadline", None)

    @deadline.setter
    def deadline(self, value: "Optional[float]") -> None:
        if hasattr(self.inner, "deadline"):
            self.inner.deadline = value

    def _call(
        self,
        method: str,
        args: "Dict[str, Any]",
        fn: "Callable[[], T]",
        shown: "Optional[Callable[[Any], Any]]" = None,
    ) -> T:
        reason = refusal(method, args)
        if reason is not None:
            from . import CouldNotLook

            with self._lock:
                self.refused[method] = self.refused.get(method, 0) + 1
            raise CouldNotLook(reason)
        began = time.monotonic()
        try:
            result = fn()
        except Exception as exc:
            self._keep(method, args, began, error=encode_error(exc, self.clean))
            raise
        self._keep(
            method, args, began, result=encode(shown(result) if shown else result, self.clean)
        )
        return result

    def _keep(self, method: str, args: "Dict[str, Any]", began: float, **outcome: Any) -> None:
        encoded = {k: encode(v, self.clean) for k, v in args.items()}
        entry: Dict[str, Any] = {"method": method, "args": encoded}
        entry.update(outcome)
        entry["ms"] = round((time.monotonic() - began) * 1000, 1)
        size = len(json.dumps(entry))
        with self._lock:
            if self._size + size > OBSERVATIONS_LIMIT:
                self.dropped += 1
                return
            self._size += size
            entry["seq"] = len(self.observations)
            self.observations.append(entry)

    # -- files ------------------------------------------------------------------------------
    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
        args = {"path": path, "limit": limit, "tail": tail}
        return self._call("read_bytes", args, lambda: self.inner.read_bytes(path, limit, tail))

    def exists(self, path: str) -> bool:
        return self._call("exists", {"path": path}, lambda: self.inner.exists(path))

    def is_dir(self, path: str) -> bool:
        return self._call("is_dir", {"path": path}, lambda: self.inner.is_dir(path))

    def list_dir(self, path: str) -> "List[str]":
        return self._call("list_dir", {"path": path}, lambda: self.inner.list_dir(path))

    def file_size(self, path: str) -> int:
        return self._call("file_size", {"path": path}, lambda: self.inner.file_size(path))

    def mtime(self, path: str) -> float:
        return self._call("mtime", {"path": path}, lambda: self.inner.mtime(path))

    def readlink(self, path: str) -> str:
        return self._call("readlink", {"path": path}, lambda: self.inner.readlink(path))

    def path(self, path: str) -> str:
        return self._call("path", {"path": path}, lambda: self.inner.path(path))

    def os_release(self) -> "Dict[str, str]":
        return self._call("os_release", {}, self.inner.os_release)

    # -- commands and the machine -----------------------------------------------------------
    def run(self, argv: "Sequence[str]", timeout: float, limit: "Optional[int]" = None) -> Any:
        args = {"argv": tuple(argv), "timeout": timeout, "limit": limit}
        if limit is None:
            return self._call("run", args, lambda: self.inner.run(argv, timeout))
        return self._call("run", args, lambda: self.inner.run(argv, timeout, limit))

    def runs_commands(self) -> bool:
        return self._call("runs_commands", {}, self.inner.runs_commands)

    def machine(self) -> str:
        return self._call("machine", {}, self.inner.machine)

    def is_root(self) -> bool:
        return self._call("is_root", {}, self.inner.is_root)

    def now(self) -> float:
        return self._call("now", {}, self.inner.now)

    def budget(self, timeout: float) -> float:
        return self.inner.budget(timeout)

    # -- HTTP (IMDS) --------------------------------------------------------------------------
    def http(
        self, method: str, url: str, headers: "Mapping[str, str]", timeout: float, limit: int
    ) -> Any:
        args = {
            "method": method,
            "url": url,
            "headers": _http_headers(headers),
            "timeout": timeout,
            "limit": limit,
        }
        token = _is_token_request(method, url)

        def shown(resp: Any) -> Any:
            if token and resp.status == 200:
                from ..values import replace

                return replace(resp, body=TOKEN_PLACEHOLDER)
            return resp

        return self._call(
            "http", args, lambda: self.inner.http(method, url, headers, timeout, limit), shown
        )

    # -- system -------------------------------------------------------------------------------
    def journal_entries(
        self,
        matches: "Sequence[Sequence[str]]",
        since_s: "Optional[float]",
        max_entries: int,
        max_bytes: int,
        timeout: float,
    ) -> Any:
        args = _journal_args(matches, since_s, max_entries, max_bytes)
        return self._call(
            "journal_entries",
            {**args, "timeout": timeout},
            lambda: self.inner.journal_entries(matches, since_s, max_entries, max_bytes, timeout),
        )

    def find_processes(self, names: "Sequence[str]", pids: "Sequence[int]" = ()) -> Any:
        args = {"names": tuple(names), "pids": tuple(pids)}
        return self._call("find_processes", args, lambda: self.inner.find_processes(names, pids))

    # -- network ------------------------------------------------------------------------------
    def dns_query(self, server: str, name: str, timeout: float) -> Any:
        args = {"server": server, "name": name, "timeout": timeout}
        return self._call("dns_query", args, lambda: self.inner.dns_query(server, name, timeout))

    def system_resolve(self, name: str, timeout: float) -> Any:
        args = {"name": name, "timeout": timeout}
        return self._call("system_resolve", args, lambda: self.inner.system_resolve(name, timeout))

    def tcp_connect(self, address: str, port: int, timeout: float) -> Any:
        args = {"address": address, "port": port, "timeout": timeout}
        return self._call(
            "tcp_connect", args, lambda: self.inner.tcp_connect(address, port, timeout)
        )

    def tls_handshake(self, address: str, port: int, server_name: str, timeout: float) -> Any:
        args = {"address": address, "port": port, "server_name": server_name, "timeout": timeout}
        return self._call(
            "tls_handshake",
            args,
            lambda: self.inner.tls_handshake(address, port, server_name, timeout),
        )


class ReplayHost:
    """Serves recorded observations. A call is looked up by its method and arguments; repeated
    calls get their answers in recorded order (the last one again once they run out); a call
    that was not recorded is answered with CouldNotLook, so its check is inconclusive."""

    def __init__(
        self,
        observations: "Sequence[Mapping[str, Any]]",
        env: "Mapping[str, str]",
        captured_at: float,
    ) -> None:
        self.env: Mapping[str, str] = dict(env)
        self.deadline: Optional[float] = None
        self.captured_at = captured_at
        self._classes = _value_classes()
        self._lock = threading.Lock()
        self._answers: Dict[str, Deque[Mapping[str, Any]]] = {}
        for entry in sorted(observations, key=lambda e: int(e.get("seq", 0))):
            key = call_key(str(entry["method"]), entry.get("args", {}))
            self._answers.setdefault(key, deque()).append(entry)

    def _answer(self, method: str, args: "Mapping[str, Any]") -> Any:
        from ..redact import mask
        from . import CouldNotLook

        key = call_key(method, {k: encode(v, mask) for k, v in args.items()})
        with self._lock:
            queue = self._answers.get(key)
            if not queue:
                if method == "now":
                    return self.captured_at
                raise CouldNotLook(NOT_RECORDED)
            entry = queue.popleft() if len(queue) > 1 else queue[0]
        if "error" in entry:
            raise decode_error(entry["error"])
        return decode(entry.get("result"), self._classes)

    def budget(self, timeout: float) -> float:
        if self.deadline is None:
            return timeout
        return max(0.05, min(timeout, self.deadline - time.monotonic()))

    def now(self) -> float:
        return float(self._answer("now", {}))

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
        return bytes(self._answer("read_bytes", {"path": path, "limit": limit, "tail": tail}))

    def exists(self, path: str) -> bool:
        return bool(self._answer("exists", {"path": path}))

    def is_dir(self, path: str) -> bool:
        return bool(self._answer("is_dir", {"path": path}))

    def list_dir(self, path: str) -> "List[str]":
        return list(self._answer("list_dir", {"path": path}))

    def file_size(self, path: str) -> int:
        return int(self._answer("file_size", {"path": path}))

    def mtime(self, path: str) -> float:
        return float(self._answer("mtime", {"path": path}))

    def readlink(self, path: str) -> str:
        return str(self._answer("readlink", {"path": path}))

    def path(self, path: str) -> str:
        return str(self._answer("path", {"path": path}))

    def os_release(self) -> "Dict[str, str]":
        return dict(self._answer("os_release", {}))

    def run(self, argv: "Sequence[str]", timeout: float, limit: "Optional[int]" = None) -> Any:
        return self._answer("run", {"argv": tuple(argv), "timeout": timeout, "limit": limit})

    def runs_commands(self) -> bool:
        """CouldNotLook for a bundle recorded before the question was asked."""
        return bool(self._answer("runs_commands", {}))

    def machine(self) -> str:
        return str(self._answer("machine", {}))

    def is_root(self) -> bool:
        return bool(self._answer("is_root", {}))

    def http(
        self, method: str, url: str, headers: "Mapping[str, str]", timeout: float, limit: int
    ) -> Any:
        args = {"method": method, "url": url, "headers": _http_headers(headers), "limit": limit}
        return self._answer("http", args)

    def journal_entries(
        self,
        matches: "Sequence[Sequence[str]]",
        since_s: "Optional[float]",
        max_entries: int,
        max_bytes: int,
        timeout: float,
    ) -> Any:
        return self._answer(
            "journal_entries", _journal_args(matches, since_s, max_entries, max_bytes)
        )

    def find_processes(self, names: "Sequence[str]", pids: "Sequence[int]" = ()) -> Any:
        return self._answer("find_processes", {"names": tuple(names), "pids": tuple(pids)})

    def dns_query(self, server: str, name: str, timeout: float) -> Any:
        return self._answer("dns_query", {"server": server, "name": name})

    def system_resolve(self, name: str, timeout: float) -> Any:
        return self._answer("system_resolve", {"name": name})

    def tcp_connect(self, address: str, port: int, timeout: float) -> Any:
        return self._answer("tcp_connect", {"address": address, "port": port})

    def tls_handshake(self, address: str, port: int, server_name: str, timeout: float) -> Any:
        args = {"address": address, "port": port, "server_name": server_name}
        return self._answer("tls_handshake", args)


def answered(observations: "Sequence[Mapping[str, Any]]") -> "Tuple[int, int]":
    """(calls answered, calls that raised) in a recording."""
    errors = sum(1 for e in observations if "error" in e)
    return len(observations) - errors, errors
