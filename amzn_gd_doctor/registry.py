"""Probe and rule registration, and discovery of every module under ``probes/`` and
``rules/``: adding a diagnosis never edits a list.

Both name facts by their typed keys (``facts/``): a probe registers under the key whose class
it returns, a rule lists the keys whose values it takes, in the order of its parameters. Rules
register here (``@rule``); probes through ``probing.py`` (``@probe``, ``@derived``), which
adds the context they are handed. This module names no host and no engine, so a rule that
imports it reaches neither.
"""

import importlib
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, TypeVar

from .values import value

if TYPE_CHECKING:
    from .facts import Key

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
    type: "type" = object  # the class of its value, from its key
    derived: bool = False  # computed from other facts only: not shown in the report


@value
class RuleSpec:
    id: str
    fn: "Callable[..., Any]"
    title: str
    facts: "Tuple[str, ...]"
    optional: "Tuple[str, ...]"
    requires: "Tuple[str, ...]"
    issues: "Tuple[str, ...]"
    types: "Tuple[type, ...]" = ()  # the classes of facts then optional, from their keys

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


_PROBES: "Dict[str, ProbeSpec]" = {}
_RULES: "Dict[str, RuleSpec]" = {}
_loaded = False
_lock = threading.Lock()


def add_probe(spec: ProbeSpec) -> None:
    """Register a probe or a derived fact (``probing.probe``, ``probing.derived``)."""
    if spec.id in _PROBES and _PROBES[spec.id].fn is not spec.fn:
        raise ValueError(f"probe id {spec.id!r} registered twice")
    _PROBES[spec.id] = spec


def rule(
    rule_id: str,
    *,
    title: str,
    facts: "Tuple[Key[object], ...]",
    optional: "Tuple[Key[object], ...]" = (),
    requires: "Tuple[str, ...]" = (),
    issues: "Tuple[str, ...]" = (),
) -> "Callable[[F], F]":
    """Register a pure rule. It is called with the values of ``facts`` then ``optional``
    (None where not observed), in that order, and its parameters are annotated with exactly
    their keys' classes (``Optional[...]`` for ``optional``): a conformance test holds it.
    ``requires`` names rules whose failure blocks this one; ``issues`` names the catalogue
    codes its failures may carry."""

    def register(fn: F) -> F:
        if rule_id in _RULES and _RULES[rule_id].fn is not fn:
            raise ValueError(f"rule id {rule_id!r} registered twice")
        _RULES[rule_id] = RuleSpec(
            rule_id,
            fn,
            title,
            tuple(k.id for k in facts),
            tuple(k.id for k in optional),
            tuple(requires),
            tuple(issues),
            tuple(k.type for k in facts + optional),
        )
        return fn

    return register


def module_names(package: str) -> "List[str]":
    """The modules and packages in ``package``, as ``pkgutil.iter_modules`` lists them. A folder
    is listed here: pkgutil lists each folder in it to see whether it is a package, the
    ``__pycache__`` included, and the packages' holds a pyc per interpreter (about 400 names in
    ``probes/``), which cost 2 ms of every run; here a folder is a package when it holds an
    ``__init__`` module. The one file's modules, which are in no folder, are listed by pkgutil."""
    from importlib.machinery import all_suffixes

    suffixes = sorted(all_suffixes(), key=lambda s: (-len(s), s))  # the longest first

    def stem(name: str) -> "Optional[str]":
        return next((name[: -len(s)] for s in suffixes if name.endswith(s)), None)

    names: List[str] = []
    for path in importlib.import_module(package).__path__:
        try:
            entries = sorted(os.listdir(path))  # a package before a module of the same name
        except OSError:  # not a folder: the importer that serves it lists its modules
            import pkgutil

            names += [i.name for i in pkgutil.iter_modules([path]) if i.name not in names]
            continue
        for entry in entries:
            name = stem(entry)
            if name == "__init__" or name in names:
                continue
            if not name and "." not in entry and os.path.isdir(os.path.join(path, entry)):
                init = os.path.join(path, entry, "__init__")
                if not any(os.path.exists(init + s) for s in suffixes):
                    continue  # a folder that is no package
                name = entry
            if name and "." not in name:
                names.append(name)
    return names


def _import_all(package: str) -> None:
    for name in module_names(package):
        importlib.import_module(f"{package}.{name}")


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
