"""Value classes: the small frozen records that probes, rules and reports are made of.

They behave as ``dataclasses`` records do, in what this code uses: construction by position or
keyword, defaults and ``field(default_factory=...)``, equality and hashing by field values, a
``Name(field=value, ...)`` repr, frozen instances, and ``replace``. They are made differently:
``dataclasses`` writes and compiles source code for every class as it is imported, 0.5 ms (3.6)
to 0.75 ms (3.13) a class, which for the doctor's sixty classes was 30-45 ms of every run's
start, more than any probe. Here every class shares the same few functions, so defining one
costs microseconds. Type checkers see a dataclass, through PEP 681's ``dataclass_transform``.

Not supported, because nothing here needs them: inheritance between value classes, ClassVar
fields, ``__post_init__``, ordering and slots.
"""

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, Type, TypeVar, overload

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> "Callable[[T], T]":
        return lambda fn: fn


FIELDS = "__value_fields__"


class FrozenInstanceError(AttributeError):
    """A field of a frozen value was assigned or deleted."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: "Callable[[], Any]") -> None:
        self.make = make


def field(*, default_factory: "Callable[[], T]") -> T:
    """A default made anew for every instance (a dict or a list), as in ``dataclasses``."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _frozen_setattr(self: Any, name: str, _value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _make(cls: "Type[T]", frozen: bool) -> "Type[T]":
    if any(hasattr(base, FIELDS) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: value classes do not inherit from one another")
    names: Tuple[str, ...] = tuple(cls.__dict__.get("__annotations__", {}))
    defaults: Dict[str, Any] = {}
    for name in names:
        if name in cls.__dict__:
            defaults[name] = cls.__dict__[name]
            if isinstance(defaults[name], _Factory):
                delattr(cls, name)
        elif defaults:
            raise TypeError(f"{cls.__name__}: field {name!r} without a default follows one with")
    count = len(names)
    title = cls.__name__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) == count and not kwargs:
            self.__dict__.update(zip(names, args))
            return
        if len(args) > count:
            raise TypeError(f"{title}() takes {count} positional arguments, {len(args)} given")
        values = list(args)
        for name in names[len(args) :]:
            if name in kwargs:
                values.append(kwargs.pop(name))
            elif name in defaults:
                default = defaults[name]
                values.append(default.make() if isinstance(default, _Factory) else default)
            else:
                raise TypeError(f"{title}() missing the argument {name!r}")
        if kwargs:
            raise TypeError(f"{title}() got unexpected or repeated arguments: {sorted(kwargs)}")
        self.__dict__.update(zip(names, values))

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={self.__dict__[name]!r}" for name in names)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(self.__dict__[name] == other.__dict__[name] for name in names)

    def __hash__(self: Any) -> int:
        return hash(tuple(self.__dict__[name] for name in names))

    methods: Dict[str, Any] = {FIELDS: names, "__init__": __init__, "__repr__": __repr__}
    methods["__eq__"] = __eq__
    if frozen:
        methods.update(__hash__=__hash__, __setattr__=_frozen_setattr, __delattr__=_frozen_delattr)
    else:  # mutable and compared by value: unhashable, as a dataclass would be
        methods["__hash__"] = None
    for name, fn in methods.items():
        setattr(cls, name, fn)
    return cls


@overload
def value(cls: "Type[T]") -> "Type[T]": ...


@overload
def value(*, frozen: bool = True) -> "Callable[[Type[T]], Type[T]]": ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value(cls: "Optional[Type[T]]" = None, *, frozen: bool = True) -> Any:
    """``@value`` for a frozen record, ``@value(frozen=False)`` for an accumulator."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)


def fields(obj: Any) -> "Tuple[str, ...]":
    """The field names of a value class or instance, in order."""
    return tuple(getattr(obj, FIELDS))


def replace(obj: T, **changes: Any) -> T:
    """A copy of ``obj`` with some fields changed."""
    names = fields(obj)
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field(s) {sorted(unknown)}")
    current = obj.__dict__
    return type(obj)(*(changes[n] if n in changes else current[n] for n in names))
