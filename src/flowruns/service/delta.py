"""Delta query: a collection's current state, then what changed since, round after round.

A client's first round reads the collection's current state in ``id`` order, page by page; its
deltaLink starts the next round at the change log's horizon as it stood when the first page
was read (every change after that snapshot is at or above it, so nothing is missed; a change
the first round already saw may be reported once more, in its latest state). Each later
round reads the log from where the last one stopped up to the horizon of its first page: each
entity that changed once, in its latest state, or as removed — ``deleted`` when it no longer
exists, ``changed`` when it exists but no longer matches the round's ``$filter``.

A token whose log was pruned past it, that is older than the retention, or that belongs to
another database's log (``db copy``) is ``410 syncStateNotFound``: the client starts again.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from flowruns.edm.model import EntityType
from flowruns.errors import SyncStateNotFound
from flowruns.odata.deltatoken import DeltaToken, Round
from flowruns.odata.path import CollectionRef
from flowruns.odata.query import QueryOptions
from flowruns.records import Record
from flowruns.service.reading import order_by
from flowruns.service.resources import collection_scope
from flowruns.store import changes, queries
from flowruns.store.database import Database
from flowruns.store.queries import Query, Window
from flowruns.store.rendering import Rendering

DELETED = "deleted"
CHANGED = "changed"


@dataclass(frozen=True)
class Removed:
    """An entity gone from the collection since the last round: ``deleted``, or ``changed``
    so that it no longer matches the round's filter."""

    id: str
    type: EntityType
    reason: str


@dataclass
class DeltaPage:
    """One page of a round, and the token that continues it: a ``state`` token ends the
    round (a deltaLink), any other continues it (a nextLink). An entity of a later round is
    its JSON as the database wrote it (with the round's ``$select``)."""

    items: list[Record | Removed | orjson.Fragment]
    next: DeltaToken


def _token(
    round_: Round,
    epoch: str,
    now: int,
    options: QueryOptions,
    key: changes.Key,
    *,
    upper: changes.Key | None = None,
    after_id: str | None = None,
) -> DeltaToken:
    """A token of ``round_`` carrying the round's ``$select`` and ``$filter`` as given."""
    return DeltaToken(
        round_,
        epoch,
        now,
        options.raw.get("select"),
        options.raw.get("filter"),
        key,
        upper,
        after_id,
    )


def latest(db: Database, options: QueryOptions, now: int) -> DeltaPage:
    """``$deltatoken=latest``: nothing, and a deltaLink at the current horizon."""
    with db.reading() as transaction:
        horizon = changes.horizon(transaction)
    return DeltaPage([], _token(Round.STATE, horizon.epoch, now, options, horizon.key))


def initial_page(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    options: QueryOptions,
    continuing: DeltaToken | None,
    limit: int,
    now: int,
) -> DeltaPage:
    """A page of the first round: the collection's entities (those ``$filter`` keeps) in
    ``id`` order, after ``continuing``'s last id."""
    query = Query(order=(order_by(collection.type, "id", False),), filter=options.filter)
    with db.reading() as transaction:
        if continuing is None:
            horizon = changes.horizon(transaction)  # first: in the snapshot the page reads
            epoch, start = horizon.epoch, horizon.key
            after = None
        else:
            epoch, start = continuing.epoch, continuing.key
            after = [continuing.after_id]
        scope = collection_scope(transaction, tenant, collection)
        page = queries.read_page(transaction, scope, query, Window(limit=limit, after=after))
    if page.last_key is not None:
        next_token = _token(
            Round.INITIAL, epoch, now, options, start, after_id=str(page.last_key[0])
        )
    else:
        next_token = _token(Round.STATE, epoch, now, options, start)
    return DeltaPage(list(page.records), next_token)


def changes_page(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    options: QueryOptions,
    token: DeltaToken,
    limit: int,
    now: int,
    retention_ticks: int,
) -> DeltaPage:
    """A page of a later round: the entities whose latest change lies after ``token``."""
    if token.issued < now - retention_ticks:
        raise _expired()
    if token.round is Round.STATE:
        after = (token.key[0], token.key[1] - 1)  # the state's key is the first to read
        given_end = token.key  # or the horizon, when that is further
    else:
        assert token.upper is not None
        after, given_end = token.key, token.upper
    up_to_horizon = token.round is Round.STATE
    # Most polls find nothing. One statement is its own snapshot, so asking needs no read
    # transaction (on SQLite its BEGIN and COMMIT cost more than the statement).
    with db.engine.connect() as connection:
        scope = collection_scope(connection, tenant, collection)
        probed = changes.probe(
            connection,
            tenant,
            scope.spec,
            collection.type.name,
            after,
            given_end,
            up_to_horizon=up_to_horizon,
        )
    found = changes.Round(probed.horizon, probed.baseline, [])
    if probed.changed:
        found = _read_round(db, tenant, collection, options, after, given_end, up_to_horizon, limit)
    if found.horizon.epoch != token.epoch:
        raise _expired()
    if found.baseline is not None and found.baseline > after:
        raise _expired()
    below = max(found.horizon.key, given_end) if up_to_horizon else given_end
    more = len(found.changes) > limit
    page = found.changes[:limit]
    items: list[Record | Removed | orjson.Fragment] = []
    for change in page:
        if change.matching:
            assert change.json is not None
            items.append(orjson.Fragment(change.json))
            continue
        reason = CHANGED if change.exists else DELETED
        items.append(Removed(change.entity_id, scope.spec.readers[change.type][0], reason))
    if more:
        next_token = _token(Round.CHANGES, token.epoch, now, options, page[-1].key, upper=below)
    else:
        next_token = _token(Round.STATE, token.epoch, now, options, below)
    return DeltaPage(items, next_token)


def _read_round(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    options: QueryOptions,
    after: changes.Key,
    given_end: changes.Key,
    up_to_horizon: bool,
    limit: int,
) -> changes.Round:
    """Up to ``limit + 1`` changes of the round, with the entities' JSON as ``$select`` asks."""
    selected = None if options.select is None else options.select.names
    names = None if selected is None else frozenset(selected)
    with db.reading() as transaction, queries.evaluating():
        scope = collection_scope(transaction, tenant, collection)
        kept = None
        if options.filter is not None:
            rows = changes.entity_rows(scope.spec)
            kept = queries.condition(transaction, scope, options.filter, rows)
        return changes.read_round(
            transaction,
            tenant,
            scope.spec,
            collection.type.name,
            Rendering(names),
            kept,
            after,
            given_end,
            up_to_horizon=up_to_horizon,
            limit=limit + 1,
        )


def _expired() -> SyncStateNotFound:
    return SyncStateNotFound(
        "The delta token is older than the changes the service keeps; start again with a new "
        "delta() request."
    )
