"""A host that can be recorded, and one that serves a recording: the two ends of an evidence
bundle (bundle.py).

Both are made from the declaration of the host (protocols.py): for each recorded part, each
method's parameters and answer type are read from its protocol, and ``RecordingHost`` and
``ReplayHost`` build that part's questions from them, so no signature is written out here. The
recording wraps another host's parts, answers every question through them and keeps each call,
its arguments and its answer or exception as an observation; the replay answers the same
questions from those observations, each read back as its declared type (host/codec.py), so the
engine gives a recorded run's report again. A recorded answer that is not of its type reaches
the probe as could-not-look, never as a crash. Both hosts build their package database and units
parts over their recorded files and commands, as the host they stand for does (``derive``).

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

import builtins
import errno as errno_module
import json
import threading
import time
from collections import deque
from typing import (
    TYPE_CHECKING,
    Callable,
    Deque,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    cast,
)

from .. import lazy_re
from ..values import replace, value
from .budget import Budget
from .codec import Malformed, Shape, decode_any, encode, shape
from .codec import decode as decode_as
from .composed import ComposedHost
from .errors import CouldNotLook, HostTimeout, Unsupported
from .http import HttpFailure, HttpResponse
from .packages import DPKG_QUERY_FORMAT, RPM_QUERY_FORMAT
from .protocols import RECORDED, method_names
from .threads import current_probe

if TYPE_CHECKING:
    from ..redact import Pseudonymizer
    from .codec import Json
    from .protocols import (
        ClockPart,
        CommandsPart,
        FilesPart,
        Host,
        HttpPart,
        JournalPart,
        NetworkPart,
        ProcessesPart,
    )

# The untyped reading of a recording's JSON, by its own tags (tests, the allow-list check).
decode = decode_any


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
ENV_NAMES = frozenset(("SSL_CERT_FILE", "SSL_CERT_DIR"))
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
# And past this many observations: a real host makes a few hundred to a few thousand calls,
# and a replay refuses a bundle of more lines (bundle.OBSERVATION_LINES).
OBSERVATIONS_COUNT = 100 * 1000
NOT_RECORDED = "not in the recording"


def allowed_env(env: "Mapping[str, str]") -> "Dict[str, str]":
    """The variables a recording keeps, masked; proxy URLs with their credentials masked."""
    from ..redact import PROXY_VARIABLES, mask, mask_proxy_credentials

    return {
        name: mask(mask_proxy_credentials(value) if name in PROXY_VARIABLES else value)
        for name, value in sorted(env.items())
        if name in ENV_NAMES or name in PROXY_VARIABLES or name.startswith(ENV_PREFIXES)
    }


def forbidden_url(url: str) -> bool:
    return bool(_FORBIDDEN_IMDS_RE.search(url.split("?", 1)[0]))


# -- the allow-list -------------------------------------------------------------------------------
# Everything a recording host passes on and records. A call outside it is refused (CouldNotLook,
# so its check is inconclusive), counted in the manifest, and not recorded: a probe that starts
# reading something new must extend this list on purpose (tests/test_collect.py holds it to what
# the probes read today).
FILE_METHODS = frozenset(
    (
        "read_bytes",
        "exists",
        "is_dir",
        "list_dir",
        "file_size",
        "mtime",
        "readlink",
        "statvfs",
        "path",
    )
)
# Methods whose arguments name nothing but what the probes ask for (units, process names, the
# endpoints' names and addresses), passed on as they are.
FREE_METHODS = frozenset(
    (
        "os_release",
        "machine",
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
    # host causes (probes/host_*.py): mounts, locks and their holders' open files, inotify
    # limits and use, package managers' pid files, and the directories whose free space counts
    r"|/proc/self/mountinfo|/proc/locks|/proc/sys/fs/inotify/max_user_(?:watches|instances)"
    r"|/proc/[0-9]+|/proc/[0-9]+/fd(?:/[0-9]+)?|/proc/[0-9]+/fdinfo/[0-9]+"
    r"|/(?:var/)?run/yum\.pid|/var/cache/dnf/(?:download|metadata)_lock\.pid"
    r"|/var/lib/dnf/rpmdb_lock\.pid"
    # host families (probes/family_*.py): Bottlerocket's release as its host containers see it,
    # their storage and env files (never host-containers.toml, which holds their user data),
    # ECS's init, configuration and agent logs, an EKS node's kubeconfig and pod log names
    # (never nodeadm's cache, which is derived from the user data)
    r"|/etc/bottlerocket-release|/\.bottlerocket/host-containers(?:/(?:current|control)/ssm)?"
    r"|/etc/host-containers|/etc/host-containers/[^/]+\.env"
    r"|/local/host-containers|/local/host-containers/control/ssm"
    r"|/usr/libexec/amazon-ecs-init|/etc/ecs/ecs\.config|/var/lib/ecs/ecs\.config"
    r"|/var/log/ecs|/var/log/ecs/ecs-agent\.log(?:\.[0-9-]+)?"
    r"|/usr/bin/nodeadm|/etc/eks/bootstrap\.sh"
    r"|/var/lib/kubelet/kubeconfig|/etc/kubernetes/kubelet/kubeconfig"
    r"|/var/log/containers|/var/log/pods"
)
# Where the agents write and their parents, asked only whether they exist and how much room
# their filesystem has (probes/host_disk.py walks up from a path not created yet).
SPACE_METHODS = frozenset(("exists", "statvfs"))
SPACE_PATHS = lazy_re.compile(
    # nodeadm's cache is asked only whether it exists (its content derives from the user data)
    r"/run/eks/nodeadm/config\.json"
    r"|/|/opt|/opt/aws|/opt/aws/amazon-guardduty-agent|/tmp|/var|/var/lib|/var/lib/amazon"
    r"|/var/lib/amazon/ssm|/var/lib/dpkg|/var/lib/rpm|/var/log|/var/log/amazon"
    r"|/var/log/amazon/ssm|/var/log/amzn-guardduty-agent"
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


def refusal(method: str, args: "Mapping[str, object]") -> "Optional[str]":
    """Why a call may not be passed on and recorded; None when it may."""
    if method in FREE_METHODS:
        return None
    if method in FILE_METHODS:
        path = str(args.get("path", ""))
        bare = path.rstrip("/") or "/"
        if ".." not in path.split("/") and (
            ALLOWED_PATHS.fullmatch(bare)
            or (method in SPACE_METHODS and SPACE_PATHS.fullmatch(bare))
        ):
            return None
        return f"{path} is not on the recording's allow-list"
    if method == "run":
        argv = args.get("argv", ())
        words = tuple(str(a) for a in argv) if isinstance(argv, (tuple, list)) else ()
        if words[:2] in ALLOWED_COMMANDS:
            return None
        return f"`{' '.join(words[:2])}` is not on the recording's allow-list"
    if method == "http":
        url = str(args.get("url", ""))
        if forbidden_url(url):
            return f"{url} is never requested by the doctor"
        if ALLOWED_IMDS.fullmatch(url.split("?", 1)[0]):
            return None
        return f"{url} is not on the recording's allow-list"
    return f"{method} is not on the recording's allow-list"


def _is_token_request(args: "Mapping[str, object]") -> bool:
    method, url = str(args.get("method", "")), str(args.get("url", ""))
    return method.upper() == "PUT" and url.split("?", 1)[0].rstrip("/").endswith(TOKEN_PATH)


def _withheld(headers: "Mapping[str, str]") -> "Dict[str, str]":
    return {k: (WITHHELD if k.lower() == TOKEN_HEADER else v) for k, v in sorted(headers.items())}


# -- the declaration, read from the protocols ------------------------------------------------------
@value
class Method:
    """One question of a recorded part: its parameters (their shapes and defaults, in order)
    and the shape of its answer, as its protocol declares them."""

    part: str
    name: str
    params: "Tuple[str, ...]"
    shapes: "Tuple[Shape, ...]"
    defaults: "Tuple[object, ...]"  # for the last len(defaults) parameters
    answer: Shape

    def bind(self, args: "Sequence[object]", kwargs: "Mapping[str, object]") -> "Dict[str, object]":
        """The call's arguments by name, defaults filled in, as Python would bind them."""
        if len(args) > len(self.params) or set(kwargs) - set(self.params[len(args) :]):
            raise TypeError(f"{self.name}() got unexpected arguments")
        bound = dict(zip(self.params, args))
        bound.update(kwargs)
        first_default = len(self.params) - len(self.defaults)
        for index, name in enumerate(self.params):
            if name not in bound:
                if index < first_default:
                    raise TypeError(f"{self.name}() missing the argument {name!r}")
                bound[name] = self.defaults[index - first_default]
        return bound

    def shown(self, bound: "Mapping[str, object]") -> "Dict[str, object]":
        """The arguments as a recording keeps them: sequences as tuples, maps sorted, and the
        IMDS token withheld."""
        kept = {name: _normal(s, bound[name]) for name, s in zip(self.params, self.shapes)}
        headers = kept.get("headers")
        if self.name == "http" and isinstance(headers, dict):
            kept["headers"] = _withheld(headers)
        return kept


def _normal(expected: Shape, given: object) -> object:
    if expected.kind == "optional":
        return None if given is None else _normal(expected.args[0], given)
    if expected.kind == "tuple" and isinstance(given, (list, tuple)):
        return tuple(_normal(expected.args[0], item) for item in given)
    if expected.kind == "map" and isinstance(given, Mapping):
        return {k: given[k] for k in sorted(given)}
    return given


_DECLARED: "Dict[str, Method]" = {}


def declared() -> "Dict[str, Method]":
    """Every recorded question by its method name, read once from the part protocols."""
    if not _DECLARED:
        for part, protocol in RECORDED:
            for name in method_names(protocol):
                fn = vars(protocol)[name]
                code = fn.__code__
                params = code.co_varnames[1 : code.co_argcount]  # after self
                notes = fn.__annotations__
                _DECLARED[name] = Method(
                    part,
                    name,
                    tuple(params),
                    tuple(shape(notes[p]) for p in params),
                    tuple(fn.__defaults__ or ()),
                    shape(notes["return"]),
                )
    return _DECLARED


class _Part:
    """A part made from its protocol's declaration: one function per question."""

    def __init__(self, calls: "Mapping[str, Callable[..., object]]") -> None:
        self.__dict__.update(calls)


def _parts(make: "Callable[[Method], Callable[..., object]]") -> "Dict[str, _Part]":
    """One generated part per recorded protocol, its questions made by ``make``."""
    by_part: Dict[str, Dict[str, Callable[..., object]]] = {part: {} for part, _ in RECORDED}
    for method in declared().values():
        by_part[method.part][method.name] = make(method)
    return {part: _Part(calls) for part, calls in by_part.items()}


# -- errors to JSON and back ----------------------------------------------------------------------
def encode_error(exc: BaseException, clean: "Callable[[str], str]") -> "Dict[str, Json]":
    out: Dict[str, Json] = {"type": type(exc).__name__, "message": clean(str(exc))}
    if isinstance(exc, OSError):
        out.update(
            errno=exc.errno,
            strerror=clean(exc.strerror) if exc.strerror else exc.strerror,
            filename=clean(str(exc.filename)) if exc.filename is not None else None,
        )
    if isinstance(exc, HttpFailure):
        out.update(kind=exc.kind, detail=clean(exc.detail))
    return out


def decode_error(data: object) -> Exception:
    """The exception a recorded call raised, of the same type (OSErrors by their errno); a
    record that is not one is Malformed."""
    if not isinstance(data, dict):
        return Malformed("a recorded error that is not one")
    name, message = str(data.get("type", "")), str(data.get("message", ""))
    code = data.get("errno")
    if code is not None:
        if not isinstance(code, int) or isinstance(code, bool):
            return Malformed("a recorded error whose errno is not a number")
        strerror = str(data.get("strerror") or errno_module.errorcode.get(code, ""))
        filename = data.get("filename")
        return (
            OSError(code, strerror, str(filename))
            if filename is not None
            else OSError(code, strerror)
        )
    if name == "HttpFailure":
        return HttpFailure(str(data.get("kind", "connection")), str(data.get("detail", "")))
    ours = {"Unsupported": Unsupported, "CouldNotLook": CouldNotLook, "HostTimeout": HostTimeout}
    if name in ours:
        return ours[name](message)
    found = getattr(builtins, name, None)
    # A host's call fails with an OSError (it could not look) or a ValueError (what it read is
    # not what was asked for, e.g. not UTF-8); a recording naming any other exception is not one
    # a host raises, and a replay would report its check as crashed.
    if isinstance(found, type) and issubclass(found, (OSError, ValueError)):
        for candidate in found.__mro__:  # UnicodeDecodeError takes five arguments: a ValueError
            try:
                made = candidate(message)
            except TypeError:
                continue
            if isinstance(made, Exception):
                return made
    return Malformed(f"a recorded error of a kind no host raises ({name[:40]!r})")


def call_key(method: str, args: "Mapping[str, Json]") -> str:
    """How a call is looked up in a recording: its method and arguments, without the timeout
    (a budget that depends on the clock) and without the IMDS token."""
    kept = {k: v for k, v in args.items() if k != "timeout"}
    return method + " " + json.dumps(kept, sort_keys=True, separators=(",", ":"))


# -- the two hosts ------------------------------------------------------------------------------
class RecordingHost(ComposedHost):
    """Answers through ``inner``'s parts and keeps every observation, thread-safely."""

    def __init__(self, inner: "Host", pseudonymizer: "Optional[Pseudonymizer]" = None) -> None:
        self.clean = cleaner(pseudonymizer)
        self._lock = threading.Lock()
        self._size = 0
        self.dropped = 0
        # Calls refused because they are not on the allow-list, by method.
        self.refused: Dict[str, int] = {}
        self.observations: List[Dict[str, Json]] = []

        def make(method: Method) -> "Callable[..., object]":
            def call(*args: object, **kwargs: object) -> object:
                bound = method.bind(args, kwargs)

                def ask() -> object:
                    answer = getattr(getattr(inner, method.part), method.name)
                    return answer(*[bound[p] for p in method.params])

                return self._call(method, bound, ask)

            return call

        parts = _parts(make)
        env = {k: self.clean(v) for k, v in allowed_env(inner.env).items()}
        super().__init__(
            env,
            inner.budget,
            # Each generated part is the protocol it was made from (``declared``);
            # tests/test_replay.py holds every protocol question to a generated one.
            cast("ClockPart", parts["clock"]),
            cast("FilesPart", parts["files"]),
            cast("CommandsPart", parts["commands"]),
            cast("HttpPart", parts["web"]),
            cast("JournalPart", parts["journal"]),
            cast("ProcessesPart", parts["processes"]),
            cast("NetworkPart", parts["network"]),
            inner.derive,
        )

    def _call(
        self, method: Method, bound: "Mapping[str, object]", ask: "Callable[[], object]"
    ) -> object:
        args = method.shown(bound)
        reason = refusal(method.name, args)
        if reason is not None:
            with self._lock:
                self.refused[method.name] = self.refused.get(method.name, 0) + 1
            raise CouldNotLook(reason)
        began = time.monotonic()
        try:
            result = ask()
        except Exception as exc:
            self._keep(method.name, args, began, "error", encode_error(exc, self.clean))
            raise
        shown = result
        if isinstance(result, HttpResponse) and result.status == 200 and _is_token_request(args):
            shown = replace(result, body=TOKEN_PLACEHOLDER)
        self._keep(method.name, args, began, "result", encode(shown, self.clean))
        return result

    def _keep(
        self, method: str, args: "Mapping[str, object]", began: float, kind: str, outcome: "Json"
    ) -> None:
        entry: Dict[str, Json] = {
            "method": method,
            "args": {k: encode(v, self.clean) for k, v in args.items()},
            kind: outcome,
            "ms": round((time.monotonic() - began) * 1000, 1),
        }
        probe = current_probe()
        if probe is not None:  # the replay answers this probe from its own calls (threads.py)
            entry["probe"] = probe
        size = len(json.dumps(entry))
        with self._lock:
            if self._size + size > OBSERVATIONS_LIMIT or len(self.observations) >= (
                OBSERVATIONS_COUNT
            ):
                self.dropped += 1
                return
            self._size += size
            entry["seq"] = len(self.observations)
            self.observations.append(entry)


# A tree's clock once said Unsupported where it now says None (no present moment): a recording
# of such a run answers None.
UNSUPPORTED_MEANS_NONE = frozenset(("now",))


class ReplayHost(ComposedHost):
    """Serves recorded observations. A call is looked up by its method and arguments, from the
    calls of the probe that makes it when the recording says which (threads.py), else from all;
    repeated calls get their answers in recorded order (the last one again once they run out);
    a call that was not recorded is answered with CouldNotLook, so its check is inconclusive.
    ``rooted``: the recording is of a foreign root (--root), whose package database and units
    are read from files."""

    def __init__(
        self,
        observations: "Sequence[Mapping[str, object]]",
        env: "Mapping[str, str]",
        captured_at: float,
        rooted: bool = False,
        budget: "Optional[Budget]" = None,
    ) -> None:
        self.captured_at = captured_at
        self._lock = threading.Lock()
        # Answers by question, and by the probe that asked it and the question (threads.py):
        # a probe gets its own recorded answers, in their order, while it has any; a question
        # that no probe asked (or a recording that did not say which) gets them all in order.
        self._answers: Dict[str, Deque[Mapping[str, object]]] = {}
        self._by_probe: Dict[Tuple[str, str], Deque[Mapping[str, object]]] = {}
        for entry in sorted(observations, key=_seq):
            args = entry.get("args", {})
            if isinstance(args, dict):
                key = call_key(str(entry.get("method")), args)
                self._answers.setdefault(key, deque()).append(entry)
                probe = entry.get("probe")
                if isinstance(probe, str):
                    self._by_probe.setdefault((probe, key), deque()).append(entry)

        def make(method: Method) -> "Callable[..., object]":
            def call(*args: object, **kwargs: object) -> object:
                return self._answer(method, method.bind(args, kwargs))

            return call

        from .live import live_parts
        from .rooted import tree_parts

        parts = _parts(make)
        super().__init__(
            dict(env),
            budget if budget is not None else Budget(),
            # Each generated part is the protocol it was made from (``declared``);
            # tests/test_replay.py holds every protocol question to a generated one.
            cast("ClockPart", parts["clock"]),
            cast("FilesPart", parts["files"]),
            cast("CommandsPart", parts["commands"]),
            cast("HttpPart", parts["web"]),
            cast("JournalPart", parts["journal"]),
            cast("ProcessesPart", parts["processes"]),
            cast("NetworkPart", parts["network"]),
            tree_parts if rooted else live_parts,
        )

    def _answer(self, method: Method, bound: "Mapping[str, object]") -> object:
        from ..redact import mask

        shown = {k: encode(v, mask) for k, v in method.shown(bound).items()}
        probe = current_probe()

        def recorded(key: str) -> "Optional[Deque[Mapping[str, object]]]":
            own = self._by_probe.get((probe, key)) if probe is not None else None
            return own or self._answers.get(key)

        with self._lock:
            queue = recorded(call_key(method.name, shown))
            older = _older_spelling(method.name, bound)
            if not queue and older is not None:
                shown["argv"] = encode(older, mask)
                queue = recorded(call_key(method.name, shown))
            if not queue:
                if method.name == "now":
                    return self.captured_at
                raise CouldNotLook(NOT_RECORDED)
            entry = queue.popleft() if len(queue) > 1 else queue[0]
        if "error" in entry:
            error = decode_error(entry["error"])
            if isinstance(error, Unsupported) and method.name in UNSUPPORTED_MEANS_NONE:
                return None
            raise error
        try:
            return decode_as(method.answer, entry.get("result"))
        except Malformed as exc:
            raise Malformed(f"the recorded answer to {method.name} is malformed: {exc}") from None


# Questions a doctor before the package database part asked in another spelling: the SSM
# agent's package record, asked since as the GuardDuty agent's is. A recording of such a run
# answers it under its older spelling, in a shape the SSM probe reads too.
OLDER_SPELLINGS = (
    (
        ("dpkg-query", "-W", "-f", DPKG_QUERY_FORMAT),
        ("dpkg-query", "-W", "-f", "${Status}\t${Version}"),
    ),
    (("rpm", "-q", "--qf", RPM_QUERY_FORMAT), ("rpm", "-q")),
)


def _older_spelling(method: str, bound: "Mapping[str, object]") -> "Optional[Tuple[str, ...]]":
    argv = bound.get("argv")
    if method != "run" or not isinstance(argv, (list, tuple)):
        return None
    words = tuple(str(a) for a in argv)
    for now, before in OLDER_SPELLINGS:
        if words[:-1] == now:
            return before + words[-1:]
    return None


def _seq(entry: "Mapping[str, object]") -> int:
    seq = entry.get("seq", 0)
    return seq if isinstance(seq, int) else 0


def answered(observations: "Sequence[Mapping[str, object]]") -> "Tuple[int, int]":
    """(calls answered, calls that raised) in a recording."""
    errors = sum(1 for e in observations if "error" in e)
    return len(observations) - errors, errors
