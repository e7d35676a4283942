"""Edm.Date and Edm.Duration values: parsing OData literals and writing them back.

Dates are days since the Unix epoch and durations are ticks (100 ns), so date arithmetic is
integer arithmetic on every engine. See :mod:`flowruns.edm.datetimes` for date-times.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flowruns.edm.datetimes import TICKS_PER_SECOND

TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_EPOCH = date(1970, 1, 1)
_MAX_DIGITS = 18
# [0-9], not \d: \d also matches the digits of other scripts, which int() then accepts.
_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<d>[0-9]+)D)?"
    r"(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+)(?:\.(?P<f>[0-9]{1,7}))?S)?)?"
)


def ascii_integer(text: str) -> int | None:
    """The non-negative integer ``text`` writes in ASCII digits (``0``-``9``) only, else None.

    ``str.isdigit``, ``int()`` and the ``\\d`` of :mod:`re` also take the digits of other
    scripts (Arabic-Indic ``\\u0661``, superscript ``\\u00b2``): every integer a client
    writes is read here, so none of those is. More than 18 digits is None too: no count or
    size flowruns reads needs them.
    """
    if not 0 < len(text) <= _MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def parse_date(text: str) -> int:
    """Days since 1970-01-01 of ``YYYY-MM-DD``."""
    return (date.fromisoformat(text) - _EPOCH).days


def format_date(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).isoformat()


def parse_duration(text: str) -> int:
    """Ticks of an ISO 8601 day-time duration such as ``P1DT2H30M`` or ``PT0.5S``."""
    match = _DURATION.fullmatch(text)
    if match is None or text.rstrip("-") in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"'{text}' is not a day-time duration such as 'PT1H30M' or 'P2D'")
    days, hours, minutes, seconds = (int(match[k] or 0) for k in ("d", "h", "m", "s"))
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    ticks = total * TICKS_PER_SECOND + int((match["f"] or "").ljust(7, "0"))
    return -ticks if match["sign"] else ticks


def format_duration(ticks: int) -> str:
    """``P1DT2H3M4.5S``, the form Graph writes (``PT0S`` for zero)."""
    sign = "-" if ticks < 0 else ""
    seconds, fraction = divmod(abs(ticks), TICKS_PER_SECOND)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    text = f"{sign}P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or fraction:
        clock += str(seconds) + (f".{fraction:07d}".rstrip("0") if fraction else "") + "S"
    if clock or not days:
        text += "T" + (clock or "0S")
    return text
