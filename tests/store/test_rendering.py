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

from flowruns.api.app import open_database
from flowruns.edm.datetimes import parse
from flowruns.edm.model import EntityType, EnumType, Primitive
from flowruns.odata.payload import entity_json
from flowruns.odata.query import Selection
from flowruns.records import Record
from flowruns.service.reading import order_by
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


def _both_ways(settings: Settings, spec: TableSpec, data: st.DataObject) -> None:
    records = data.draw(st.lists(_records(spec), min_size=1, max_size=6))
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
