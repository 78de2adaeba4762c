"""What a probe is handed and how it registers: ``ProbeContext`` (the host, the run's
``Options`` and the facts the probe declared it needs), ``Blocked`` (a needed fact was not
observed), and the ``@probe`` and ``@derived`` decorators.

It sits below the engine (``doctor.py``), which builds the contexts and runs the probes, so a
probe imports this module and never the engine. Rules register through ``registry.py`` and
never import this module: it names the host, and no rule reaches the host, not even for a type.
"""

from typing import TYPE_CHECKING, Callable, Optional, Tuple, TypeVar

from .model import DEFAULT_DEADLINE_S, Fact
from .registry import DEFAULT_PROBE_TIMEOUT_S, ProbeSpec, add_probe
from .values import value

if TYPE_CHECKING:
    from .facts import Key
    from .host import Host

T = TypeVar("T")


@value
class Options:
    deadline: float = DEFAULT_DEADLINE_S
    root: "Optional[str]" = None
    imds_endpoint: "Optional[str]" = None
    region: "Optional[str]" = None
    dns_servers: "Tuple[str, ...]" = ()
    endpoint_port: int = 443
    # When the deadline starts counting (a time.monotonic() value): the command line passes the
    # moment its first module loaded, so that the whole process, start-up included, ends
    # within the deadline. None: when run() is called.
    origin: "Optional[float]" = None
    # Account ids, instance ids and IP addresses in the report replaced by pseudonyms.
    pseudonymize: bool = False


class Blocked(Exception):
    """A probe's prerequisite was not observed; ``root`` names the probe that failed first,
    ``cause`` the prerequisite itself."""

    def __init__(self, reason: str, root: str, cause: str = "") -> None:
        super().__init__(reason)
        self.root = root
        self.cause = cause


class ProbeContext:
    """What a probe gets: the host, the options, and the facts it declared it needs.
    ``wait`` is the engine's: the fact of a probe id once it has settled."""

    def __init__(
        self, host: "Host", options: Options, spec: ProbeSpec, wait: "Callable[[str], Fact]"
    ) -> None:
        self.host = host
        self.options = options
        self._spec = spec
        self._wait = wait

    def fact(self, key: "Key[object]") -> Fact:
        if key.id not in self._spec.needs:
            raise KeyError(f"probe {self._spec.id} did not declare it needs {key.id}")
        return self._wait(key.id)

    def need(self, key: "Key[T]") -> T:
        """The value of a needed fact, or Blocked when it could not be observed."""
        fact = self.fact(key)
        if not fact.ok:
            raise Blocked(
                f"needs {key.id}: {fact.reason or fact.status.value}",
                fact.blocked_by or key.id,
                key.id,
            )
        return fact.value  # type: ignore[no-any-return]  # the engine checked its class

    def observed(self, key: "Key[T]") -> "Optional[T]":
        """The value of a needed fact, or None when it could not be observed."""
        fact = self.fact(key)
        return fact.value if fact.ok else None


def probe(
    key: "Key[T]",
    *,
    needs: "Tuple[Key[object], ...]" = (),
    timeout: float = DEFAULT_PROBE_TIMEOUT_S,
) -> "Callable[[Callable[[ProbeContext], T]], Callable[[ProbeContext], T]]":
    """Register ``fn(ctx) -> value`` as the probe of ``key`` (``area.thing``); mypy holds its
    return type to the key's class, and the engine checks the value it returns."""

    def register(fn: "Callable[[ProbeContext], T]") -> "Callable[[ProbeContext], T]":
        add_probe(ProbeSpec(key.id, fn, tuple(k.id for k in needs), timeout, key.type))
        return fn

    return register


def derived(
    key: "Key[T]", *, needs: "Tuple[Key[object], ...]"
) -> "Callable[[Callable[[ProbeContext], T]], Callable[[ProbeContext], T]]":
    """Register a derived fact (a combiner): a function of the facts it ``needs`` only, never
    of the host, that merges sources so that each rule does not. It runs as a probe does, but
    the report lists only the facts observed on the host."""

    def register(fn: "Callable[[ProbeContext], T]") -> "Callable[[ProbeContext], T]":
        # Nothing to wait for but its inputs, which have their own timeouts.
        add_probe(ProbeSpec(key.id, fn, tuple(k.id for k in needs), 1.0, key.type, True))
        return fn

    return register
