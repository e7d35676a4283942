"""When a process's runs are expected to start: a cron expression in an IANA time zone, or an
ISO 8601 repeating interval.

Cron expressions are evaluated by cronsim (the evaluator of healthchecks.io), whose daylight-
saving rules are the ones flowruns promises: an expected time that does not exist (the hour
skipped when clocks spring forward) moves to the first valid instant after it, and a time that
exists twice (the hour repeated when clocks fall back) is expected once, at its first
occurrence. A repeating interval ``R[n]/start/duration`` expects ``start``, ``start +
duration``, … (``n`` starts when ``n`` is given), with a day-time duration (no months or years,
whose length varies).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from flowruns.edm import datetimes
from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.errors import InvalidRequest
from flowruns.odata.literals import ascii_integer, parse_duration

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICKS_PER_MICROSECOND = 10


@dataclass(frozen=True)
class Schedule:
    """Expected starts: :meth:`after` lists them in order."""

    cron: str | None = None
    zone: ZoneInfo | None = None
    start: int = 0
    period: int = 0
    count: int | None = None

    def after(self, ticks: int) -> Iterator[int]:
        """The expected starts strictly after ``ticks``, in order."""
        if self.cron is not None:
            assert self.zone is not None
            moment = (_EPOCH + timedelta(microseconds=ticks // _TICKS_PER_MICROSECOND)).astimezone(
                self.zone
            )
            for expected in CronSim(self.cron, moment):
                yield _ticks(expected)
            return
        first = 0 if ticks < self.start else (ticks - self.start) // self.period + 1
        index = first
        while self.count is None or index < self.count:
            yield self.start + index * self.period
            index += 1

    def before(self, ticks: int | None) -> Iterator[int]:
        """The expected starts strictly before ``ticks`` (``None``: all of them, when there is
        a last), newest first: :meth:`after`'s, in reverse."""
        if self.cron is not None:
            assert self.zone is not None
            if ticks is None:
                return
            moment = (_EPOCH + timedelta(microseconds=ticks // _TICKS_PER_MICROSECOND)).astimezone(
                self.zone
            )
            for expected in CronSim(self.cron, moment, reverse=True):
                yield _ticks(expected)
            return
        if ticks is None:
            if self.count is None:
                return
            index = self.count - 1
        else:
            index = -(-(ticks - self.start) // self.period) - 1  # the last start before ticks
            if self.count is not None:
                index = min(index, self.count - 1)
        while index >= 0:
            yield self.start + index * self.period
            index -= 1

    def describe(self, ticks: int) -> str:
        """An expected start as people of the schedule's zone read it (``02:00 Europe/Paris``)."""
        zone = self.zone or ZoneInfo("UTC")
        local = (_EPOCH + timedelta(microseconds=ticks // _TICKS_PER_MICROSECOND)).astimezone(zone)
        return f"{local:%Y-%m-%d %H:%M} {zone.key}"


def _ticks(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * TICKS_PER_SECOND + (
        delta.microseconds * _TICKS_PER_MICROSECOND
    )


def zone_of(name: str | None) -> ZoneInfo:
    """The IANA zone ``name`` (UTC when absent); 400 naming ``timeZone`` when unknown."""
    if name is None:
        return ZoneInfo("UTC")
    try:
        if "\\" in name or name.startswith("/") or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(
            f"timeZone: '{name}' is not an IANA time zone (such as 'Europe/Paris').",
            target="timeZone",
        ) from None


def parse_schedule(text: str, zone_name: str | None) -> Schedule:
    """A ``schedule`` and its ``timeZone``; 400 naming the member at fault."""
    if text.startswith("R"):
        if zone_name is not None:
            raise InvalidRequest(
                "timeZone applies to a cron schedule; a repeating interval carries its offset.",
                target="timeZone",
            )
        return _parse_interval(text)
    zone = zone_of(zone_name)
    try:
        CronSim(text, datetime(2026, 1, 1, tzinfo=zone))
    except (CronSimError, ValueError, IndexError, KeyError) as error:
        raise InvalidRequest(
            f"schedule: '{text}' is neither a cron expression nor an ISO 8601 repeating "
            f"interval ({error or 'malformed'}).",
            target="schedule",
        ) from None
    return Schedule(cron=text, zone=zone)


def _parse_interval(text: str) -> Schedule:
    def bad(why: str) -> InvalidRequest:
        return InvalidRequest(
            f"schedule: '{text}' is not an ISO 8601 repeating interval such as "
            f"'R/2026-01-01T02:00:00Z/P1D' ({why}).",
            target="schedule",
        )

    parts = text.split("/")
    if len(parts) != 3:
        raise bad("it has three parts: R[n], a start, a duration")
    repeat, start_text, duration_text = parts
    count: int | None = None
    if repeat != "R":
        count = ascii_integer(repeat[1:])
        if count is None or count < 1:
            raise bad("Rn repeats a positive number of times")
    try:
        start = datetimes.parse(start_text)
    except datetimes.InvalidDateTime as error:
        raise bad(str(error)) from None
    try:
        period = parse_duration(duration_text)
    except ValueError as error:
        raise bad(str(error)) from None
    if period < TICKS_PER_SECOND:
        raise bad("the duration is at least one second")
    return Schedule(start=start, period=period, count=count)


def parse_positive_duration(text: str, member: str) -> int:
    """Ticks of an ISO 8601 day-time duration, positive; 400 naming ``member``."""
    try:
        ticks = parse_duration(text)
    except ValueError as error:
        raise InvalidRequest(f"{member}: {error}.", target=member) from None
    if ticks <= 0:
        raise InvalidRequest(f"{member} must be a positive duration.", target=member)
    return ticks
