"""A table of results remembered up to a bound: a fleet repeats its reasons, host lines and
check ids over thousands of outputs, and what was computed for one is looked up for the next.
Full, the table is emptied and starts again, so its memory does not grow with the fleet."""

from typing import Dict, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(Dict[K, V]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        """Remembers ``value`` for ``key`` and returns it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
