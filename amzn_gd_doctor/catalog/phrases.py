"""The agent phrase catalogue (``agent_phrases.json``): what the GuardDuty agent, libbpf and
the Go runtime write when the agent cannot work, each phrase class with what it means.

Data, not code: a new phrase is one line of JSON. Loaded once, compiled once.
"""

import functools
import re
from typing import Dict, List, Optional, Tuple

from .. import lazy_re
from ..values import value
from . import _load_json


@value
class PhraseClass:
    name: str
    category: str
    meaning: str
    context: str  # "any": the phrase alone is a failure; "error": only on a failure line
    pattern: "re.Pattern[str]"

    def matches(self, lowered: str, failure_line: bool) -> bool:
        """Whether the line, already lower-cased, shows this class."""
        if self.context == "error" and not failure_line:
            return False
        return self.pattern.search(lowered) is not None


@functools.lru_cache(maxsize=None)
def phrase_classes() -> "Tuple[PhraseClass, ...]":
    """Every class in catalogue order: the first one that matches a line wins."""
    data = _load_json("agent_phrases.json")
    return tuple(
        PhraseClass(
            name=item["class"],
            category=item["category"],
            meaning=item["meaning"],
            context=item.get("context", "any"),
            pattern=_compile(item["class"], item["patterns"]),
        )
        for item in data["phrases"]
    )


def _compile(name: str, patterns: "List[str]") -> "re.Pattern[str]":
    r"""Case-insensitive by lower-casing pattern and line: re.IGNORECASE costs three times as
    much per line, and the agent's log tail is tens of thousands of lines. An upper-case
    escape (\S, \D, \W, \B) would change meaning when lower-cased, so none is allowed."""
    for pattern in patterns:
        if re.search(r"\\[A-Z]", pattern):
            raise ValueError(f"phrase class {name}: upper-case escape in {pattern!r}")
    # lazy_re: the build compiles it ahead for the installed forms (see lazy_re).
    return lazy_re.compile("|".join(f"(?:{p})" for p in patterns).lower())


@functools.lru_cache(maxsize=None)
def categories() -> "Dict[str, str]":
    return dict(_load_json("agent_phrases.json")["categories"])


def by_name(name: str) -> PhraseClass:
    for item in phrase_classes():
        if item.name == name:
            return item
    raise KeyError(name)


def classify(line: str, failure_line: bool = True) -> "Optional[PhraseClass]":
    """The first phrase class ``line`` shows; ``failure_line`` says whether the line is at
    warning level or above (or, without a level, reads like a failure)."""
    lowered = line.lower()
    for item in phrase_classes():
        if item.matches(lowered, failure_line):
            return item
    return None
