"""Probe and rule registration by decorator, and discovery of every module under ``probes/``
and ``rules/``: adding a diagnosis never edits a list.
"""

import importlib
import pkgutil
import threading
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

from .values import value

# A probe reads a handful of files or makes one or two calls; 5 s is generous for any of them
# and still leaves the whole run inside the default deadline.
DEFAULT_PROBE_TIMEOUT_S = 5.0

F = TypeVar("F", bound=Callable[..., Any])


@value
class ProbeSpec:
    id: str
    fn: "Callable[..., Any]"
    needs: "Tuple[str, ...]"
    timeout: float


@value
class RuleSpec:
    id: str
    fn: "Callable[..., Any]"
    title: str
    facts: "Tuple[str, ...]"
    optional: "Tuple[str, ...]"
    requires: "Tuple[str, ...]"
    issues: "Tuple[str, ...]"

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


_PROBES: "Dict[str, ProbeSpec]" = {}
_RULES: "Dict[str, RuleSpec]" = {}
_loaded = False
_lock = threading.Lock()


def probe(
    probe_id: str, *, needs: "Tuple[str, ...]" = (), timeout: float = DEFAULT_PROBE_TIMEOUT_S
) -> "Callable[[F], F]":
    """Register ``fn(ctx) -> value`` as the probe ``probe_id`` (``area.thing``)."""

    def register(fn: F) -> F:
        if probe_id in _PROBES and _PROBES[probe_id].fn is not fn:
            raise ValueError(f"probe id {probe_id!r} registered twice")
        _PROBES[probe_id] = ProbeSpec(probe_id, fn, tuple(needs), timeout)
        return fn

    return register


def rule(
    rule_id: str,
    *,
    title: str,
    facts: "Tuple[str, ...]",
    optional: "Tuple[str, ...]" = (),
    requires: "Tuple[str, ...]" = (),
    issues: "Tuple[str, ...]" = (),
) -> "Callable[[F], F]":
    """Register a pure rule. It is called with the values of ``facts`` then ``optional``
    (None where not observed), in that order. ``requires`` names rules whose failure blocks
    this one; ``issues`` names the catalogue codes its failures may carry."""

    def register(fn: F) -> F:
        if rule_id in _RULES and _RULES[rule_id].fn is not fn:
            raise ValueError(f"rule id {rule_id!r} registered twice")
        _RULES[rule_id] = RuleSpec(
            rule_id, fn, title, tuple(facts), tuple(optional), tuple(requires), tuple(issues)
        )
        return fn

    return register


def _import_all(package: str) -> None:
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{package}.{info.name}")


def load() -> "Tuple[Dict[str, ProbeSpec], Dict[str, RuleSpec]]":
    """Every registered probe and rule, importing their modules once."""
    global _loaded
    with _lock:
        if not _loaded:
            _import_all("amzn_gd_doctor.probes")
            _import_all("amzn_gd_doctor.rules")
            _loaded = True
    return dict(_PROBES), dict(_RULES)


def probe_spec(probe_id: str) -> "Optional[ProbeSpec]":
    return load()[0].get(probe_id)
