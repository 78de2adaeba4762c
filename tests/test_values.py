"""Value classes behave as frozen dataclasses do, in everything the code relies on; each
assertion here is one a dataclass also passes (checked side by side)."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Dict, List, Optional

import pytest

from amzn_gd_doctor.values import FrozenInstanceError, field, fields, replace, value


@value
class Point:
    x: int
    label: str = "p"
    tags: Dict[str, int] = field(default_factory=dict)


@value(frozen=False)
class Tally:
    seen: List[int] = field(default_factory=list)
    last: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class PointDC:
    x: int
    label: str = "p"
    tags: Dict[str, int] = dataclasses.field(default_factory=dict)


@pytest.mark.parametrize("cls", [Point, PointDC])
def test_behaves_as_a_frozen_dataclass(cls) -> None:  # type: ignore[no-untyped-def]
    a, b = cls(1), cls(x=1, label="p")
    assert a == b and a != cls(2) and a != (1, "p", {})
    assert hash(cls(1, tags=None)) == hash(cls(1, tags=None))  # hashable when its fields are
    assert cls(1, "q").label == "q" and cls(1, tags={"k": 1}).tags == {"k": 1}
    assert a.tags is not cls(1).tags  # a fresh default per instance
    assert repr(cls(3, "z")) == f"{cls.__qualname__}(x=3, label='z', tags={{}})"
    with pytest.raises(AttributeError):
        a.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del a.label  # type: ignore[misc]
    for bad in ((), (1, "p", {}, 4)):
        with pytest.raises(TypeError):
            cls(*bad)
    with pytest.raises(TypeError):
        cls(1, x=2)
    with pytest.raises(TypeError):
        cls(1, colour="red")
    assert pickle.loads(pickle.dumps(cls(4, "y"))) == cls(4, "y")
    changed = (replace if cls is Point else dataclasses.replace)(cls(1, "a"), label="b")
    assert (changed.x, changed.label) == (1, "b")


def test_errors_and_field_names() -> None:
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
        Point(1).x = 2  # type: ignore[misc]
    with pytest.raises(TypeError, match="has no field"):
        replace(Point(1), colour="red")
    assert fields(Point) == ("x", "label", "tags") == fields(Point(1))
    with pytest.raises(TypeError, match="without a default follows one with"):

        @value
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]


def test_mutable_accumulators_are_unhashable() -> None:
    tally = Tally()
    tally.seen.append(3)
    tally.last = 3
    assert tally == Tally([3], 3) and Tally().seen == []
    with pytest.raises(TypeError):
        hash(tally)
