"""The route table: every path below the service root, declared once.

Each :class:`~flowruns.api.routing.Route` is a path template with an
:class:`~flowruns.api.routing.Operation` per method: the handler, the permissions the path and
method need, the query options it accepts and its OpenAPI description. The endpoint dispatches
by it, the permission check reads it, ``/openapi.json`` and ``/docs`` are written from it, and
``/metrics`` labels requests with its templates. docs/architecture.md shows how to add a route.
"""

from __future__ import annotations

from typing import Any

from flowruns.api.endpoint import ODataEndpoint
from flowruns.api.lineage import post_lineage_event
from flowruns.api.routing import Operation, Route, RouteTable
from flowruns.auth.scopes import Area, Need
from flowruns.edm.capabilities import QueryKind
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.openapi import (
    ACCESS_WRITE,
    BATCH,
    EXPECTATION_WRITE,
    FRESHNESS_WRITE,
    LINEAGE_EVENT,
    PROCESS_CREATE,
    PROCESS_UPDATE,
    REFERENCE,
    RUN_CREATE,
    RUN_CREATE_UNDER_PROCESS,
    RUN_UPDATE,
    SUBSCRIPTION_CREATE,
    SUBSCRIPTION_UPDATE,
    Success,
)
from flowruns.odata.path import LINEAGE_PATH

READ_RUNS = Need(Area.RUNS, write=False)
WRITE_RUNS = Need(Area.RUNS, write=True)
READ_FLOWS = Need(Area.FLOWS, write=False)
WRITE_FLOWS = Need(Area.FLOWS, write=True)
ENTITY, COLLECTION, DELTA = QueryKind.ENTITY, QueryKind.COLLECTION, QueryKind.DELTA
HUB = f"/{HUB_PATH}"


def _list(summary: str, *needs: Need) -> Operation[ODataEndpoint]:
    return Operation(ODataEndpoint.get_collection, summary, Success.PAGE, needs, COLLECTION)


def _count(summary: str, *needs: Need) -> Operation[ODataEndpoint]:
    return Operation(ODataEndpoint.get_count, summary, Success.COUNT, needs, COLLECTION)


def _delta(template: str, what: str, *needs: Need) -> Route[ODataEndpoint]:
    """``delta()`` of an entity set: its changes since a deltaLink's state."""
    return Route(
        template,
        get=Operation(
            ODataEndpoint.get_delta,
            f"delta(): the {what} that changed, and those removed, since the last round",
            Success.DELTA,
            needs,
            DELTA,
        ),
    )


def _runs_entity(template: str, what: str = "run") -> Route[ODataEndpoint]:
    """A run by key (in ``runs``, ``runGroups`` or below a navigation): read, update, delete."""
    return Route(
        template,
        get=Operation(
            ODataEndpoint.get_entity, f"Get a {what}", Success.ENTITY, (READ_RUNS,), ENTITY
        ),
        patch=Operation(
            ODataEndpoint.patch_run,
            f"Update a {what}",
            Success.UPDATED,
            (WRITE_RUNS,),
            body=RUN_UPDATE,
            if_match=True,
        ),
        delete=Operation(
            ODataEndpoint.delete_run,
            f"Delete a {what}",
            Success.DONE,
            (WRITE_RUNS,),
            if_match=True,
        ),
    )


def _link(template: str, summary: str, need: Need) -> Route[ODataEndpoint]:
    """An entity's own reference (``…/{id}/$ref``), read only."""
    return Route(template, get=Operation(ODataEndpoint.get_link, summary, Success.LINK, (need,)))


def _read(template: str, summary: str) -> Route[ODataEndpoint]:
    """One entity, read only, with the Run permission: a dataset or an access of one."""
    return Route(
        template,
        get=Operation(ODataEndpoint.get_entity, summary, Success.ENTITY, (READ_RUNS,), ENTITY),
    )


def _accesses(parent: str, side: str, what: str, *, post: str = "") -> list[Route[ODataEndpoint]]:
    """A run's inputs or outputs, a dataset's reads or writes (``post``: recording one)."""
    collection = f"{HUB}/{parent}/{{id}}/{side}"
    recording = None
    if post:
        recording = Operation(
            ODataEndpoint.record_access, post, Success.CREATED, (WRITE_RUNS,), body=ACCESS_WRITE
        )
    return [
        Route(collection, get=_list(f"The {what}", READ_RUNS), post=recording),
        Route(f"{collection}/$count", get=_count(f"Count the {what}", READ_RUNS)),
        _read(f"{collection}/{{id}}", f"Get one of the {what}"),
    ]


def _expectation(
    owners: str, what: str, read: Need, write: Need, body: dict[str, Any]
) -> Route[ODataEndpoint]:
    """A process's or a dataset's (``owners``) expectation: read, created or replaced, changed
    and removed with the owner's permissions."""
    return Route(
        f"{HUB}/{owners}/{{id}}/expectation",
        get=Operation(ODataEndpoint.get_entity, f"Get a {what}", Success.ENTITY, (read,), ENTITY),
        put=Operation(
            ODataEndpoint.put_expectation,
            f"Create or replace a {what}",
            Success.UPDATED,
            (write,),
            body=body,
            if_match=True,
        ),
        patch=Operation(
            ODataEndpoint.patch_expectation,
            f"Change members of a {what}",
            Success.UPDATED,
            (write,),
            body=body,
            if_match=True,
        ),
        delete=Operation(
            ODataEndpoint.delete_expectation,
            f"Remove a {what}",
            Success.DONE,
            (write,),
            if_match=True,
        ),
    )


def _incident(template: str, summary: str) -> Route[ODataEndpoint]:
    return Route(
        template,
        get=Operation(
            ODataEndpoint.get_entity, summary, Success.ENTITY, (READ_FLOWS, READ_RUNS), ENTITY
        ),
    )


# Subscriptions declare no permission of their own: each operation needs to be allowed to read
# the subscription's resource, checked by its handler from the resource, as a GET of it would be.
SUBSCRIPTION_ROUTES = (
    Route(
        "/subscriptions",
        get=Operation(
            ODataEndpoint.list_subscriptions,
            "List the calling application's subscriptions",
            Success.PAGE,
        ),
        post=Operation(
            ODataEndpoint.create_subscription,
            "Create a subscription (after the validation handshake with its receivers)",
            Success.CREATED,
            body=SUBSCRIPTION_CREATE,
        ),
    ),
    Route(
        "/subscriptions/{id}",
        get=Operation(ODataEndpoint.get_subscription, "Get a subscription", Success.ENTITY),
        patch=Operation(
            ODataEndpoint.patch_subscription,
            "Renew a subscription (a new expirationDateTime)",
            Success.UPDATED,
            body=SUBSCRIPTION_UPDATE,
        ),
        delete=Operation(ODataEndpoint.delete_subscription, "Delete a subscription", Success.DONE),
    ),
    Route(
        "/subscriptions/{id}/reauthorize",
        post=Operation(
            ODataEndpoint.reauthorize_subscription,
            "Reauthorize a subscription with the request's token",
            Success.DONE,
        ),
    ),
)

ROUTES = RouteTable[ODataEndpoint](
    [
        *SUBSCRIPTION_ROUTES,
        # -- documents and the hub -----------------------------------------------------------
        Route(
            "",
            get=Operation(
                ODataEndpoint.get_service_document,
                "The service document",
                Success.SERVICE_DOCUMENT,
                anonymous=True,
            ),
        ),
        Route(
            "/$metadata",
            get=Operation(
                ODataEndpoint.get_metadata,
                "The CSDL description of the model",
                Success.CSDL,
                anonymous=True,
            ),
        ),
        # Each request of a batch is checked as if sent alone: the batch itself needs nothing.
        Route(
            "/$batch",
            post=Operation(
                ODataEndpoint.post_batch,
                "JSON batch: up to 20 requests in one, ordered by dependsOn",
                Success.BATCH,
                body=BATCH,
            ),
        ),
        # OpenLineage clients post here (and to the same path at the host root). Ingestion
        # writes runs and creates processes: it needs both ReadWrite permissions.
        Route(
            LINEAGE_PATH,
            post=Operation(
                post_lineage_event,
                "Record an OpenLineage event (RunEvent, JobEvent or DatasetEvent)",
                Success.INGESTED,
                (WRITE_RUNS, WRITE_FLOWS),
                body=LINEAGE_EVENT,
            ),
        ),
        Route(
            "/external",
            get=Operation(
                ODataEndpoint.get_hub, "The root above the hub", Success.ENTITY, query=ENTITY
            ),
        ),
        Route(
            HUB,
            get=Operation(
                ODataEndpoint.get_hub, "The industryData hub", Success.ENTITY, query=ENTITY
            ),
        ),
        # -- runs ----------------------------------------------------------------------------
        Route(
            f"{HUB}/runs",
            get=_list("List runs (every run type)", READ_RUNS),
            post=Operation(
                ODataEndpoint.create_run,
                "Create a run",
                Success.CREATED,
                (WRITE_RUNS,),
                body=RUN_CREATE,
            ),
        ),
        Route(f"{HUB}/runs/$count", get=_count("Count runs", READ_RUNS)),
        _delta(f"{HUB}/runs/delta", "runs", READ_RUNS),
        _runs_entity(f"{HUB}/runs/{{id}}"),
        _link(f"{HUB}/runs/{{id}}/$ref", "The link to a run", READ_RUNS),
        Route(
            f"{HUB}/runs/{{id}}/process",
            # Reading it is reading the run; creating one through it also links it to the run,
            # and updating it writes a process.
            get=Operation(
                ODataEndpoint.get_entity,
                "Get the process of a run",
                Success.ENTITY,
                (READ_RUNS,),
                ENTITY,
            ),
            post=Operation(
                ODataEndpoint.create_linked_process,
                "Create a process and link the run to it",
                Success.CREATED,
                (WRITE_RUNS, WRITE_FLOWS),
                body=PROCESS_CREATE,
            ),
            patch=Operation(
                ODataEndpoint.patch_process,
                "Update the process of a run",
                Success.UPDATED,
                (READ_RUNS, WRITE_FLOWS),
                body=PROCESS_UPDATE,
                if_match=True,
            ),
        ),
        Route(
            f"{HUB}/runs/{{id}}/process/$ref",
            get=Operation(
                ODataEndpoint.get_link, "The link to the run's process", Success.LINK, (READ_RUNS,)
            ),
            put=Operation(
                ODataEndpoint.put_link,
                "Link the run to an existing process",
                Success.DONE,
                (WRITE_RUNS,),
                body=REFERENCE,
                if_match=True,
            ),
            post=Operation(
                ODataEndpoint.put_link,
                "Link the run to an existing process",
                Success.DONE,
                (WRITE_RUNS,),
                body=REFERENCE,
                if_match=True,
            ),
            delete=Operation(
                ODataEndpoint.delete_link,
                "Unlink the run's process",
                Success.DONE,
                (WRITE_RUNS,),
                if_match=True,
            ),
        ),
        # -- processes -----------------------------------------------------------------------
        Route(
            f"{HUB}/processes",
            get=_list("List processes", READ_FLOWS),
            post=Operation(
                ODataEndpoint.create_process,
                "Create a process",
                Success.CREATED,
                (WRITE_FLOWS,),
                body=PROCESS_CREATE,
            ),
        ),
        Route(f"{HUB}/processes/$count", get=_count("Count processes", READ_FLOWS)),
        _delta(f"{HUB}/processes/delta", "processes", READ_FLOWS),
        Route(
            f"{HUB}/processes/{{id}}",
            get=Operation(
                ODataEndpoint.get_entity, "Get a process", Success.ENTITY, (READ_FLOWS,), ENTITY
            ),
            patch=Operation(
                ODataEndpoint.patch_process,
                "Update a process",
                Success.UPDATED,
                (WRITE_FLOWS,),
                body=PROCESS_UPDATE,
                if_match=True,
            ),
            delete=Operation(
                ODataEndpoint.delete_process,
                "Delete a process",
                Success.DONE,
                (WRITE_FLOWS,),
                if_match=True,
            ),
        ),
        _link(f"{HUB}/processes/{{id}}/$ref", "The link to a process", READ_FLOWS),
        Route(
            f"{HUB}/processes/{{id}}/runs",
            get=_list("The runs of a process", READ_RUNS),
            post=Operation(
                ODataEndpoint.create_run,
                "Create a run of the process",
                Success.CREATED,
                (WRITE_RUNS,),
                body=RUN_CREATE_UNDER_PROCESS,
            ),
        ),
        Route(
            f"{HUB}/processes/{{id}}/runs/$count", get=_count("Count a process's runs", READ_RUNS)
        ),
        _runs_entity(f"{HUB}/processes/{{id}}/runs/{{id}}", "run of a process"),
        _link(f"{HUB}/processes/{{id}}/runs/{{id}}/$ref", "The link to a run", READ_RUNS),
        # -- process health: a process's expectation is the process's (its permissions); its
        # health and incidents tell of its runs, so they need the Run permission too, and
        # writing a successRule does (checked by the handler, from the body) --------------------
        _expectation(
            "processes", "process's expectation", READ_FLOWS, WRITE_FLOWS, EXPECTATION_WRITE
        ),
        Route(
            f"{HUB}/processes/{{id}}/health",
            get=Operation(
                ODataEndpoint.get_entity,
                "Get a process's health",
                Success.ENTITY,
                (READ_FLOWS, READ_RUNS),
                ENTITY,
            ),
        ),
        Route(
            f"{HUB}/processes/{{id}}/incidents",
            get=_list("The incidents of a process", READ_FLOWS, READ_RUNS),
        ),
        Route(
            f"{HUB}/processes/{{id}}/incidents/$count",
            get=_count("Count a process's incidents", READ_FLOWS, READ_RUNS),
        ),
        _incident(f"{HUB}/processes/{{id}}/incidents/{{id}}", "Get an incident of a process"),
        Route(f"{HUB}/incidents", get=_list("List incidents", READ_FLOWS, READ_RUNS)),
        Route(f"{HUB}/incidents/$count", get=_count("Count incidents", READ_FLOWS, READ_RUNS)),
        _delta(f"{HUB}/incidents/delta", "incidents", READ_FLOWS, READ_RUNS),
        _incident(f"{HUB}/incidents/{{id}}", "Get an incident"),
        Route(
            f"{HUB}/incidents/{{id}}/process",
            get=Operation(
                ODataEndpoint.get_entity,
                "Get the process of an incident",
                Success.ENTITY,
                (READ_FLOWS, READ_RUNS),
                ENTITY,
            ),
        ),
        Route(
            f"{HUB}/incidents/{{id}}/dataset",
            get=Operation(
                ODataEndpoint.get_entity,
                "Get the dataset of an incident",
                Success.ENTITY,
                (READ_FLOWS, READ_RUNS),
                ENTITY,
            ),
        ),
        # -- lineage: datasets and the runs' accesses to them reveal run data, so reading them
        # needs the Run permission; recording an access is a write of the run --------------------
        *_accesses("runs", "inputs", "datasets the run read", post="Record a dataset the run read"),
        *_accesses(
            "runs", "outputs", "datasets the run wrote", post="Record a dataset the run wrote"
        ),
        Route(f"{HUB}/datasets", get=_list("List datasets", READ_RUNS)),
        Route(f"{HUB}/datasets/$count", get=_count("Count datasets", READ_RUNS)),
        _delta(f"{HUB}/datasets/delta", "datasets", READ_RUNS),
        _read(f"{HUB}/datasets/{{id}}", "Get a dataset"),
        # A dataset's freshness expectation is the dataset's: the Run permission reads it, and
        # its write (which opens incidents about run data) needs Run.ReadWrite.
        _expectation(
            "datasets", "dataset's freshness expectation", READ_RUNS, WRITE_RUNS, FRESHNESS_WRITE
        ),
        Route(
            f"{HUB}/datasets/{{id}}/incidents",
            get=_list("The stale incidents of a dataset", READ_FLOWS, READ_RUNS),
        ),
        Route(
            f"{HUB}/datasets/{{id}}/incidents/$count",
            get=_count("Count a dataset's incidents", READ_FLOWS, READ_RUNS),
        ),
        _incident(f"{HUB}/datasets/{{id}}/incidents/{{id}}", "Get an incident of a dataset"),
        *_accesses("datasets", "writes", "runs that wrote the dataset"),
        *_accesses("datasets", "reads", "runs that read the dataset"),
        # -- run groups ----------------------------------------------------------------------
        Route(
            f"{HUB}/runGroups",
            get=_list("List run groups", READ_RUNS),
            post=Operation(
                ODataEndpoint.create_run,
                "Create a run group",
                Success.CREATED,
                (WRITE_RUNS,),
                body=RUN_CREATE_UNDER_PROCESS,
            ),
        ),
        Route(f"{HUB}/runGroups/$count", get=_count("Count run groups", READ_RUNS)),
        _delta(f"{HUB}/runGroups/delta", "run groups", READ_RUNS),
        _runs_entity(f"{HUB}/runGroups/{{id}}", "run group"),
        _link(f"{HUB}/runGroups/{{id}}/$ref", "The link to a run group", READ_RUNS),
        # Members are added by reference, never created in the group (the navigation is not
        # insertable): no POST here.
        Route(f"{HUB}/runGroups/{{id}}/runs", get=_list("The member runs of a group", READ_RUNS)),
        Route(
            f"{HUB}/runGroups/{{id}}/runs/$count", get=_count("Count a group's members", READ_RUNS)
        ),
        Route(
            f"{HUB}/runGroups/{{id}}/runs/$ref",
            get=Operation(
                ODataEndpoint.get_member_links,
                "Links to the member runs",
                Success.LINKS,
                (READ_RUNS,),
                COLLECTION,
            ),
            post=Operation(
                ODataEndpoint.add_member_link,
                "Add a run to the group",
                Success.DONE,
                (WRITE_RUNS,),
                body=REFERENCE,
            ),
        ),
        _runs_entity(f"{HUB}/runGroups/{{id}}/runs/{{id}}", "member run"),
        Route(
            f"{HUB}/runGroups/{{id}}/runs/{{id}}/$ref",
            get=Operation(
                ODataEndpoint.get_link, "The link to a member run", Success.LINK, (READ_RUNS,)
            ),
            delete=Operation(
                ODataEndpoint.delete_member_link,
                "Remove a run from the group",
                Success.DONE,
                (WRITE_RUNS,),
            ),
        ),
        Route(
            f"{HUB}/runGroups/{{id}}/getErrorsAndWarningsFile",
            get=Operation(
                ODataEndpoint.get_errors_and_warnings_file,
                "getErrorsAndWarningsFile(): CSV of the members that failed or warned",
                Success.VALUE,
                (READ_RUNS,),
            ),
        ),
    ]
)
