"""A generic OData v4 client nobody here wrote, against a real server process: python-odata
reflects ``$metadata`` (without a token, as Graph serves it) into classes, then creates, finds,
renames and deletes a process with them, and reads runs.

python-odata builds an insert body from the reflected properties, leaving out those annotated
``Core.Computed``, and then looks up the key in it: a key annotated Computed made it fail before
its first create. The test drives it exactly as its README shows, with the collection address
that Graph's containment puts below the ``external`` singleton.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from odata import ODataService
from tests.conftest import NS
from tests.servers import AUTH, Server, api_get, api_post, running

HUB_PATH = "external/industryData"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    where = tmp_path_factory.mktemp("generic-client")
    with running(where / "server.log", "--data-dir", str(where / "data")) as started:
        yield started


def _service(server: Server, **headers: str) -> ODataService:
    session = requests.Session()
    session.headers.update({**AUTH, **headers})
    return ODataService(
        f"{server.base}/beta", reflect_entities=True, session=session, quiet_progress=True
    )


def _bound(service: ODataService, type_name: str, collection: str) -> Any:
    """The reflected class of ``type_name``, addressed at ``collection`` below the hub."""
    reflected = service.types[f"{NS}.{type_name}"]
    return type(type_name, (reflected,), {"__odata_collection__": f"{HUB_PATH}/{collection}"})


def test_the_metadata_reflects_without_a_token(server: Server) -> None:
    service = ODataService(f"{server.base}/beta", reflect_entities=True, quiet_progress=True)
    assert f"{NS}.outgoingFlowRun" in service.types
    assert f"{NS}.insightsOutgoingFlow" in service.types


def test_a_process_is_created_renamed_and_deleted(server: Server) -> None:
    service = _service(server)
    processes = _bound(service, "insightsOutgoingFlow", "processes")

    created = processes()
    created.displayName = "Made by a generic client"
    service.save(created)
    new_id = created.id
    assert new_id
    answer = api_get(f"{server.base}/beta/{HUB_PATH}/processes/{new_id}")
    assert answer.status_code == 200
    assert answer.json()["displayName"] == "Made by a generic client"
    assert answer.json()["@odata.type"] == f"#{NS}.insightsOutgoingFlow"

    found = (
        service.query(processes).filter(processes.displayName == "Made by a generic client").all()
    )
    assert [p.id for p in found] == [new_id]

    created.displayName = "Renamed by a generic client"
    service.save(created)
    answer = api_get(f"{server.base}/beta/{HUB_PATH}/processes/{new_id}")
    assert answer.json()["displayName"] == "Renamed by a generic client"

    service.delete(created)
    assert api_get(f"{server.base}/beta/{HUB_PATH}/processes/{new_id}").status_code == 404


def test_runs_are_read_and_paged(server: Server) -> None:
    for i in range(5):
        body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": f"paged {i}"}
        assert api_post(f"{server.base}/beta/{HUB_PATH}/runs", json=body).status_code == 201
    # Two to a page: the client follows the nextLinks to the end.
    service = _service(server, Prefer="odata.maxpagesize=2")
    runs = _bound(service, "outgoingFlowRun", "runs")
    paged = service.query(runs).filter(runs.displayName.startswith("paged "))
    names = [run.displayName for run in paged.order_by(runs.displayName.asc())]
    assert names == [f"paged {i}" for i in range(5)]
    third = paged.filter(runs.displayName == "paged 3").one()
    assert service.query(runs).get(third.id).displayName == "paged 3"


def test_the_server_log_holds_no_error(server: Server) -> None:
    assert "Traceback" not in Path(server.log).read_text()
