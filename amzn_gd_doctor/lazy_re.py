"""Regular expressions compiled on first use, or not compiled at all when the build already did.

The doctor's modules make about two hundred patterns as they load, for log lines, unit files,
identifiers and secrets, while a run uses those that its host's files call for: compiling them
all at import cost 5 ms (Python 3.13) to 9 ms (3.6) of every run's start when they were half as
many. ``compile`` returns a stand-in that compiles on its first use and from then on hands out
the compiled pattern's own methods.

**Compiled at build time.** The one file and the packages also carry, for each interpreter the
build had, a module ``_re_<cache tag>`` (``_re_cpython_313``): what that interpreter's regular
expression compiler hands its engine, ``_sre.compile``, for each pattern made here (see
scripts/build_pyz.py). A pattern found there is built from it without running the compiler,
which is written in Python: the redaction catalogue's union alone costs 11 ms (3.13) to 16 ms
(3.6) to compile, 0.1 ms to build; the module is read when the first pattern is used (1 to
1.5 ms). It is taken only when the running engine is the one it was made for (its magic number,
code size, limits and byte order, as a pyc's magic number names its interpreter), and for
exactly the pattern and flags asked; anything else, or an engine that refuses it, compiles as
before. A tree without those modules (a checkout, ``pip install``) compiles every pattern.
"""

import re
import sys
from typing import Any, Dict, List, Optional, Tuple, cast, overload

# What the code calls on a pattern; bound once compiled, so later calls go straight to them.
_ATTRIBUTES = (
    "match",
    "search",
    "fullmatch",
    "finditer",
    "findall",
    "sub",
    "subn",
    "split",
    "pattern",
    "flags",
    "groups",
    "groupindex",
)

# Every (pattern, flags) made here, in order: what the build compiles ahead (scripts/build_pyz.py).
MADE: "List[Tuple[Any, int]]" = []
# Read on first use: {(pattern, flags): _sre.compile's other arguments}; empty without a module
# for this interpreter.
_PREBUILT: "List[Dict[Tuple[Any, int], Tuple[Any, ...]]]" = []


def _sre() -> Any:
    """The engine, the C half of ``re`` (it has no type stubs)."""
    import importlib

    return importlib.import_module("_sre")


def engine() -> "Tuple[Any, ...]":
    """What compiled code depends on besides the pattern: the engine's magic number, code size
    and limits, and the byte order (large character sets are stored as machine words)."""
    sre = _sre()
    return (sre.MAGIC, sre.CODESIZE, sre.MAXREPEAT, sre.MAXGROUPS, sys.byteorder)


def prebuilt_module() -> str:
    """The name of this interpreter's module of compiled patterns: ``..._re_cpython_313``."""
    tag = sys.implementation.cache_tag.replace("-", "_")
    return f"{__name__.rpartition('.')[0]}._re_{tag}"


def _table() -> "Dict[Tuple[Any, int], Tuple[Any, ...]]":
    if not _PREBUILT:
        table: Dict[Tuple[Any, int], Tuple[Any, ...]] = {}
        try:
            import importlib

            module = importlib.import_module(prebuilt_module())
            if engine() == module.ENGINE:
                table = module.PATTERNS
        except Exception:  # none built for this interpreter, or not readable: compile
            table = {}
        _PREBUILT.append(table)
    return _PREBUILT[0]


def _prebuilt(pattern: Any, flags: int) -> "Optional[re.Pattern[Any]]":
    entry = _table().get((pattern, flags))
    if entry is None:
        return None
    try:
        final, code, groups, groupindex, indexgroup = entry
        # The engine checks the code it is given, and refuses what it cannot run.
        compiled = _sre().compile(pattern, final, list(code), groups, dict(groupindex), indexgroup)
    except Exception:
        return None
    return cast("re.Pattern[Any]", compiled)


def compile_now(pattern: Any, flags: int = 0) -> "re.Pattern[Any]":
    """``re.compile``, from the build's compiled code when it holds this pattern."""
    return _prebuilt(pattern, flags) or re.compile(pattern, flags)


class _Lazy:
    def __init__(self, pattern: Any, flags: int) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        compiled = compile_now(*self._args)  # two threads may both compile: the same result
        for attribute in _ATTRIBUTES:
            self.__dict__[attribute] = getattr(compiled, attribute)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_re.compile({self._args[0]!r})"


@overload
def compile(pattern: str, flags: int = 0) -> "re.Pattern[str]": ...  # noqa: A001


@overload
def compile(pattern: bytes, flags: int = 0) -> "re.Pattern[bytes]": ...  # noqa: A001


def compile(pattern: Any, flags: int = 0) -> Any:  # noqa: A001
    """``re.compile``, deferred until the pattern is first used."""
    MADE.append((pattern, int(flags)))
    return _Lazy(pattern, int(flags))
