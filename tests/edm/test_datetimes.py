"""Edm.DateTimeOffset text <-> ticks (decision 18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flowruns.edm.datetimes import (
    TICKS_PER_SECOND,
    InvalidDateTime,
    format_ticks,
    now_ticks,
    parse,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ticks from 0001-01-01 to 9999-12-31, the range Edm.DateTimeOffset covers.
MIN_TICKS = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1) * 10
MAX_TICKS = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - EPOCH) // timedelta(
    microseconds=1
) * 10 + 9_999_999

ticks = st.integers(min_value=MIN_TICKS, max_value=MAX_TICKS)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60)


def _with_offset(value: int, minutes: int) -> str:
    """``value`` written as local time at a UTC offset of ``minutes``."""
    seconds, fraction = divmod(value, TICKS_PER_SECOND)
    local = (EPOCH + timedelta(seconds=seconds, minutes=minutes)).replace(tzinfo=None)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{local.isoformat()}.{fraction:07d}{sign}{hours:02d}:{mins:02d}"


@settings(max_examples=200, deadline=None)
@given(ticks)
def test_format_then_parse_is_the_identity(value: int) -> None:
    assert parse(format_ticks(value)) == value


@settings(max_examples=200, deadline=None)
@given(ticks)
def test_formatted_text_is_utc_with_z_and_at_most_7_fraction_digits(value: int) -> None:
    text = format_ticks(value)
    assert text.endswith("Z")
    head, _, fraction = text[:-1].partition(".")
    assert len(head) == 19
    assert len(fraction) <= 7
    assert not fraction.endswith("0")


@settings(max_examples=200, deadline=None)
@given(ticks, offsets)
def test_any_offset_denotes_the_same_instant(value: int, minutes: int) -> None:
    local_seconds = value // TICKS_PER_SECOND + minutes * 60
    assume(MIN_TICKS <= local_seconds * TICKS_PER_SECOND <= MAX_TICKS)
    assert parse(_with_offset(value, minutes)) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("2026-03-01T10:00:00.1234567Z", "2026-03-01T10:00:00.1234567Z"),
        ("2026-03-01T10:00:00.120Z", "2026-03-01T10:00:00.12Z"),
        ("2026-03-01T10:00:00.12345670000Z", "2026-03-01T10:00:00.1234567Z"),
        ("2026-03-01T10:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00+01:00", "2026-03-01T09:00:00Z"),
        ("2026-03-01T23:30:00-01:00", "2026-03-02T00:30:00Z"),
        ("2026-03-01T10:00:00-00:00", "2026-03-01T10:00:00Z"),
        ("1969-12-31T23:59:59.9999999Z", "1969-12-31T23:59:59.9999999Z"),
        ("2024-02-29T00:00:00z", "2024-02-29T00:00:00Z"),
        ("0999-12-31T23:59:59Z", "0999-12-31T23:59:59Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ],
)
def test_parse_then_format(text: str, expected: str) -> None:
    assert format_ticks(parse(text)) == expected


def test_seven_digits_are_exact_ticks() -> None:
    assert parse("1970-01-01T00:00:00.0000001Z") == 1
    assert parse("1970-01-01T00:00:01Z") == TICKS_PER_SECOND
    assert parse("1969-12-31T23:59:59.9999999Z") == -1


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T10:00:00",
        "2026-03-01T10:00:00.123",
        "2026-03-01",
        "2026-03-01 10:00:00Z",
        "2026-03-01T10:00:00.12345678Z",
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-03-01T24:00:00Z",
        "2026-03-01T10:00:00+24:00",
        "2026-03-01T10:00:00+01:60",
        "2026-03-01T10:00:00+0100",
        "0001-01-01T00:00:00+00:01",
        "",
        "now",
        " 2026-03-01T10:00:00Z",
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(InvalidDateTime):
        parse(text)


def test_rejects_a_value_without_offset_with_a_helpful_message() -> None:
    with pytest.raises(InvalidDateTime, match="offset"):
        parse("2026-03-01T10:00:00")


def test_now_is_close_to_the_clock() -> None:
    now = EPOCH + timedelta(microseconds=now_ticks() // 10)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
