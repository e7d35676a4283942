"""Graph paths flowruns does not implement: one 501 notSupported naming them (docs/api.md,
"Graph paths flowruns does not implement"), never a 400 or 404 that would say the path is wrong."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from flowruns.odata.path import graph_only_paths
from tests.api.steps import assert_error, create_group, create_run
from tests.conftest import HUB, NS, ROOT

API_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECTION = "### Graph paths flowruns does not implement"
RUN_ID = "9f0c0a3e-0b5e-4a7e-9d55-2f3a1c2b4d6e"


def _documented() -> list[str]:
    text = API_GUIDE.read_text()
    section = text.split(SECTION, 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def test_docs_api_lists_exactly_the_paths_the_model_declares() -> None:
    declared = [path.removeprefix("external/industryData/") for path, _ in graph_only_paths()]
    assert sorted(_documented()) == sorted(declared)
    assert {"runs/{id}/activities", "runs/{id}/getStatistics", "runs/start"} <= set(declared)


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [
        ("GET", f"runs/{RUN_ID}/activities", "runs/{id}/activities"),
        ("POST", f"runs/{RUN_ID}/activities", "runs/{id}/activities"),
        ("GET", f"runs('{RUN_ID}')/activities/{RUN_ID}", "runs/{id}/activities"),
        ("GET", f"RUNS/{RUN_ID}/Activities/$count", "runs/{id}/activities"),
        ("GET", f"runs/{RUN_ID}/getStatistics", "runs/{id}/getStatistics"),
        ("GET", f"runs/{RUN_ID}/getStatistics()", "runs/{id}/getStatistics"),
        ("GET", f"runs/{RUN_ID}/{NS}.getStatistics()", "runs/{id}/getStatistics"),
        ("POST", "runs/start", "runs/start"),
        ("POST", f"runs/{NS}.start", "runs/start"),
        ("GET", "runs/start()", "runs/start"),
        # A collection of runs reached through a navigation binds the same action.
        ("GET", f"runGroups/{RUN_ID}/runs/start", "runs/start"),
        ("GET", "inboundFlows", "inboundFlows"),
        ("POST", "dataConnectors", "dataConnectors"),
        ("GET", f"outboundProvisioningFlowSets/{RUN_ID}/provisioningFlows", "outbound"),
        ("GET", "years", "years"),
    ],
)
def test_a_graph_path_flowruns_does_not_implement_is_501_naming_it(
    client: TestClient, method: str, path: str, named: str
) -> None:
    response = client.request(method, f"{HUB}/{path}", json={} if method == "POST" else None)
    error = assert_error(response, 501, "notSupported")
    assert named in error["message"]
    assert "does not implement" in error["message"]


def test_the_same_holds_below_a_run_that_exists_and_a_run_group(client: TestClient) -> None:
    run = create_run(client, "exists")
    group = create_group(client, "night")
    for path in (f"runs/{run['id']}/activities", f"runGroups/{group['id']}/getStatistics"):
        assert_error(client.get(f"{HUB}/{path}"), 501, "notSupported")


def test_a_graph_path_without_a_token_is_401_first(client: TestClient) -> None:
    response = client.get(f"{HUB}/runs/{RUN_ID}/activities", headers={"Authorization": ""})
    assert_error(response, 401, "InvalidAuthenticationToken")


def test_a_path_graph_does_not_have_either_stays_a_400(client: TestClient) -> None:
    assert_error(client.get(f"{HUB}/runs/{RUN_ID}/nonsense"), 400, "BadRequest")
    assert_error(client.get(f"{HUB}/nonsense"), 400, "BadRequest")


def test_unsupported_query_syntax_stays_a_400_with_its_position(client: TestClient) -> None:
    expression = "status eq 'failed' and geo.distance(x, y) lt 5"
    response = client.get(f"{HUB}/runs?$filter={quote(expression)}")
    error = assert_error(response, 400, "BadRequest", "$filter")
    assert "(at position 35)" in error["message"]
    assert client.get(f"{ROOT}/external/industryData/runs?$levels=2").status_code == 400
