"""Every path and method against every kind of bad or insufficient token (SPEC §6).

The operations are every method of every route of the route table (so a new route is covered
as soon as it is declared), with ids in its keys, and the SPEC rows written out below with the
permissions SPEC §6 says they need (a few with query options); the SPEC rows also check that
the table declares those permissions. Times one table of token variants, each pair must
answer the right status, and nothing of tenant A may show through tenant B's token: another
tenant's id answers exactly like an id that never existed.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.api.routes import ROUTES
from flowruns.auth.scopes import (
    FLOW_READ,
    FLOW_READ_WRITE,
    READ_WRITE_PERMISSIONS,
    RUN_READ,
    RUN_READ_WRITE,
    Area,
)
from flowruns.edm.datetimes import TICKS_PER_SECOND, format_ticks, now_ticks
from flowruns.edm.openapi import PathOperation
from flowruns.odata import path as paths
from flowruns.service import freshness, health
from flowruns.settings import DEFAULT_TENANT, Settings
from tests.api import forged
from tests.api.steps import (
    BASE_URL,
    INSIGHTS,
    OUTGOING,
    add_member,
    create_group,
    create_process,
    create_run,
)
from tests.conftest import HUB, NS, ROOT, SECRET_KEY, bearer

OTHER_TENANT = "00000000-0000-0000-0000-0000000000b2"
RUNS, FLOWS = "runs", "flows"
SECRET = "tenant-a-confidential"


@dataclass(frozen=True)
class Operation:
    """One method on one path; ``{run}``, ``{other_run}``, ``{process}``, ``{group}`` are ids."""

    method: str
    path: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    # Served without a token (SPEC §6): the documents, which hold no tenant data.
    anonymous: bool = False

    @property
    def names_an_id(self) -> bool:
        return "{" in self.path

    @property
    def is_write(self) -> bool:
        return bool(self.writes)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _ref(path: str) -> dict[str, Any]:
    return {"@odata.id": f"{BASE_URL}{HUB}/{path}"}


SPEC = [
    Operation("GET", ROOT, anonymous=True),
    Operation("GET", f"{ROOT}/$metadata", anonymous=True),
    Operation("GET", HUB),
    # A batch needs what its requests need, each checked alone (tests/api/test_batch.py).
    Operation(
        "POST",
        f"{ROOT}/$batch",
        body={"requests": [{"id": "1", "method": "GET", "url": "/external/industryData"}]},
    ),
    Operation("GET", f"{ROOT}/external"),
    Operation("GET", f"{HUB}/runs", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs/{NS}.outgoingFlowRun", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs/$count", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs/{{run}}", reads=(RUNS,)),
    Operation("HEAD", f"{HUB}/runs/{{run}}", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs('{{run}}')", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs/{{run}}/{NS}.outgoingFlowRun", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs/{{run}}/process", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs/{{run}}/process/$ref", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runs/{{run}}/$ref", reads=(RUNS,)),
    Operation("GET", f"{HUB}/processes", reads=(FLOWS,)),
    Operation("GET", f"{HUB}/processes/$count", reads=(FLOWS,)),
    Operation("GET", f"{HUB}/processes?$expand=runs", reads=(FLOWS, RUNS)),
    Operation("GET", f"{HUB}/processes?$filter=runs/any()", reads=(FLOWS, RUNS)),
    Operation("GET", f"{HUB}/processes?$orderby=runs/$count desc", reads=(FLOWS, RUNS)),
    Operation("GET", f"{HUB}/processes/{{process}}", reads=(FLOWS,)),
    Operation("GET", f"{HUB}/processes/{{process}}/$ref", reads=(FLOWS,)),
    Operation("GET", f"{HUB}/processes/{{process}}/runs", reads=(RUNS,)),
    Operation("GET", f"{HUB}/processes/{{process}}/runs/$count", reads=(RUNS,)),
    Operation("GET", f"{HUB}/processes/{{process}}/runs/{{run}}", reads=(RUNS,)),
    Operation("GET", f"{HUB}/processes/{{process}}/runs/{{run}}/$ref", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/$count", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}/$ref", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}/runs", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}/runs/$count", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}/runs/{{run}}", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}/runs/{{run}}/$ref", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}/runs/$ref", reads=(RUNS,)),
    Operation("GET", f"{HUB}/runGroups/{{group}}/getErrorsAndWarningsFile", reads=(RUNS,)),
    Operation("POST", f"{HUB}/runs", writes=(RUNS,), body={"@odata.type": OUTGOING}),
    Operation("PATCH", f"{HUB}/runs/{{run}}", writes=(RUNS,), body={"displayName": "x"}),
    Operation("DELETE", f"{HUB}/runs/{{run}}", writes=(RUNS,)),
    Operation(
        "PUT", f"{HUB}/runs/{{run}}/process/$ref", writes=(RUNS,), body=_ref("processes/{process}")
    ),
    Operation(
        "POST", f"{HUB}/runs/{{run}}/process/$ref", writes=(RUNS,), body=_ref("processes/{process}")
    ),
    Operation("DELETE", f"{HUB}/runs/{{run}}/process/$ref", writes=(RUNS,)),
    Operation(
        "POST",
        f"{HUB}/runs/{{other_run}}/process",
        writes=(RUNS, FLOWS),
        body={"@odata.type": INSIGHTS, "displayName": "x"},
    ),
    Operation(
        "PATCH", f"{HUB}/runs/{{run}}/process", reads=(RUNS,), writes=(FLOWS,), body={"x": 1}
    ),
    Operation(
        "POST",
        f"{HUB}/processes",
        writes=(FLOWS,),
        body={"@odata.type": INSIGHTS, "displayName": "x"},
    ),
    Operation("PATCH", f"{HUB}/processes/{{process}}", writes=(FLOWS,), body={"displayName": "x"}),
    Operation("DELETE", f"{HUB}/processes/{{process}}", writes=(FLOWS,)),
    Operation(
        "POST", f"{HUB}/processes/{{process}}/runs", writes=(RUNS,), body={"displayName": "x"}
    ),
    Operation(
        "PATCH",
        f"{HUB}/processes/{{process}}/runs/{{run}}",
        writes=(RUNS,),
        body={"displayName": "x"},
    ),
    Operation("DELETE", f"{HUB}/processes/{{process}}/runs/{{run}}", writes=(RUNS,)),
    Operation("POST", f"{HUB}/runGroups", writes=(RUNS,), body={"displayName": "x"}),
    Operation("PATCH", f"{HUB}/runGroups/{{group}}", writes=(RUNS,), body={"displayName": "x"}),
    Operation("DELETE", f"{HUB}/runGroups/{{group}}", writes=(RUNS,)),
    Operation(
        "PATCH",
        f"{HUB}/runGroups/{{group}}/runs/{{run}}",
        writes=(RUNS,),
        body={"displayName": "x"},
    ),
    Operation("DELETE", f"{HUB}/runGroups/{{group}}/runs/{{run}}", writes=(RUNS,)),
    Operation(
        "POST",
        f"{HUB}/runGroups/{{group}}/runs/$ref",
        writes=(RUNS,),
        body=_ref("runs/{other_run}"),
    ),
    Operation("DELETE", f"{HUB}/runGroups/{{group}}/runs/{{run}}/$ref", writes=(RUNS,)),
]

_AREAS = {Area.RUNS: RUNS, Area.FLOWS: FLOWS}
# The id each kind of key is given: a member run of the group, and a run of the process.
_IDS = {"run-id": "{run}", "process-id": "{process}", "runGroup-id": "{group}"}
_IDS["incident-id"] = "{incident}"
_IDS["dataset-id"] = "{dataset}"
# The run read and wrote one dataset: an access below inputs or reads is its input, else its
# output.
_READ_ACCESS = ("/inputs/", "/reads/")


def _path(described: PathOperation) -> str:
    path = described.path
    for key in described.keys:
        if key == "datasetAccess-id":
            side = "{input}" if any(s in path for s in _READ_ACCESS) else "{output}"
            path = path.replace(f"{{{key}}}", side)
        if key == "incident-id" and ("/datasets/" in path or path.endswith("/dataset")):
            path = path.replace(f"{{{key}}}", "{stale}")  # the dataset's incident
        path = path.replace(f"{{{key}}}", _IDS.get(key, ""))
    return ROOT + path


def _routes() -> list[Operation]:
    """Every method of every route of the table (and each documented cast), with the needs the
    table declares and no body: refused with a bad or lacking token, hidden from another
    tenant, readable with exactly those permissions."""
    found = []
    for route in ROUTES.routes:
        if isinstance(route.resource, paths.Subscriptions):
            continue  # they need to read their resource: tests/api/test_subscriptions.py
        for described in route.described():
            needs = route.operations[described.method].needs
            reads = tuple(_AREAS[n.area] for n in needs if not n.write)
            writes = tuple(_AREAS[n.area] for n in needs if n.write)
            anonymous = route.operations[described.method].anonymous
            found.append(
                Operation(described.method, _path(described), reads, writes, anonymous=anonymous)
            )
    return found


_SPECIFIED = {(o.method, o.path) for o in SPEC}


def test_the_route_table_serves_exactly_the_documents_without_a_token() -> None:
    anonymous = {(o.method, o.path) for o in _routes() if o.anonymous}
    assert anonymous == {(o.method, o.path) for o in SPEC if o.anonymous}


OPERATIONS = SPEC + [o for o in _routes() if (o.method, o.path) not in _SPECIFIED]

_PERMISSION = {(RUNS, False): RUN_READ, (RUNS, True): RUN_READ_WRITE}
_PERMISSION |= {(FLOWS, False): FLOW_READ, (FLOWS, True): FLOW_READ_WRITE}


def _granting(operation: Operation) -> tuple[str, ...]:
    """Exactly the permissions the operation needs (the documents need any one of them)."""
    needed = {_PERMISSION[a, False] for a in operation.reads}
    needed |= {_PERMISSION[a, True] for a in operation.writes}
    return tuple(sorted(needed)) or (FLOW_READ,)


def _lacking(operation: Operation) -> tuple[str, ...]:
    """A permission that is not enough: only the other area's (or none for the documents)."""
    areas = set(operation.reads) | set(operation.writes)
    if not areas:
        return ()
    if areas == {RUNS, FLOWS}:
        return (RUN_READ_WRITE,)
    return (FLOW_READ_WRITE,) if RUNS in areas else (RUN_READ_WRITE,)


def _read_only(operation: Operation) -> tuple[str, ...]:
    return tuple(sorted({_PERMISSION[a, False] for a in operation.reads + operation.writes}))


@dataclass
class World:
    """Tenant A's data, tenant B's data, and one server that holds both."""

    client: TestClient
    settings: Settings
    ids: dict[str, str]
    snapshot: Callable[[], list[Any]]
    before: list[Any] = field(default_factory=list)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("matrix") / "data"
    settings = Settings(data_dir=data_dir, secret_key=SECRET_KEY)
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        client.headers.update(bearer(settings))
        process = create_process(client, f"{SECRET} process")
        run = create_run(
            client, f"{SECRET} run", collection=f"{HUB}/processes/{process['id']}/runs"
        )
        other_run = create_run(client, f"{SECRET} other run")
        group = create_group(client, f"{SECRET} group")
        assert add_member(client, group["id"], run["id"]).status_code == 204
        # An incident of the process: a run overdue an hour after it started.
        expectation = {"maxDuration": "PT1M"}
        put = client.put(f"{HUB}/processes/{process['id']}/expectation", json=expectation)
        assert put.status_code == 201, put.text
        start = now_ticks() + TICKS_PER_SECOND
        create_run(
            client,
            f"{SECRET} overdue run",
            collection=f"{HUB}/processes/{process['id']}/runs",
            startDateTime=format_ticks(start),
        )
        db = open_database(settings)
        health.evaluate_due(db, now=lambda: start + 3600 * TICKS_PER_SECOND)
        db.dispose()
        incident = client.get(f"{HUB}/incidents").json()["value"][0]
        accesses = {
            side: client.post(f"{HUB}/runs/{run['id']}/{side}s", json={"name": f"{SECRET} d"})
            for side in ("input", "output")
        }
        assert all(a.status_code == 201 for a in accesses.values())
        dataset = accesses["output"].json()["datasetId"]
        # An incident of the dataset: never written successfully within a minute.
        put = client.put(f"{HUB}/datasets/{dataset}/expectation", json={"writtenEvery": "PT1M"})
        assert put.status_code == 201, put.text
        db = open_database(settings)
        freshness.evaluate_due(db, now=lambda: start + 3600 * TICKS_PER_SECOND)
        db.dispose()
        stale = client.get(f"{HUB}/datasets/{dataset}/incidents").json()["value"][0]
        client.headers.update(bearer(settings, tenant=OTHER_TENANT))
        create_process(client, "tenant-b process")
        create_run(client, "tenant-b run")
        del client.headers["Authorization"]
        ids = {"run": run["id"], "other_run": other_run["id"]}
        ids |= {"process": process["id"], "group": group["id"], "incident": incident["id"]}
        ids |= {"dataset": dataset, "stale": stale["id"]}
        ids |= {s: a.json()["id"] for s, a in accesses.items()}
        a_token = bearer(settings)

        def snapshot() -> list[Any]:
            urls = [
                f"{HUB}/runs?$top=999",
                f"{HUB}/processes?$top=999",
                f"{HUB}/runGroups/{group['id']}/runs/$ref",
                f"{HUB}/runs/{run['id']}/process/$ref",
                f"{HUB}/datasets?$top=999&$expand=writes,reads",
            ]
            return [client.get(url, headers=a_token).json() for url in urls]

        found = World(client, settings, ids, snapshot)
        found.before = snapshot()
        yield found


def _send(world: World, operation: Operation, ids: dict[str, str], token: str | None) -> Any:
    headers = {} if token is None else forged.bearer_header(token)
    body = operation.body
    if body is not None:
        body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
    return world.client.request(
        operation.method, operation.path.format(**ids), json=body, headers=headers
    )


def _assert_error(response: httpx2.Response, status: int, code: str, method: str) -> None:
    assert response.status_code == status, response.text
    if method != "HEAD":
        assert response.json()["error"]["code"] == code


BAD_TOKENS: dict[str, Callable[[Settings], str | None]] = {
    "no token": lambda s: None,
    "expired": lambda s: forged.signed(
        s, forged.claims(exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200)
    ),
    "not yet valid": lambda s: forged.signed(s, forged.claims(nbf=int(time.time()) + 3600)),
    "wrong audience": lambda s: forged.signed(s, forged.claims(aud="api://someone-else")),
    "wrong issuer": lambda s: forged.signed(s, forged.claims(iss="https://issuer.invalid")),
    "no expiry": lambda s: forged.signed(s, forged.claims(exp=None)),
    "no tenant": lambda s: forged.signed(s, forged.claims(tid=None)),
    "tenant not a GUID": lambda s: forged.signed(s, forged.claims(tid="x" * 100)),
    "tenant a GUID and a newline": lambda s: forged.signed(
        s, forged.claims(tid=DEFAULT_TENANT + "\n")
    ),
    "tenant a GUID inside a longer text": lambda s: forged.signed(
        s, forged.claims(tid=DEFAULT_TENANT + "0")
    ),
    "expiry a string": lambda s: forged.signed(s, forged.claims(exp=str(int(time.time()) + 3600))),
    "not-before a string": lambda s: forged.signed(s, forged.claims(nbf=str(int(time.time())))),
    "issued-at a string": lambda s: forged.signed(s, forged.claims(iat=str(int(time.time())))),
    "expiry a Boolean": lambda s: forged.signed(s, forged.claims(exp=True)),
    "bad signature": lambda s: forged.wrong_key(s, forged.claims()),
    "alg none": lambda s: forged.unsigned(forged.claims()),
    "HS256 keyed with the public key": lambda s: forged.hmac_with_public_key(s, forged.claims()),
    "garbage": lambda s: "not.a.jwt",
}


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
@pytest.mark.parametrize("variant", list(BAD_TOKENS))
def test_a_bad_token_is_401_with_www_authenticate(
    world: World, operation: Operation, variant: str
) -> None:
    response = _send(world, operation, world.ids, BAD_TOKENS[variant](world.settings))
    if variant == "no token" and operation.anonymous:
        assert response.status_code == 200, response.text
        return
    _assert_error(response, 401, "InvalidAuthenticationToken", operation.method)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    if operation.is_write:
        assert world.snapshot() == world.before


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if not o.anonymous], ids=str)
def test_a_token_without_the_permission_is_403(world: World, operation: Operation) -> None:
    token = forged.signed(world.settings, forged.claims(scopes=_lacking(operation)))
    _assert_error(_send(world, operation, world.ids, token), 403, "accessDenied", operation.method)
    if operation.is_write:
        assert world.snapshot() == world.before


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if o.anonymous], ids=str)
def test_a_document_served_without_a_token_is_served_to_any_valid_token(
    world: World, operation: Operation
) -> None:
    """Holding a token never gets less than holding none: no permission is needed."""
    token = forged.signed(world.settings, forged.claims(scopes=()))
    assert _send(world, operation, world.ids, token).status_code == 200


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if o.is_write], ids=str)
def test_a_read_only_token_cannot_write(world: World, operation: Operation) -> None:
    token = forged.signed(world.settings, forged.claims(scopes=_read_only(operation)))
    _assert_error(_send(world, operation, world.ids, token), 403, "accessDenied", operation.method)
    assert world.snapshot() == world.before


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if not o.is_write], ids=str)
@pytest.mark.parametrize("grant", ["exact permissions", "as application roles"])
def test_the_needed_permissions_are_enough_to_read(
    world: World, operation: Operation, grant: str
) -> None:
    if grant == "exact permissions":
        token = forged.signed(world.settings, forged.claims(scopes=_granting(operation)))
    else:
        body = forged.claims(scp=None, roles=list(_granting(operation)))
        token = forged.signed(world.settings, body)
    response = _send(world, operation, world.ids, token)
    # $expand is part of the query language; where it is not available it is a 501.
    assert response.status_code in (200, 501), response.text


def _scrub(text: str, ids: dict[str, str]) -> str:
    """The response text with the request-specific parts (ids, timestamps) blanked out."""
    for name, value in ids.items():
        text = text.replace(value, f"<{name}>")
    return re.sub(r'"(request-id|client-request-id|date)":"[^"]*"', r'"\1":""', text)


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_another_tenants_data_is_invisible(world: World, operation: Operation) -> None:
    token = forged.signed(world.settings, forged.claims(tenant=OTHER_TENANT))
    response = _send(world, operation, world.ids, token)
    assert response.status_code not in (401, 403), response.text
    if operation.names_an_id:
        never = {name: str(uuid.uuid4()) for name in world.ids}
        missing = _send(world, operation, never, token)
        assert response.status_code == missing.status_code
        assert _scrub(response.text, world.ids) == _scrub(missing.text, never)
    else:
        assert response.status_code != 500
        assert SECRET not in response.text
        assert not any(value in response.text for value in world.ids.values())
    assert world.snapshot() == world.before


_ANY_IDS = {"run": "r", "other_run": "o", "process": "p", "group": "g"}


@pytest.mark.parametrize("operation", [o for o in SPEC if "?" not in o.path], ids=str)
def test_the_route_table_declares_what_the_spec_says(operation: Operation) -> None:
    resource = paths.resolve(operation.path.removeprefix(ROOT).format(**_ANY_IDS))
    route = ROUTES.match(resource)
    assert route is not None, operation
    needs = route.operation(operation.method).needs
    declared = {(_AREAS[n.area], n.write) for n in needs}
    assert declared == {(a, False) for a in operation.reads} | {(a, True) for a in operation.writes}


def test_the_default_tenant_token_sees_its_own_data(world: World) -> None:
    """The tables above prove something only if the right token does reach the data."""
    token = forged.signed(world.settings, forged.claims(scopes=READ_WRITE_PERMISSIONS))
    response = _send(world, Operation("GET", f"{HUB}/runs/{{run}}"), world.ids, token)
    assert response.status_code == 200
    assert response.json()["displayName"] == f"{SECRET} run"
    assert DEFAULT_TENANT not in response.text
