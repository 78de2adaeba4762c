"""The typed contract between probes and rules: one key per fact, naming its id and the class of
its value. A probe registers under its key (``@probe(AGENT_UNIT)``), a rule lists the keys it
reads (``facts=(AGENT_UNIT,)``) and takes parameters of exactly those classes, and
``ctx.need(AGENT_UNIT)`` is an ``AgentUnit`` for mypy and, checked when the probe returns, at run
time too.

The value classes live in this package, one module per area, so that every area imports them
without importing another area's probes; so do the names and small helpers that probes and
rules share (the agent's unit name, the endpoint kinds, how a DNS answer reads), so that a rule
imports no probe. These modules import no probe, no rule, no host (the host's answers they
hold come from ``answers.py``) and nothing that costs start-up time; ``lint-imports`` holds it.
"""

from typing import Dict, Generic, Type, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# Every key's title by fact id, as keys are made: the engine words "could not be read" and
# "not checked" with them (doctor.py), so that no fact id reaches a sentence.
_TITLES: "Dict[str, str]" = {}


class Key(Generic[T_co]):
    """A fact's id (``area.thing``, the report's stable name), the class of its value, and its
    title: what it is, in words that fit a sentence ("the instance identity document could not
    be read"), so lower case unless a name, and singular or plural alike."""

    __slots__ = ("id", "type", "title")

    def __init__(self, fact_id: str, type_: "Type[T_co]", title: str = "") -> None:
        self.id = fact_id
        self.type = type_
        self.title = title
        if title:
            _TITLES[fact_id] = title

    def __repr__(self) -> str:
        return f"Key({self.id!r}, {self.type.__name__})"


def title(fact_id: str) -> str:
    """A fact's title, or for a key made without one its id in words ("host disk space"): never
    the bare id, which is not for people."""
    return _TITLES.get(fact_id) or fact_id.replace(".", " ").replace("_", " ")
