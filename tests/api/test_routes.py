"""The route table drives dispatch, permissions and ``/openapi.json``: they cannot disagree.

Every operation the document lists is answered (never a 405), every method it does not list is
a 405 naming exactly the listed ones, every route that holds data declares the permissions it
needs, and a template can only be declared where resolution leads.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from flowruns.api.endpoint import ODataEndpoint
from flowruns.api.routes import ROUTES
from flowruns.api.routing import Operation, Route, RouteTable
from flowruns.edm.capabilities import MAX_SKIP, MAX_TOP, QueryKind
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.openapi import Success
from flowruns.odata import path as paths
from tests.api.steps import assert_error
from tests.conftest import HUB, ROOT

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _documented(client: TestClient) -> dict[str, dict[str, Any]]:
    paths_: dict[str, dict[str, Any]] = client.get("/openapi.json").json()["paths"]
    return paths_


def _url(path: str, operation: dict[str, Any]) -> str:
    """``path`` with every key parameter an id that does not exist."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            path = path.replace(f"{{{parameter['name']}}}", str(uuid.uuid4()))
    return ROOT + ("" if path == "/" else path)


def test_every_route_and_method_is_documented_and_nothing_else(client: TestClient) -> None:
    documented = {
        (path, method.upper())
        for path, operations in _documented(client).items()
        for method in operations
    }
    declared = {(d.path or "/", d.method) for route in ROUTES.routes for d in route.described()}
    assert documented == declared
    # Each documented path is a route of the table (a cast narrows the route it is written in).
    for path, method in documented:
        resource = paths.resolve(path.replace("{", "").replace("}", ""))
        route = ROUTES.match(resource)
        assert route is not None, path
        assert method in route.operations, (path, method)


def test_every_documented_operation_is_dispatched(client: TestClient) -> None:
    """Against ids that do not exist and without bodies: refused for what is missing, never
    because the method or the path is unknown."""
    for path, operations in _documented(client).items():
        for method, operation in operations.items():
            response = client.request(method.upper(), _url(path, operation))
            assert response.status_code != 405, (method, path, response.text)
            if response.status_code == 400:
                assert "Resource not found" not in response.text, (method, path)


def test_every_method_a_route_does_not_declare_is_405_naming_those_it_does(
    client: TestClient,
) -> None:
    for path, operations in _documented(client).items():
        route = ROUTES.match(paths.resolve(path.replace("{", "").replace("}", "")))
        assert route is not None
        allowed = sorted(route.operations)
        url = _url(path, next(iter(operations.values())))
        for method in set(_METHODS) - set(allowed):
            response = client.request(method, url)
            assert_error(response, 405, "notAllowed")
            assert response.headers["Allow"] == ", ".join(allowed), (method, path)


def test_every_route_holding_data_declares_what_it_needs() -> None:
    for route in ROUTES.routes:
        if isinstance(route.resource, paths.Subscriptions):
            continue  # they need to read their resource, checked from it: test_subscriptions.py
        holds_data = not isinstance(
            route.resource, paths.ServiceDocument | paths.Metadata | paths.Batch | paths.Hub
        )
        for method, operation in route.operations.items():
            assert bool(operation.needs) == holds_data, (method, route.template)
            if method != "GET" and holds_data:
                assert any(need.write for need in operation.needs), (method, route.template)


def test_a_path_the_model_resolves_but_no_route_serves_is_405_without_methods(
    client: TestClient,
) -> None:
    for path in (f"{HUB}/runs/$ref", f"{HUB}/processes/{uuid.uuid4()}/runs/$ref"):
        response = client.get(path)
        assert_error(response, 405, "notAllowed")
        assert response.headers["Allow"] == ""


def test_an_entity_read_refuses_the_options_of_collections(client: TestClient) -> None:
    for option in ("$top=1", "$skip=1", "$filter=true", "$orderby=id", "$count=true"):
        response = client.get(f"{HUB}/runs/{uuid.uuid4()}?{option}")
        name = option.partition("=")[0]
        assert_error(response, 400, "invalidRequest", name)


def test_the_documented_limits_are_the_enforced_ones(client: TestClient) -> None:
    listing = _documented(client)[f"{HUB.removeprefix(ROOT)}/runs"]["get"]
    schemas = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert schemas["$top"]["maximum"] == MAX_TOP
    assert schemas["$skip"]["maximum"] == MAX_SKIP
    assert client.get(f"{HUB}/runs?$top={MAX_TOP}").status_code == 200
    assert_error(client.get(f"{HUB}/runs?$top={MAX_TOP + 1}"), 400, "invalidRequest", "$top")
    assert client.get(f"{HUB}/runs?$skip={MAX_SKIP}").status_code == 200
    assert_error(client.get(f"{HUB}/runs?$skip={MAX_SKIP + 1}"), 400, "invalidRequest", "$skip")


# -- the table refuses what resolution would not lead to --------------------------------------


def _get(summary: str) -> Operation[ODataEndpoint]:
    return Operation(ODataEndpoint.get_entity, summary, Success.ENTITY)


@pytest.mark.parametrize(
    ("template", "served_as"),
    [
        (f"/{HUB_PATH}/runs('{{id}}')", f"/{HUB_PATH}/runs/{{id}}"),
        (f"/{HUB_PATH}/Runs/{{id}}", f"/{HUB_PATH}/runs/{{id}}"),
        (f"/{HUB_PATH}/runs/{{id}}/process/runs", f"/{HUB_PATH}/processes/{{id}}/runs"),
    ],
)
def test_a_route_must_be_declared_where_requests_are_served(template: str, served_as: str) -> None:
    with pytest.raises(ValueError, match=served_as.replace("$", r"\$")):
        Route(template, get=_get("x"))


def test_a_template_that_names_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="segment 'owner'"):
        Route(f"/{HUB_PATH}/runs/{{id}}/owner", get=_get("x"))


def test_a_route_is_declared_once() -> None:
    template = f"/{HUB_PATH}/runs/{{id}}"
    with pytest.raises(ValueError, match="twice"):
        RouteTable([Route(template, get=_get("a")), Route(template, patch=_get("b"))])


def test_options_are_accepted_only_where_a_type_binds_them() -> None:
    options = Operation(ODataEndpoint.get_metadata, "x", Success.CSDL, query=QueryKind.COLLECTION)
    with pytest.raises(ValueError, match="no type"):
        Route("/$metadata", get=options)
