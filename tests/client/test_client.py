"""The synchronous client against a real server: paging, CRUD, links, typed errors, retries."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

import flowruns
from flowruns.client import (
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    DataShareOutgoingFlow,
    F,
    GraphAPIError,
    IncomingFlowRun,
    NotFoundError,
    OutgoingFlowRun,
    PermissionDeniedError,
    PreconditionFailedError,
    Process,
    RetryPolicy,
    RunStatus,
    ServiceUnreachableError,
)
from flowruns.settings import DEFAULT_TENANT, LOCAL_AUDIENCE, LOCAL_ISSUER
from tests.client.conftest import TOKEN
from tests.client.recording import RecordingTransport
from tests.servers import TOKEN_SECRET, Server, free_port, running


def test_list_follows_next_links_across_pages_lazily(server: Server, process: Process) -> None:
    transport = RecordingTransport()
    with Client(f"{server.base}/beta", TOKEN, transport=transport) as client:
        assert process.id is not None
        created = {client.runs.create(f"run {i}", process_id=process.id).id for i in range(70)}
        transport.exchanges.clear()
        runs = client.runs.list(filter=F.process.id == process.id, top=20)
        first = list(itertools.islice(runs, 5))
        assert len(transport.exchanges) == 1  # nothing fetched beyond what was read
        listed = [r.id for r in itertools.chain(first, runs)]
        assert len(transport.exchanges) == 4
        assert len(listed) == 70  # every run once, none twice
        assert set(listed) == created
        page = client.runs.page(filter=F.process.id == process.id, top=30, count=True)
        assert (len(page.items), page.count, page.next_link is not None) == (30, 70, True)
        second = client.runs.next_page(page)
        assert second is not None
        third = client.runs.next_page(second)
        assert third is not None
        assert (len(second.items), len(third.items), client.runs.next_page(third)) == (30, 10, None)
        newest_first = [r.start_date_time for r in client.processes.runs(process.id, top=25)]
        assert len(newest_first) == 70
        assert newest_first == sorted(newest_first, reverse=True)  # type: ignore[type-var]


def test_limit_is_the_most_items_and_top_the_page_size(server: Server, process: Process) -> None:
    transport = RecordingTransport()
    with Client(f"{server.base}/beta", TOKEN, transport=transport) as client:
        assert process.id is not None
        for i in range(25):
            client.runs.create(f"run {i}", process_id=process.id)
        mine = F.process.id == process.id
        transport.exchanges.clear()
        assert len(list(client.runs.list(filter=mine, top=10, limit=15))) == 15
        # Pages of 10, and no third page once 15 runs came.
        assert [r.url.params["$top"] for r, _ in transport.exchanges] == ["10", "10"]
        transport.exchanges.clear()
        assert len(list(client.runs.list(filter=mine, limit=7))) == 7
        [(request, _)] = transport.exchanges  # a limit alone asks for no more than it needs
        assert request.url.params["$top"] == "7"
        assert len(list(client.processes.runs(process.id, limit=3))) == 3
        assert len(list(client.runs.list(filter=mine, top=10))) == 25  # top alone: every page
        transport.exchanges.clear()
        assert list(client.runs.list(filter=mine, limit=0)) == []
        assert transport.exchanges == []
        with pytest.raises(ValueError, match="limit"):
            client.processes.list(limit=-1)


def test_runs_and_processes_round_trip_as_typed_models(client: Client) -> None:
    share = client.processes.create(
        "Roster share", "dataShareOutgoingFlow", share_name="roster", invitee_user_ids=["u1"]
    )
    assert isinstance(share, DataShareOutgoingFlow)
    assert share.id is not None
    assert share.invitee_user_ids == ["u1"]
    renamed = client.processes.update(share.id, if_match=share, sharing_state="running")
    assert isinstance(renamed, DataShareOutgoingFlow)
    assert renamed.sharing_state == "running"

    run = client.runs.create("Import", type="incomingFlowRun", statistics={"recordsProcessed": 1})
    assert isinstance(run, IncomingFlowRun)
    assert run.id is not None
    assert run.status is RunStatus.RUNNING
    client.runs.link_process(run.id, share.id)
    assert client.runs.process(run.id).id == share.id
    expanded = client.runs.get(run.id, expand="process")
    assert isinstance(expanded.process, DataShareOutgoingFlow)
    client.runs.heartbeat(run.id)
    assert client.runs.get(run.id).etag == expanded.etag  # a heartbeat changes nothing
    done = client.runs.update(run.id, status="completed", statistics={"recordsProcessed": None})
    assert done.status is RunStatus.COMPLETED
    assert done.end_date_time is not None
    assert done.statistics == {}
    client.runs.unlink_process(run.id)
    with pytest.raises(NotFoundError):
        client.runs.process(run.id)
    assert [r.id for r in client.runs.list(filter=F.id == run.id, type="incomingFlowRun")] == [
        run.id
    ]
    assert list(client.runs.list(filter=F.id == run.id, type=OutgoingFlowRun)) == []
    client.runs.delete(run.id)
    with pytest.raises(NotFoundError):
        client.runs.get(run.id)


def test_errors_are_typed_and_carry_the_graph_error(client: Client, process: Process) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.runs.get(str(uuid.uuid4()))
    assert (missing.value.status, missing.value.code) == (404, "itemNotFound")
    assert missing.value.request_id
    with pytest.raises(BadRequestError) as invalid:
        client.runs.create("")
    assert invalid.value.target == "displayName"
    assert process.id is not None
    run = client.runs.create("x", process_id=process.id, status="completed")
    assert run.id is not None
    with pytest.raises(ConflictError) as final:
        client.runs.update(run.id, status="running")
    assert final.value.target == "status"
    with pytest.raises(PreconditionFailedError):
        client.runs.update(run.id, if_match='W/"0000000000000000"', display_name="y")
    with pytest.raises(ValueError, match="not a Run type"):
        client.runs.create("x", type="insightsOutgoingFlow")
    with pytest.raises(TypeError, match="no property"):
        client.runs.update(run.id, colour="red")


def test_a_running_run_protects_its_process_unless_cascading(client: Client) -> None:
    process = client.processes.create("busy", "insightsOutgoingFlow")
    assert process.id is not None
    client.runs.create("still running", process_id=process.id)
    with pytest.raises(ConflictError):
        client.processes.delete(process.id)
    client.processes.delete(process.id, cascade_running=True)
    with pytest.raises(NotFoundError):
        client.processes.get(process.id)


def _token(scopes: str) -> str:
    claims: dict[str, object] = {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "scp": scopes}
    claims["tid"] = DEFAULT_TENANT
    claims |= {"appid": "sdk-tests", "exp": 4_000_000_000}
    return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")


def test_authentication_and_permission_errors(server: Server) -> None:
    with (
        Client(f"{server.base}/beta", "not-a-token") as client,
        pytest.raises(AuthenticationError) as unauthenticated,
    ):
        client.runs.count()
    assert unauthenticated.value.code == "InvalidAuthenticationToken"
    with Client(f"{server.base}/beta", _token("IndustryData-Run.Read.All")) as reader:
        assert reader.runs.count() >= 0
        with pytest.raises(PermissionDeniedError) as denied:
            reader.runs.create("x")
    assert denied.value.code == "accessDenied"


def test_environment_supplies_url_and_token(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWRUNS_URL", f"{server.base}/beta/")
    monkeypatch.setenv("FLOWRUNS_TOKEN", TOKEN)
    with flowruns.Client() as client:  # also importable from the package root
        assert client.url == f"{server.base}/beta"
        assert client.runs.count() >= 0


def test_unreachable_service_is_one_error_after_bounded_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}/beta"
    with Client(url, TOKEN, retry=RetryPolicy(attempts=2, backoff=0.01)) as client:
        with pytest.raises(ServiceUnreachableError):
            client.runs.count()
        with pytest.raises(ServiceUnreachableError):
            client.runs.create("x")


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that lets each client send one request a second (a slow machine still trips it)."""
    directory: Path = tmp_path_factory.mktemp("limited")
    env = {"FLOWRUNS_RATE_LIMIT": "1", "FLOWRUNS_RATE_BURST": "1"}
    with running(directory / "log", "--data-dir", str(directory / "data"), env=env) as server:
        yield server


def test_rate_limited_creates_are_retried_after_retry_after_without_duplicates(
    limited_server: Server,
) -> None:
    transport = RecordingTransport()
    name = f"limited {uuid.uuid4()}"
    with Client(f"{limited_server.base}/beta", TOKEN, transport=transport) as client:
        created = [client.runs.create(name).id for _ in range(3)]
        assert 429 in transport.statuses("POST")
        keys = [r.headers["Idempotency-Key"] for r, _ in transport.exchanges if r.method == "POST"]
        assert len(set(keys)) == 3  # one key per create, reused by its retries
        assert client.runs.count(filter=F.displayName == name) == 3
    assert len(set(created)) == 3
    errors: list[GraphAPIError] = []
    with Client(f"{limited_server.base}/beta", TOKEN, retry=RetryPolicy(attempts=1)) as strict:
        for _ in range(3):
            try:
                strict.runs.count()
            except GraphAPIError as error:
                errors.append(error)
    assert [e.status for e in errors][:1] == [429]
    assert (errors[0].retry_after or 0) >= 1


def test_a_create_whose_answer_was_lost_is_retried_into_the_same_run(server: Server) -> None:
    transport = RecordingTransport(drop_first_answer_to="POST")
    name = f"lost answer {uuid.uuid4()}"
    with Client(f"{server.base}/beta", TOKEN, transport=transport) as client:
        run = client.runs.create(name)
        assert transport.statuses("POST") == [201, 201]  # applied, then replayed
        assert [r.id for r in client.runs.list(filter=F.displayName == name)] == [run.id]
