"""Building ``$filter`` and ``$orderby`` values without splicing text.

``F`` starts a property path; comparing a path with a Python value renders the value as an OData
literal — strings quoted with quotes doubled, date-times in UTC with ``Z``, enums by name,
``None`` as ``null`` — so a value can never change the shape of the expression::

    F.status == "failed"
    (F.startDateTime >= since) & F.process.id.eq(process_id)
    F.statistics["recordsFailed"] > 0
    F.displayName.contains("roster") | ~F.blockingError.code.eq("runTimedOut")

Combine expressions with ``&`` (and), ``|`` (or) and ``~`` (not); Python's ``and``/``or`` and
chained comparisons cannot be overloaded, so they raise :class:`TypeError` instead of silently
dropping half of the filter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from uuid import UUID

from flowruns.client.codec import format_datetime

# A member name usable as a path segment (statistics members included).
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Binding strength: a child weaker than its parent gets parentheses.
_ATOM, _NOT, _AND, _OR = 0, 1, 2, 3


def literal(value: object) -> str:
    """``value`` as an OData literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return literal(value.value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no OData literal; numbers must be finite")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} has no OData literal; numbers must be finite")
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"duration'{_duration(value)}'"
    if isinstance(value, UUID):
        # Ids are Edm.String in this model, so a UUID compares as its text.
        return literal(str(value))
    raise TypeError(f"{type(value).__name__} values cannot be used in a filter")


def _duration(value: timedelta) -> str:
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    seconds = value.seconds + value.microseconds / 1_000_000
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"{sign}P{value.days}DT{text}S"


class Filter:
    """A boolean ``$filter`` expression; ``str(f)`` is its OData text."""

    __slots__ = ("_precedence", "_text")

    def __init__(self, text: str, precedence: int = _ATOM) -> None:
        self._text = text
        self._precedence = precedence

    def _operand(self, parent: int) -> str:
        return f"({self._text})" if self._precedence > parent else self._text

    def __and__(self, other: Filter) -> Filter:
        return Filter(f"{self._operand(_AND)} and {_filter(other)._operand(_AND)}", _AND)

    def __or__(self, other: Filter) -> Filter:
        return Filter(f"{self._operand(_OR)} or {_filter(other)._operand(_OR)}", _OR)

    def __invert__(self) -> Filter:
        # OData's `not` binds tighter than comparisons, so its operand is always parenthesized.
        return Filter(f"not ({self._text})", _NOT)

    def __bool__(self) -> bool:
        raise TypeError("combine filters with & | ~, not with and/or/not or chained comparisons")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Filter({self._text!r})"


def _filter(value: object) -> Filter:
    if not isinstance(value, Filter):
        raise TypeError(f"cannot combine a filter with {type(value).__name__}")
    return value


class OrderKey:
    """One ``$orderby`` key: a path and a direction."""

    __slots__ = ("descending", "path")

    def __init__(self, path: Path, descending: bool) -> None:
        self.path = path
        self.descending = descending

    def __str__(self) -> str:
        return f"{self.path} {'desc' if self.descending else 'asc'}"


class Path:
    """A property path such as ``status``, ``process/id`` or ``statistics/recordsFailed``.

    Attribute access and ``[name]`` add a segment; comparisons make a :class:`Filter`.
    """

    __slots__ = ("_segments",)

    def __init__(self, segments: tuple[str, ...] = ()) -> None:
        self._segments = segments

    def __getattr__(self, name: str) -> Path:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} cannot be a property path segment")
        return Path((*self._segments, name))

    def __str__(self) -> str:
        if not self._segments:
            raise ValueError("F alone names no property; write F.status, F.process.id, …")
        return "/".join(self._segments)

    def __repr__(self) -> str:
        return f"Path({'/'.join(self._segments)!r})"

    def _compare(self, operator: str, value: object) -> Filter:
        return Filter(f"{self} {operator} {literal(value)}")

    # Operators: `F.x == v` reads naturally; the named methods suit linters that flag `== None`.
    def __eq__(self, value: object) -> Filter:  # type: ignore[override]
        return self._compare("eq", value)

    def __ne__(self, value: object) -> Filter:  # type: ignore[override]
        return self._compare("ne", value)

    def __gt__(self, value: object) -> Filter:
        return self._compare("gt", value)

    def __ge__(self, value: object) -> Filter:
        return self._compare("ge", value)

    def __lt__(self, value: object) -> Filter:
        return self._compare("lt", value)

    def __le__(self, value: object) -> Filter:
        return self._compare("le", value)

    __hash__ = None  # type: ignore[assignment]  # == builds a filter, so paths are not keys

    def eq(self, value: object) -> Filter:
        """``path eq value``."""
        return self._compare("eq", value)

    def ne(self, value: object) -> Filter:
        """``path ne value``."""
        return self._compare("ne", value)

    def gt(self, value: object) -> Filter:
        """``path gt value``."""
        return self._compare("gt", value)

    def ge(self, value: object) -> Filter:
        """``path ge value``."""
        return self._compare("ge", value)

    def lt(self, value: object) -> Filter:
        """``path lt value``."""
        return self._compare("lt", value)

    def le(self, value: object) -> Filter:
        """``path le value``."""
        return self._compare("le", value)

    def is_null(self) -> Filter:
        """``path eq null``."""
        return self._compare("eq", None)

    def is_not_null(self) -> Filter:
        """``path ne null``."""
        return self._compare("ne", None)

    def in_(self, values: Iterable[object]) -> Filter:
        """``path in (v1, v2, …)``; at least one value."""
        items = [literal(v) for v in values]
        if not items:
            raise ValueError("in_() needs at least one value")
        return Filter(f"{self} in ({','.join(items)})")

    def contains(self, text: str) -> Filter:
        """``contains(path, text)``: a case-sensitive substring match."""
        return Filter(f"contains({self},{literal(text)})")

    def startswith(self, text: str) -> Filter:
        """``startswith(path, text)``."""
        return Filter(f"startswith({self},{literal(text)})")

    def endswith(self, text: str) -> Filter:
        """``endswith(path, text)``."""
        return Filter(f"endswith({self},{literal(text)})")

    def asc(self) -> OrderKey:
        """This path as an ascending ``$orderby`` key."""
        return OrderKey(self, descending=False)

    def desc(self) -> OrderKey:
        """This path as a descending ``$orderby`` key."""
        return OrderKey(self, descending=True)


#: The root of every property path: ``F.status``, ``F.statistics["recordsFailed"]``.
F = Path()
