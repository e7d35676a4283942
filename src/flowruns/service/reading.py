"""Reading collections page by page, in a total and stable order, with their expansions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection
from sqlalchemy.exc import DataError, OperationalError

from flowruns.edm.model import EntityType
from flowruns.errors import BadRequest
from flowruns.odata import semantic as s
from flowruns.odata.binder import property_type
from flowruns.odata.path import CollectionRef, EntityRef, binding_for
from flowruns.odata.query import ExpandItem, QueryOptions
from flowruns.service.resources import collection_scope, resolve_entity
from flowruns.store import entities
from flowruns.store.compiler import Compiler
from flowruns.store.database import Database
from flowruns.store.entities import PROCESS_TABLE, RUN_TABLE, Record, Scope, SortColumn, TableSpec

# What the engines say when a statement nests deeper than their parser takes: SQLite's
# parser stack (about 100 entries) and expression depth, PostgreSQL's statement_too_complex.
_TOO_DEEP_FOR_SQLITE = ("parser stack overflow", "Expression tree is too large")
_TOO_DEEP_FOR_POSTGRESQL = "54001"


@contextmanager
def evaluating() -> Iterator[None]:
    """Arithmetic that leaves the engine's range (64-bit integers, doubles) is the client's
    400, not a server error, and so is a query the engine finds too deeply nested to parse
    (the expression limits keep nearly all of those from being sent; SQLite's parser stack
    also depends on how each construct is written). The read transaction is rolled back as
    it ends."""
    try:
        yield
    except (DataError, OverflowError):
        raise BadRequest(
            "A value computed by the query is out of range (64-bit integers, finite doubles)."
        ) from None
    except OperationalError as error:
        message = str(error.orig)
        too_deep = getattr(error.orig, "sqlstate", None) == _TOO_DEEP_FOR_POSTGRESQL or any(
            message.startswith(text) for text in _TOO_DEEP_FOR_SQLITE
        )
        if not too_deep:
            raise
        raise BadRequest(
            "The query nests too deeply for the database to parse; nest fewer operations."
        ) from None


@dataclass
class CollectionPage:
    records: list[Record]
    last_key: list[Any] | None
    total: int | None


def total_order(entity_type: EntityType, options: QueryOptions) -> list[s.OrderItem]:
    """The client's order (or the collection's default), ended by ``id`` so it is total.

    ``id`` takes the direction of the key before it, so the default ``startDateTime desc``
    and its tie-breaker can be served by one index scan.
    """
    it = s.It(entity_type)
    items = list(options.orderby)
    if not items:
        name, descending = binding_for(entity_type).default_order
        prop = entity_type.find_property(name)
        assert prop is not None
        items = [s.OrderItem(s.Column(property_type(prop), it, prop), descending, name)]
    id_property = entity_type.find_property("id")
    assert id_property is not None
    for i, item in enumerate(items):
        if isinstance(item.expr, s.Column) and item.expr.property.key and item.expr.source == it:
            return items[: i + 1]
    items.append(s.OrderItem(s.Column(s.STRING, it, id_property), items[-1].descending, "id"))
    return items


@dataclass
class _Query:
    """A collection read compiled for one connection: conditions and sort keys."""

    where: list[ColumnElement[bool]]
    order: list[SortColumn]


def _compile(
    connection: Connection,
    tenant: str,
    spec: TableSpec,
    options: QueryOptions,
    entity_type: EntityType,
) -> _Query:
    compiler = Compiler(connection.dialect.name, tenant, spec.table)
    where = [compiler.condition(e) for e in (options.filter, options.search) if e is not None]
    order = []
    for item in total_order(entity_type, options):
        key = compiler.order_key(item.expr)
        order.append(SortColumn(key.sql, key.nullable, item.descending))
    return _Query(where, order)


def read_page(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    options: QueryOptions,
    *,
    after: Sequence[Any] | None,
    offset: int,
    limit: int,
) -> CollectionPage:
    with evaluating(), db.reading() as connection:
        spec, scope = collection_scope(connection, tenant, collection)
        query = _compile(connection, tenant, spec, options, collection.type)
        page = entities.page(
            connection,
            spec,
            tenant,
            scope,
            query.order,
            where=query.where,
            after=after,
            offset=offset,
            limit=limit,
        )
        total = (
            entities.count(connection, spec, tenant, scope, query.where) if options.count else None
        )
        expand(connection, tenant, page.records, options.expand)
    return CollectionPage(page.records, page.last_key, total)


def read_entity(db: Database, tenant: str, ref: EntityRef, options: QueryOptions) -> Record:
    """The entity ``ref`` addresses (404 if there is none) with its expansions, in one
    snapshot."""
    with evaluating(), db.reading() as connection:
        record = resolve_entity(connection, tenant, ref)
        expand(connection, tenant, [record], options.expand)
        return record


def count_collection(
    db: Database, tenant: str, collection: CollectionRef, options: QueryOptions
) -> int:
    with evaluating(), db.reading() as connection:
        spec, scope = collection_scope(connection, tenant, collection)
        query = _compile(connection, tenant, spec, options, collection.type)
        return entities.count(connection, spec, tenant, scope, query.where)


def expand(
    connection: Connection, tenant: str, records: list[Record], items: list[ExpandItem]
) -> None:
    """Attach each expanded navigation to ``records`` (at most ``$top`` members each)."""
    for item in items:
        name = item.navigation.name
        if not item.navigation.collection:  # run → process
            keys = {r.process_id for r in records if r.process_id is not None}
            related = entities.get_many(connection, PROCESS_TABLE, tenant, sorted(keys))
            for record in records:
                target = related.get(record.process_id or "")
                if target is not None and not target.type.is_a(item.target):
                    target = None
                record.expanded[name] = target
            expand(connection, tenant, list(related.values()), item.options.expand)
            continue
        members: list[Record] = []
        # One compiled filter and order for the expansion, used for every parent.
        query = _compile(connection, tenant, RUN_TABLE, item.options, item.target)
        for record in records:
            if name not in {n.name for n in record.type.navigations}:
                continue
            scope = _member_scope(record, item)
            page = entities.page(
                connection,
                RUN_TABLE,
                tenant,
                scope,
                query.order,
                where=query.where,
                after=None,
                offset=item.options.skip or 0,
                limit=item.top,
            )
            record.expanded[name] = page.records
            if item.options.count:
                record.expanded[f"{name}@odata.count"] = entities.count(
                    connection, RUN_TABLE, tenant, scope, query.where
                )
            members.extend(page.records)
        expand(connection, tenant, members, item.options.expand)


def _member_scope(record: Record, item: ExpandItem) -> Scope:
    types = None
    if item.target is not item.target.root:
        types = frozenset(t.name for t in item.target.subtypes())
    if record.type.is_a(RUN_TABLE.root):  # a run group's member runs
        return Scope(types=types, group_id=record.id)
    return Scope(types=types, process_id=record.id)
