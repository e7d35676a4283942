"""Creating, changing and deleting runs and processes, and linking them.

Each operation is one transaction: it either applies whole or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import PROCESSES, RUN_GROUPS, RUNS, run_type_for
from flowruns.edm.model import EntityType
from flowruns.errors import Conflict, InvalidRequest, NotFound, PreconditionFailed
from flowruns.odata.deserialize import EntityBody
from flowruns.odata.path import CollectionRef, EntityRef
from flowruns.odata.payload import etag_matches
from flowruns.records import ProcessLink, Record, new_etag
from flowruns.service import idempotency, lifecycle
from flowruns.service.idempotency import IdempotencyKey
from flowruns.service.resources import not_found, resolve_entity
from flowruns.store import entities
from flowruns.store import health as health_rows
from flowruns.store.database import Database, Transaction
from flowruns.store.entities import PROCESS_TABLE, RUN_TABLE, Scope
from flowruns.store.idempotency import KeyTaken


def check_if_match(record: Record, if_match: str | None) -> None:
    """412 unless ``If-Match`` is absent, ``*`` or names the record's current ETag."""
    if if_match is not None and not etag_matches(if_match, record.etag):
        raise PreconditionFailed(
            "The entity has changed since it was read (If-Match does not match its ETag)."
        )


def _process(connection: Transaction, tenant: str, process_id: str) -> Record:
    record = entities.get(connection, Scope(tenant, PROCESSES.type), process_id, share=True)
    if record is None:
        raise not_found("process", process_id)
    return record


def _concrete(entity_type: EntityType | None, what: str) -> EntityType:
    if entity_type is None:
        raise InvalidRequest(
            f"Name the {what} type in '@odata.type'; this collection holds several.",
            target="@odata.type",
        )
    if entity_type.abstract:
        raise InvalidRequest(
            f"'{entity_type.qualified_name}' is abstract; name a concrete {what} type.",
            target="@odata.type",
        )
    return entity_type


def _idempotent(
    db: Database,
    tenant: str,
    key: IdempotencyKey | None,
    create: Callable[[Transaction, int], Record],
) -> Record:
    """Run ``create`` in a write transaction, once per ``Idempotency-Key``."""
    for attempt in (1, 2):
        now = now_ticks()
        try:
            with db.writing() as connection:
                if key is not None:
                    replayed = idempotency.replay(connection, tenant, key, now)
                    if replayed is not None:
                        return replayed
                record = create(connection, now)
                if key is not None:
                    idempotency.remember(connection, tenant, key, record, now)
                return record
        except KeyTaken:
            # A concurrent request with the same key committed first: replay its result.
            if key is None or attempt == 2:
                raise
    raise AssertionError("unreachable")


def create_run(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    body: EntityBody,
    link: ProcessLink | None,
    key: IdempotencyKey | None = None,
) -> Record:
    """Create a run in ``collection`` (runs, runGroups or a process's runs)."""

    def create(connection: Transaction, now: int) -> Record:
        process_id = link.process_id if link else None
        default: EntityType | None = collection.cast
        if collection.via is not None:
            # The route table lets POST create runs below a process only (a run group's runs
            # take members through …/runs/$ref), so the parent is a process. It is only
            # referenced: locked against its deletion alone, so creates under it overlap.
            parent = resolve_entity(connection, tenant, collection.via.source, share=True)
            if link is not None and link.process_id != parent.id:
                raise InvalidRequest(
                    "A run created under a process belongs to that process; "
                    "'process@odata.bind' names another one.",
                    target="process@odata.bind",
                )
            process_id = parent.id
            default = default or run_type_for(parent.type)
        elif collection.binding is RUN_GROUPS:
            default = RUN_GROUPS.type
        run_type = _concrete(body.type or default, "run")
        if process_id is not None and collection.via is None:
            _process(connection, tenant, process_id)
        values = dict(body.values)
        lifecycle.drop_unknown_enum_values(run_type, values, create=True)
        values = lifecycle.new_run(values, now)
        record = Record(
            type=run_type,
            id=str(uuid.uuid4()),
            etag=new_etag(),
            values=values,
            process_id=process_id,
            touched=now,
        )
        entities.insert_record(connection, RUN_TABLE, tenant, record)
        return record

    return _idempotent(db, tenant, key, create)


def update_run(
    db: Database,
    tenant: str,
    ref: EntityRef,
    body: EntityBody,
    link: ProcessLink | None,
    if_match: str | None,
) -> Record:
    """Apply a PATCH to a run. An empty PATCH is a heartbeat: only the touch time moves."""
    now = now_ticks()
    with db.writing() as connection:
        record, changes = _patch_target(connection, tenant, ref, body, if_match)
        changes = lifecycle.run_changes(record.values, changes, now)
        relink = link if link is not None and link.process_id != record.process_id else None
        if relink is not None:
            if relink.process_id is not None:
                _process(connection, tenant, relink.process_id)
            record.process_id = relink.process_id
        changed = bool(changes) or relink is not None
        if changed:
            record.etag = new_etag()
            record.values.update(changes)
        record.touched = now
        entities.update_record(
            connection,
            RUN_TABLE,
            tenant,
            record.id,
            changes,
            etag=record.etag if changed else None,
            process=relink,
            touched=now,
        )
    return record


def _patch_target(
    connection: Transaction, tenant: str, ref: EntityRef, body: EntityBody, if_match: str | None
) -> tuple[Record, dict[str, Any]]:
    """The entity a PATCH addresses (checked against If-Match and the body's type) and the
    values the PATCH asks to change."""
    record = resolve_entity(connection, tenant, ref)
    check_if_match(record, if_match)
    _check_type(record, body)
    changes = dict(body.values)
    lifecycle.drop_unknown_enum_values(record.type, changes, create=False)
    return record, changes


def _check_type(record: Record, body: EntityBody) -> None:
    if body.type is not None and not record.type.is_a(body.type):
        raise InvalidRequest(
            f"The entity is a {record.type.qualified_name}, not a {body.type.qualified_name}.",
            target="@odata.type",
        )
    for name in body.values:
        if record.type.find_property(name) is None:
            raise InvalidRequest(
                f"'{name}' is not a property of {record.type.qualified_name}.", target=name
            )


def delete_run(db: Database, tenant: str, ref: EntityRef, if_match: str | None) -> None:
    with db.writing() as connection:
        record = resolve_entity(connection, tenant, ref)
        check_if_match(record, if_match)
        entities.delete_runs(connection, tenant, [record.id])


def set_run_process(
    db: Database, tenant: str, run_ref: EntityRef, link: ProcessLink, if_match: str | None = None
) -> None:
    """Link a run to a process (or unlink it when ``link.process_id`` is None)."""
    with db.writing() as connection:
        record = resolve_entity(connection, tenant, run_ref)
        check_if_match(record, if_match)
        if link.process_id is None and record.process_id is None:
            raise NotFound(f"The run '{record.id}' has no process.")
        if link.process_id is not None:
            _process(connection, tenant, link.process_id)
        if link.process_id == record.process_id:
            return
        entities.update_record(
            connection,
            RUN_TABLE,
            tenant,
            record.id,
            {},
            etag=new_etag(),
            process=link,
            touched=now_ticks(),
        )


def create_process(
    db: Database,
    tenant: str,
    body: EntityBody,
    for_run: EntityRef | None,
    key: IdempotencyKey | None = None,
) -> Record:
    """Create a process; with ``for_run``, also link that run to it in the same transaction."""
    process_type = _concrete(body.type, "process")
    values: dict[str, Any] = dict(body.values)
    lifecycle.drop_unknown_enum_values(process_type, values, create=True)
    for prop in process_type.properties:
        if not prop.key and not prop.read_only:
            values.setdefault(prop.name, [] if prop.collection else None)

    def create(connection: Transaction, now: int) -> Record:
        record = Record(type=process_type, id=str(uuid.uuid4()), etag=new_etag(), values=values)
        run = resolve_entity(connection, tenant, for_run) if for_run is not None else None
        entities.insert_record(connection, PROCESS_TABLE, tenant, record)
        if run is not None:
            entities.update_record(
                connection,
                RUN_TABLE,
                tenant,
                run.id,
                {},
                etag=new_etag(),
                process=ProcessLink(record.id),
                touched=now,
            )
        return record

    return _idempotent(db, tenant, key, create)


def update_process(
    db: Database, tenant: str, ref: EntityRef, body: EntityBody, if_match: str | None
) -> Record:
    with db.writing() as connection:
        record, changes = _patch_target(connection, tenant, ref, body, if_match)
        changes = {k: v for k, v in changes.items() if record.values.get(k) != v}
        if changes:
            record.etag = new_etag()
            record.values.update(changes)
            entities.update_record(
                connection, PROCESS_TABLE, tenant, record.id, changes, etag=record.etag
            )
    return record


def delete_process(
    db: Database, tenant: str, ref: EntityRef, if_match: str | None, *, cascade_running: bool
) -> None:
    """Delete a process and its runs; refused while a run is running unless cascading."""
    with db.writing() as connection:
        record = resolve_entity(connection, tenant, ref)
        check_if_match(record, if_match)
        run_ids, any_running = entities.run_ids_of_process(connection, tenant, record.id)
        if any_running and not cascade_running:
            raise Conflict(
                "The process has running runs; finish them first or send "
                "'Prefer: cascade-running' to delete them too."
            )
        if run_ids:
            entities.delete_runs(connection, tenant, run_ids)
        health_rows.remove(connection, tenant, record.id, incidents_too=True)
        entities.delete_process(connection, tenant, record.id)


def add_group_member(db: Database, tenant: str, group_ref: EntityRef, run_id: str) -> None:
    """Add a run to a group; a membership change is a write to the group (new ETag)."""
    with db.writing() as connection:
        group = resolve_entity(connection, tenant, group_ref)
        if run_id == group.id:
            raise InvalidRequest("A run group cannot contain itself.", target="@odata.id")
        if entities.get(connection, Scope(tenant, RUNS.type), run_id, share=True) is None:
            raise not_found(RUNS.type.name, run_id)
        if entities.add_member(connection, tenant, group.id, run_id):
            _group_changed(connection, tenant, group.id)


def _group_changed(connection: Transaction, tenant: str, group_id: str) -> None:
    entities.update_record(
        connection, RUN_TABLE, tenant, group_id, {}, etag=new_etag(), touched=now_ticks()
    )


def remove_group_member(db: Database, tenant: str, member_ref: EntityRef) -> None:
    assert member_ref.collection is not None
    assert member_ref.collection.via is not None
    with db.writing() as connection:
        group = resolve_entity(connection, tenant, member_ref.collection.via.source)
        assert member_ref.key is not None
        if not entities.remove_member(connection, tenant, group.id, member_ref.key):
            raise NotFound(f"The run '{member_ref.key}' is not a member of this run group.")
        _group_changed(connection, tenant, group.id)
