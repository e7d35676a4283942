"""Reading collections page by page, in a total and stable order, with their expansions.

The rules of a read are the service's: the order is the client's (or the collection's default)
made total, a parent on the path must exist, everything a request reads comes from one snapshot.
Executing it is the store's (:mod:`flowruns.store.queries`), which takes the read in the model's
terms: the rows in scope and the typed trees of the query options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowruns.edm.industrydata import HEALTH, RECENT_EXPECTED
from flowruns.edm.model import EntityType
from flowruns.odata import semantic as s
from flowruns.odata.binder import property_type
from flowruns.odata.path import CollectionRef, EntityRef, binding_for
from flowruns.odata.query import ExpandItem, QueryOptions, Selection
from flowruns.records import Record
from flowruns.service import health
from flowruns.service.resources import collection_scope, resolve_entity
from flowruns.store import health as rows
from flowruns.store import queries
from flowruns.store.database import Database, Transaction
from flowruns.store.queries import Expansion, Page, Query, Window
from flowruns.store.rendering import Rendering


def order_by(entity_type: EntityType, name: str, descending: bool) -> s.OrderItem:
    """An order item on the stored property ``name`` of ``entity_type``."""
    prop = entity_type.find_property(name)
    assert prop is not None
    return s.OrderItem(s.Column(property_type(prop), s.It(entity_type), prop), descending, name)


def total_order(entity_type: EntityType, options: QueryOptions) -> list[s.OrderItem]:
    """The client's order (or the collection's default), ended by ``id`` so it is total.

    ``id`` takes the direction of the key before it, so the default ``startDateTime desc``
    and its tie-breaker can be served by one index scan.
    """
    it = s.It(entity_type)
    items = list(options.orderby)
    if not items:
        items = [order_by(entity_type, *binding_for(entity_type).default_order)]
    for i, item in enumerate(items):
        if isinstance(item.expr, s.Column) and item.expr.property.key and item.expr.source == it:
            return items[: i + 1]
    items.append(order_by(entity_type, "id", items[-1].descending))
    return items


def bound_query(entity_type: EntityType, options: QueryOptions, *, rendered: bool = False) -> Query:
    """What ``options`` ask of a read of ``entity_type``: its filter, search, total order,
    count and expansions, bound to the model. When ``rendered`` (the read's entities go
    straight into the response), each expanded entity that needs nothing but its own JSON is
    written by the database too."""
    return Query(
        order=tuple(total_order(entity_type, options)),
        filter=options.filter,
        search=options.search,
        expand=_expansions(options.expand, rendered=rendered),
        count=options.count,
    )


def _expansions(items: Sequence[ExpandItem], *, rendered: bool = False) -> tuple[Expansion, ...]:
    return tuple(
        Expansion(
            item.navigation,
            item.target,
            bound_query(item.target, item.options),
            Window(limit=item.top, offset=item.options.skip or 0),
            _rendering(item) if rendered else None,
        )
        for item in items
    )


def _rendering(item: ExpandItem) -> Rendering | None:
    """How the database writes an expanded entity: only when the response needs no more of it
    (no reference instead, no expansion of its own), and not a process's expectation or health,
    which are read as records."""
    navigation = item.navigation
    contained_one = navigation.contains_target and not navigation.collection
    if contained_one or item.ref or item.options.expand:
        return None
    select = item.options.select
    names = None if select is None or select.names is None else frozenset(select.names)
    return Rendering(names)


def read_page(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    options: QueryOptions,
    *,
    after: Sequence[Any] | None,
    offset: int,
    limit: int,
    rendered: bool = True,
) -> Page:
    """One page of ``collection``, its count if asked for, and the expansions of its records,
    all in one read transaction. When ``rendered``, each entity's JSON as the database writes
    it (:attr:`Page.rendered`, with the properties ``$select`` keeps); else its record."""
    bound = bound_query(collection.type, options, rendered=rendered)
    render = None
    if rendered:
        names = None if options.select is None else options.select.names
        render = Rendering(None if names is None else frozenset(names))
    with db.reading() as transaction:
        scope = collection_scope(transaction, tenant, collection)
        window = Window(limit=limit, offset=offset, after=after)
        page = queries.read_page(transaction, scope, bound, window, render=render)
        _add_recent_expected(transaction, tenant, _healths(page.records, options.expand, one=False))
        return page


def read_entity(
    db: Database, tenant: str, ref: EntityRef, options: QueryOptions | None = None
) -> Record:
    """The entity ``ref`` addresses (404 if there is none) with the expansions ``options``
    ask for, in one snapshot."""
    with db.reading() as transaction:
        record = resolve_entity(transaction, tenant, ref)
        if options is not None and options.expand:
            queries.expand(transaction, tenant, [record], _expansions(options.expand))
        healths = _healths([record], options.expand if options is not None else (), one=True)
        if record.type is HEALTH.type and _computes(options.select if options else None, True):
            healths.append(record)
        _add_recent_expected(transaction, tenant, healths)
    return record


def _computes(select: Selection | None, one: bool) -> bool:
    """Whether a read computes the health's expected starts: for one process's health, unless
    ``$select`` leaves them out; for many, only when ``$select`` names them (each costs a walk
    of its schedule, which a page of processes can do without)."""
    if select is None or select.names is None:
        return one
    return RECENT_EXPECTED.name in select.names


def _healths(records: Sequence[Record], items: Sequence[ExpandItem], *, one: bool) -> list[Record]:
    """The expanded health records of ``records`` whose expected starts the read computes;
    ``one``: ``records`` is one entity (a single entity's single-valued navigations lead to one
    health at most)."""
    found: list[Record] = []
    for item in items:
        single = one and not item.navigation.collection
        for record in records:
            value = record.expanded.get(item.navigation.name)
            listed = value if isinstance(value, list) else [value]
            expanded = [v for v in listed if isinstance(v, Record)]
            if item.target is HEALTH.type and _computes(item.options.select, single):
                found += expanded
            found += _healths(expanded, item.options.expand, one=single)
    return found


def _add_recent_expected(transaction: Transaction, tenant: str, healths: list[Record]) -> None:
    """Add each health's latest expected starts (:func:`health.recent_expected`) to it."""
    if not healths:
        return
    scheduled = rows.scheduled(transaction, tenant, sorted({r.id for r in healths}))
    for record in healths:
        found = scheduled.get(record.id)
        starts = [] if found is None else health.recent_expected(found)
        record.values[RECENT_EXPECTED.name] = starts


def count_collection(
    db: Database, tenant: str, collection: CollectionRef, options: QueryOptions
) -> int:
    """How many entities of ``collection`` the options' filter and search keep."""
    bound = Query(order=(), filter=options.filter, search=options.search)
    with db.reading() as transaction:
        scope = collection_scope(transaction, tenant, collection)
        return queries.count(transaction, scope, bound)
