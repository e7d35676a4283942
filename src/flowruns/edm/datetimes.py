"""Edm.DateTimeOffset values as integer ticks.

A tick is 100 ns, the resolution Graph writes (up to seven fractional digits). Python's
``datetime`` stops at microseconds, so values travel through flowruns as integer ticks since
the Unix epoch, UTC: exact, engine-neutral to store and index, and plain integers to subtract.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1)
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]

# [0-9], not \d: \d also matches the digits of other scripts, which int() then accepts.
_PATTERN = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<h>[0-9]{2}):(?P<m>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,12}))?)?"
    r"(?P<tz>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


class InvalidDateTime(ValueError):
    """The text is not an ISO 8601 date-time with a UTC offset."""


def parse(text: str) -> int:
    """Ticks of an ISO 8601 date-time that carries an offset (``Z`` or ``±hh:mm``)."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise InvalidDateTime(f"'{text}' is not an ISO 8601 date-time")
    if match["tz"] is None:
        raise InvalidDateTime(f"'{text}' has no UTC offset; add 'Z' or '+hh:mm'")
    try:
        base = datetime.fromisoformat(
            f"{match['date']}T{match['h']}:{match['m']}:{match['s'] or '00'}"
        )
    except ValueError as exc:
        raise InvalidDateTime(f"'{text}' is not a valid date-time: {exc}") from None
    fraction = (match["f"] or "").ljust(7, "0")
    if fraction[7:].strip("0"):
        raise InvalidDateTime(f"'{text}' has more than seven significant fractional digits")
    offset = timedelta()
    tz = match["tz"]
    if tz not in ("Z", "z"):
        hours, minutes = int(tz[1:3]), int(tz[4:6])
        if hours > 23 or minutes > 59:
            raise InvalidDateTime(f"'{text}' has an invalid UTC offset")
        offset = timedelta(hours=hours, minutes=minutes) * (1 if tz[0] == "+" else -1)
    try:
        utc = (base - offset).replace(tzinfo=UTC)
    except OverflowError:
        raise InvalidDateTime(f"'{text}' is out of range once converted to UTC") from None
    seconds = (utc - _EPOCH) // timedelta(seconds=1)
    return seconds * TICKS_PER_SECOND + int(fraction[:7])


@lru_cache(maxsize=16_384)
def _hour(hours: int) -> str:
    """``YYYY-MM-DDThh:`` of the hour ``hours`` after the epoch."""
    days, hour = divmod(hours, 24)
    # isoformat, not strftime("%Y"): the latter drops the zero padding of years before 1000.
    return f"{(_EPOCH_DAY + timedelta(days=days)).isoformat()}T{_TWO_DIGITS[hour]}:"


def format_ticks(ticks: int) -> str:
    """``YYYY-MM-DDThh:mm:ss[.fffffff]Z``, with trailing zeros of the fraction dropped."""
    # Every row of a page carries two timestamps: integer arithmetic on a cached hour is about
    # five times cheaper than building a datetime per value.
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    text = _hour(hours) + _TWO_DIGITS[minutes] + ":" + _TWO_DIGITS[seconds]
    if fraction:
        text += "." + f"{fraction:07d}".rstrip("0")
    return text + "Z"


def now_ticks() -> int:
    return time.time_ns() // 100
