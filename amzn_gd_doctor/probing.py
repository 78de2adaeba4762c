"""What a probe is handed and how it registers: ``ProbeContext`` (the run's ``Options`` and the
facts the probe declared it needs), the host parts it declared (and only those), ``Blocked`` (a
needed fact was not observed), and the ``@probe`` and ``@derived`` decorators.

``@probe(KEY, parts=(FILES, CLOCK))`` registers ``fn(ctx, files, clock)``: the probe is called
with those parts of the run's host, in that order, and mypy holds its parameters to them (an
overload per number of parts), so a probe cannot reach a part it did not declare.

It sits below the engine (``doctor.py``), which builds the contexts and runs the probes, so a
probe imports this module and never the engine. Rules register through ``registry.py`` and
never import this module: it names the host, and no rule reaches the host, not even for a type.
"""

import functools
from typing import TYPE_CHECKING, Callable, Dict, Optional, Sequence, Tuple, TypeVar, overload

from .model import DEFAULT_DEADLINE_S, Fact
from .registry import DEFAULT_PROBE_TIMEOUT_S, ProbeSpec, add_probe
from .values import value

if TYPE_CHECKING:
    from .facts import Key
    from .host import Host
    from .host.protocols import Part

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")

# The host parts each probe declared, by probe id, in the order it takes them (for the
# conformance tests: the engine hands them over through ``ProbeContext``).
PARTS: "Dict[str, Tuple[str, ...]]" = {}


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

    def run_deadline(self, started: float) -> float:
        """The run's deadline, a time.monotonic() value: ``deadline`` seconds from ``origin``,
        or from ``started`` (when the run starts) without one. The host is built with it and
        the engine keeps it."""
        return (self.origin if self.origin is not None else started) + self.deadline


class Blocked(Exception):
    """A probe's prerequisite was not observed; ``root`` names the probe that failed first,
    ``cause`` the prerequisite itself."""

    def __init__(self, reason: str, root: str, cause: str = "") -> None:
        super().__init__(reason)
        self.root = root
        self.cause = cause


class ProbeContext:
    """What a probe gets besides its parts: the options, and the facts it declared it needs.
    ``wait`` is the engine's: the fact of a probe id once it has settled. The host stays here,
    out of the probe's reach: ``@probe`` hands the probe the parts it declared."""

    def __init__(
        self, host: "Host", options: Options, spec: ProbeSpec, wait: "Callable[[str], Fact]"
    ) -> None:
        self.__host = host
        self.options = options
        self._spec = spec
        self._wait = wait

    def _parts(self, names: "Sequence[str]") -> "Tuple[object, ...]":
        return tuple(getattr(self.__host, name) for name in names)

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


@overload
def probe(
    key: "Key[T]", *, needs: "Tuple[Key[object], ...]" = (), timeout: float = ...
) -> "Callable[[Callable[[ProbeContext], T]], Callable[[ProbeContext], T]]": ...


@overload
def probe(
    key: "Key[T]",
    *,
    parts: "Tuple[Part[A]]",
    needs: "Tuple[Key[object], ...]" = (),
    timeout: float = ...,
) -> "Callable[[Callable[[ProbeContext, A], T]], Callable[[ProbeContext, A], T]]": ...


@overload
def probe(
    key: "Key[T]",
    *,
    parts: "Tuple[Part[A], Part[B]]",
    needs: "Tuple[Key[object], ...]" = (),
    timeout: float = ...,
) -> "Callable[[Callable[[ProbeContext, A, B], T]], Callable[[ProbeContext, A, B], T]]": ...


@overload
def probe(
    key: "Key[T]",
    *,
    parts: "Tuple[Part[A], Part[B], Part[C]]",
    needs: "Tuple[Key[object], ...]" = (),
    timeout: float = ...,
) -> "Callable[[Callable[[ProbeContext, A, B, C], T]], Callable[[ProbeContext, A, B, C], T]]": ...


@overload
def probe(
    key: "Key[T]",
    *,
    parts: "Tuple[Part[A], Part[B], Part[C], Part[D]]",
    needs: "Tuple[Key[object], ...]" = (),
    timeout: float = ...,
) -> (
    "Callable[[Callable[[ProbeContext, A, B, C, D], T]], Callable[[ProbeContext, A, B, C, D], T]]"
): ...


def probe(
    key: "Key[T]",
    *,
    parts: "Tuple[Part[object], ...]" = (),
    needs: "Tuple[Key[object], ...]" = (),
    timeout: float = DEFAULT_PROBE_TIMEOUT_S,
) -> "Callable[[Callable[..., T]], Callable[..., T]]":
    """Register ``fn(ctx, *parts) -> value`` as the probe of ``key`` (``area.thing``); mypy holds
    its parameters to ``parts`` and its return type to the key's class, and the engine checks
    the value it returns."""
    names = tuple(part.name for part in parts)

    def register(fn: "Callable[..., T]") -> "Callable[..., T]":
        def with_parts(ctx: ProbeContext) -> T:
            return fn(ctx, *ctx._parts(names))

        called = functools.update_wrapper(with_parts, fn) if names else fn
        PARTS[key.id] = names
        add_probe(ProbeSpec(key.id, called, tuple(k.id for k in needs), timeout, key.type))
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
