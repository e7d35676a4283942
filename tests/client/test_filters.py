"""The filter builder renders values as OData literals; values round-trip as data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from flowruns.client import Client, F, Process, RunStatus
from flowruns.client.filters import literal

NASTY = [
    "O'Brien's \"roster\"",
    "x' or 1 eq 1 or displayName eq '",
    "50% & more #1 ?$top=1",
    "back\\slash / and ) parenthesis (",
    "ünïcødé ✓",
]


def test_values_render_as_odata_literals() -> None:
    assert literal("it's") == "'it''s'"
    assert literal(RunStatus.FAILED) == "'failed'"
    assert literal(None) == "null"
    assert literal(True) == "true"
    assert literal(2.5) == "2.5"
    assert literal(datetime(2026, 11, 27, 9, 30, tzinfo=UTC)) == "2026-11-27T09:30:00Z"
    assert literal(date(2026, 11, 27)) == "2026-11-27"
    assert literal(timedelta(hours=1, seconds=1.5)) == "duration'P0DT3601.5S'"
    assert literal(UUID(int=1)) == "'00000000-0000-0000-0000-000000000001'"
    with pytest.raises(ValueError, match="finite"):
        literal(float("nan"))
    with pytest.raises(ValueError, match="time zone"):
        literal(datetime(2026, 11, 27))
    with pytest.raises(TypeError):
        literal(object())


def test_expressions_combine_with_the_precedence_odata_gives_them() -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    expression = ((F.startDateTime >= since) | F.status.eq("failed")) & ~(
        F.statistics["recordsFailed"] > 0
    )
    assert str(expression) == (
        "(startDateTime ge 2026-11-01T00:00:00Z or status eq 'failed')"
        " and not (statistics/recordsFailed gt 0)"
    )
    assert str(F.process.id.in_(["a", "b'"])) == "process/id in ('a','b''')"
    assert str(F.displayName.contains("x'")) == "contains(displayName,'x''')"
    assert str(F.endDateTime.is_null()) == "endDateTime eq null"


def test_python_boolean_operators_are_refused_rather_than_half_applied() -> None:
    with pytest.raises(TypeError, match="combine filters"):
        bool(F.status == "failed")
    with pytest.raises(TypeError, match="combine filters"):
        _ = 1 < F.statistics["recordsFailed"] < 3
    with pytest.raises(ValueError, match="path segment"):
        _ = F.statistics["records failed) or (true"]


def test_quotes_and_injection_shaped_values_are_matched_as_data(
    client: Client, process: Process
) -> None:
    assert process.id is not None
    ids = {name: client.runs.create(name, process_id=process.id).id for name in NASTY}
    client.runs.create("decoy", process_id=process.id)
    mine = F.process.id == process.id
    for name, run_id in ids.items():
        found = [r.id for r in client.runs.list(filter=mine & (F.displayName == name))]
        assert found == [run_id], name
        found = [r.id for r in client.runs.list(filter=mine & F.displayName.contains(name[3:]))]
        assert found == [run_id], name
        found = [r.id for r in client.runs.list(filter=mine, search=name)]
        assert found == [run_id], name
    assert client.runs.count(filter=mine) == len(NASTY) + 1


def test_typed_values_filter_on_the_server(client: Client, process: Process) -> None:
    assert process.id is not None
    failed = client.runs.create(
        "failing",
        process_id=process.id,
        status="failed",
        start=datetime(2026, 1, 1, 10, tzinfo=UTC),
        end=datetime(2026, 1, 1, 12, tzinfo=UTC),
        statistics={"recordsFailed": 4},
    )
    client.runs.create("fine", process_id=process.id, statistics={"recordsFailed": 0})
    mine = F.process.id == process.id
    queries = [
        F.status == RunStatus.FAILED,
        F.statistics["recordsFailed"] > 0,
        F.startDateTime < datetime(2026, 1, 2, tzinfo=UTC),
        F.endDateTime.is_not_null(),
    ]
    for query in queries:
        assert [r.id for r in client.runs.list(filter=mine & query)] == [failed.id], str(query)
    ordered = client.runs.list(filter=mine, orderby=[F.statistics["recordsFailed"].desc()])
    assert [r.display_name for r in ordered] == ["failing", "fine"]
