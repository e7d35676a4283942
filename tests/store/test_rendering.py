"""The database writes each entity's JSON byte for byte as the records path does.

A page that goes straight into a response is rendered by the statement itself
(:mod:`flowruns.store.rendering`); everything else reads records and formats them with
:func:`flowruns.odata.payload.entity_json`. Random entities of every stored type — Unicode and
control characters, date-times across years 1 to 9999 with seven fractional digits, open
statistics, null and missing values, ``$select`` subsets — are written and read back both ways
on each engine, and the texts must be equal.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import null

from flowruns.api.app import open_database
from flowruns.edm.datetimes import parse
from flowruns.edm.industrydata import PROCESSES, RUNS
from flowruns.edm.model import EntityType, EnumType, Primitive
from flowruns.odata.payload import entity_json, rendered_collection
from flowruns.odata.query import QueryOptions, Selection, parse_expand
from flowruns.records import Record
from flowruns.service.reading import bound_query, order_by
from flowruns.settings import Settings
from flowruns.store import entities, queries
from flowruns.store.entities import PROCESS_TABLE, RUN_TABLE, Scope, TableSpec
from flowruns.store.rendering import Rendering

_FIRST = parse("0001-01-01T00:00:00Z")
_LAST = parse("9999-12-31T23:59:59.9999999Z")
# Any text PostgreSQL can hold (no NUL), control characters and astral planes included.
_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_TICKS = st.integers(_FIRST, _LAST) | st.integers(_FIRST, _LAST).map(lambda t: t - t % 10**7)


def _value(draw: st.DrawFn, spec: TableSpec, name: str) -> Any:
    prop = spec.columns[name].property
    if prop.collection:
        return draw(st.none() | st.lists(_TEXT, max_size=3))
    if isinstance(prop.type, EnumType):
        return draw(st.sampled_from(prop.type.members))
    if prop.type is Primitive.DATE_TIME_OFFSET:
        return draw(_TICKS if not prop.nullable else st.none() | _TICKS)
    if prop.type is Primitive.STRING:
        return draw(_TEXT if not prop.nullable else st.none() | _TEXT)
    if prop.nullable:
        return draw(st.none() | st.dictionaries(_TEXT, _JSON, max_size=4))
    return draw(st.dictionaries(_TEXT, _JSON, max_size=6))


@st.composite
def _records(draw: st.DrawFn, spec: TableSpec) -> Record:
    entity_type: EntityType = draw(st.sampled_from(spec.root.concrete_subtypes()))
    _, layout = spec.readers[entity_type.name]
    values = {name: _value(draw, spec, name) for name, _, _ in layout}
    etag = draw(st.text("0123456789abcdef", min_size=16, max_size=16))
    touched = 0 if spec is RUN_TABLE else None
    return Record(entity_type, str(uuid.uuid4()), etag, values, touched=touched)


def _selections(spec: TableSpec) -> st.SearchStrategy[frozenset[str] | None]:
    names = sorted({p.name for t in spec.root.subtypes() for p in t.properties})
    return st.none() | st.frozensets(st.sampled_from(names))


def _job(record: Record) -> object:
    """What a tenant's processes may not share: an OpenLineage job's namespace and name."""
    namespace, name = record.values.get("jobNamespace"), record.values.get("jobName")
    return record.id if namespace is None or name is None else (namespace, name)


def _both_ways(settings: Settings, spec: TableSpec, data: st.DataObject) -> None:
    records = data.draw(st.lists(_records(spec), min_size=1, max_size=6, unique_by=_job))
    names = data.draw(_selections(spec))
    tenant = str(uuid.uuid4())
    db = open_database(settings)
    try:
        with db.writing() as connection:
            for record in records:
                entities.insert_record(connection, spec, tenant, record)
        order = (order_by(spec.root, "id", False),)
        query = queries.Query(order=order)
        window = queries.Window(limit=10)
        scope = Scope(tenant, spec.root)
        with db.reading() as connection:
            as_records = queries.read_page(connection, scope, query, window).records
            rendered = queries.read_page(
                connection, scope, query, window, render=Rendering(names)
            ).rendered
    finally:
        db.dispose()
    select = None if names is None else Selection(sorted(names), ",".join(sorted(names)))
    expected = [orjson.dumps(entity_json(r, select)).decode() for r in as_records]
    assert rendered == expected
    # And the records path itself wrote what was stored.
    stored = {r.id: r for r in records}
    for read in as_records:
        assert read.values.keys() == stored[read.id].values.keys()


def test_runs_render_as_their_records_do(settings: Settings) -> None:
    @given(st.data())
    def check(data: st.DataObject) -> None:
        _both_ways(settings, RUN_TABLE, data)

    check()


def test_processes_render_as_their_records_do(settings: Settings) -> None:
    @given(st.data())
    def check(data: st.DataObject) -> None:
        _both_ways(settings, PROCESS_TABLE, data)

    check()


def _process_selections() -> st.SearchStrategy[str]:
    names = sorted(p.name for p in PROCESS_TABLE.root.properties)
    chosen = st.lists(st.sampled_from(names), min_size=1, unique=True).map(",".join)
    return st.just("process") | chosen.map(lambda listed: f"process($select={listed})")


def _with_processes(settings: Settings, data: st.DataObject) -> None:
    """Runs, some linked to one of a few processes, read with ``$expand=process`` (and its
    ``$select``) as records formatted by ``entity_json`` and as the database renders them."""
    processes = data.draw(st.lists(_records(PROCESS_TABLE), min_size=1, max_size=3, unique_by=_job))
    for process in processes:
        for name, value in process.values.items():
            if value is None and PROCESS_TABLE.columns[name].property.collection:
                # No write stores JSON null in a collection (the API refuses it); rows written
                # before collections defaulted to [] hold SQL NULL.
                process.values[name] = null()
    runs = data.draw(st.lists(_records(RUN_TABLE), min_size=1, max_size=6))
    for run in runs:
        linked = data.draw(st.none() | st.sampled_from(processes))
        run.process_id = None if linked is None else linked.id
    names = data.draw(_selections(RUN_TABLE))
    expand = parse_expand(data.draw(_process_selections()), RUNS.type, now=0)
    tenant = str(uuid.uuid4())
    db = open_database(settings)
    try:
        with db.writing() as connection:
            for process in processes:
                entities.insert_record(connection, PROCESS_TABLE, tenant, process)
            for run in runs:
                entities.insert_record(connection, RUN_TABLE, tenant, run)
        options = QueryOptions(orderby=[order_by(RUNS.type, "id", False)], expand=expand)
        scope = Scope(tenant, RUNS.type)
        window = queries.Window(limit=10)
        with db.reading() as connection:
            query = bound_query(RUNS.type, options)
            as_records = queries.read_page(connection, scope, query, window).records
            # An expanded process is written as a page of processes writes it: its stored JSON
            # as stored (on PostgreSQL, JSONB as PostgreSQL prints it).
            in_pages = {
                r.id: r
                for r in queries.read_page(
                    connection,
                    Scope(tenant, PROCESSES.type),
                    queries.Query(order=(order_by(PROCESSES.type, "id", False),)),
                    window,
                ).records
            }
            for run in as_records:
                if run.expanded.get("process") is not None:
                    run.expanded["process"] = in_pages[run.expanded["process"].id]
            query = bound_query(RUNS.type, options, rendered=True)
            page = queries.read_page(connection, scope, query, window, render=Rendering(names))
    finally:
        db.dispose()
    select = None if names is None else Selection(sorted(names), ",".join(sorted(names)))
    expected = [orjson.dumps(entity_json(r, select, expand)).decode() for r in as_records]
    assert page.rendered is not None
    written = orjson.dumps(rendered_collection(page.rendered, page.records, expand)).decode()
    assert written == "[" + ",".join(expected) + "]"


def test_runs_with_their_expanded_process_render_as_their_records_do(settings: Settings) -> None:
    @given(st.data())
    def check(data: st.DataObject) -> None:
        _with_processes(settings, data)

    check()
