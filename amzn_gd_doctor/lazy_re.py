"""Regular expressions compiled on first use.

The doctor's modules hold about forty patterns, for log lines, unit files and identifiers;
compiling them all as the modules load cost 5 ms (Python 3.13) to 9 ms (3.6) of every run's
start, while a run uses the few that its host's files call for. ``compile`` returns a stand-in
that compiles on its first use and from then on hands out the compiled pattern's own methods.
"""

import re
from typing import Any, overload

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


class _Lazy:
    def __init__(self, pattern: Any, flags: int) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        compiled = re.compile(*self._args)  # two threads may both compile: the same result
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
    return _Lazy(pattern, flags)
