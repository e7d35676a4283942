"""Resolving resource paths against the model (SPEC §1)."""

from __future__ import annotations

import pytest

from flowruns.edm.industrydata import (
    PROCESSES,
    RUN_GROUPS,
    RUNS,
    external,
    incoming_flow_run,
    industry_data_hub,
    outgoing_flow_run,
    process,
    run,
    run_group,
)
from flowruns.errors import BadRequest, InvalidRequest
from flowruns.odata.path import (
    CollectionRef,
    Count,
    EntityRef,
    FunctionCall,
    Hub,
    Metadata,
    Ref,
    ServiceDocument,
    addressed_type,
    resolve,
    resolve_reference,
    template,
)
from tests.conftest import NS

HUB = "external/industryData"
KEY = "6f1c2e8a-1111-4222-8333-944445555666"


def test_service_document_metadata_and_hub() -> None:
    assert resolve("") == ServiceDocument()
    assert resolve("/") == ServiceDocument()
    assert resolve("/$metadata") == Metadata()
    assert resolve("/$METADATA") == Metadata()
    assert resolve(f"/{HUB}") == Hub()
    assert resolve(f"/{HUB}/") == Hub()


@pytest.mark.parametrize(
    ("name", "binding"), [("runs", RUNS), ("processes", PROCESSES), ("runGroups", RUN_GROUPS)]
)
def test_entity_sets(name: str, binding: object) -> None:
    resolved = resolve(f"/{HUB}/{name}")
    assert isinstance(resolved, CollectionRef)
    assert resolved.binding is binding
    assert resolved.via is None
    assert resolved.context() == f"{HUB}/{name}"


@pytest.mark.parametrize(
    "segment",
    [
        f"runs/{KEY}",
        f"runs('{KEY}')",
        f"runs(id='{KEY}')",
        f"RUNS/{KEY}",
        f"Runs('{KEY}')",
        f"runs(ID='{KEY}')",
    ],
)
def test_key_forms(segment: str) -> None:
    resolved = resolve(f"/{HUB}/{segment}")
    assert isinstance(resolved, EntityRef)
    assert resolved.key == KEY
    assert resolved.binding is RUNS
    assert resolved.type is run


def test_quoted_key_unescapes_doubled_quotes_and_percent_encoding() -> None:
    resolved = resolve(f"/{HUB}/runs('it''s')")
    assert isinstance(resolved, EntityRef)
    assert resolved.key == "it's"
    encoded = resolve(f"/{HUB}/runs/%61bc")
    assert isinstance(encoded, EntityRef)
    assert encoded.key == "abc"


@pytest.mark.parametrize("segment", ["runs('a'b')", "runs(a'b)", "runs('a''')x"])
def test_malformed_keys_are_400(segment: str) -> None:
    with pytest.raises(InvalidRequest):
        resolve(f"/{HUB}/{segment}")


def test_type_cast_on_a_collection_and_an_entity() -> None:
    collection = resolve(f"/{HUB}/runs/{NS}.outgoingFlowRun")
    assert isinstance(collection, CollectionRef)
    assert collection.type is outgoing_flow_run
    assert collection.context() == f"{HUB}/runs/{NS}.outgoingFlowRun"
    entity = resolve(f"/{HUB}/runs/{KEY}/{NS}.INCOMINGFLOWRUN")
    assert isinstance(entity, EntityRef)
    assert entity.type is incoming_flow_run
    assert entity.entity_context() == f"{HUB}/runs/{NS}.incomingFlowRun/$entity"
    keyed = resolve(f"/{HUB}/runs/{NS}.outgoingFlowRun/{KEY}")
    assert isinstance(keyed, EntityRef)
    assert keyed.type is outgoing_flow_run


@pytest.mark.parametrize(
    "path",
    [
        f"runs/{NS}.process",
        f"runs/{NS}.insightsOutgoingFlow",
        f"processes/{NS}.runGroup",
        f"runs/{KEY}/{NS}.dataShareOutgoingFlow",
    ],
)
def test_cast_to_an_unrelated_type_is_400(path: str) -> None:
    with pytest.raises(InvalidRequest):
        resolve(f"/{HUB}/{path}")


def test_count_of_collections_only() -> None:
    for path in ("runs", f"runs/{NS}.runGroup", f"processes/{KEY}/runs", f"runGroups/{KEY}/runs"):
        assert isinstance(resolve(f"/{HUB}/{path}/$count"), Count)
    assert isinstance(resolve(f"/{HUB}/runs/$COUNT"), Count)
    for path in (f"runs/{KEY}/$count", "runs/$count/x"):
        with pytest.raises(BadRequest):
            resolve(f"/{HUB}/{path}")


def test_single_valued_navigation_and_its_ref() -> None:
    nav = resolve(f"/{HUB}/runs/{KEY}/process")
    assert isinstance(nav, EntityRef)
    assert nav.key is None
    assert nav.binding is PROCESSES
    assert nav.type is process
    assert nav.entity_context() == f"{HUB}/runs('{KEY}')/process/$entity"
    ref = resolve(f"/{HUB}/runs/{KEY}/process/$ref")
    assert isinstance(ref, Ref)
    assert ref.target == nav


def test_collection_navigations() -> None:
    runs_of_process = resolve(f"/{HUB}/processes/{KEY}/runs")
    assert isinstance(runs_of_process, CollectionRef)
    assert runs_of_process.binding is RUNS
    assert runs_of_process.via is not None
    assert runs_of_process.via.source.binding is PROCESSES
    assert runs_of_process.context() == f"{HUB}/processes('{KEY}')/runs"
    member = resolve(f"/{HUB}/runGroups/{KEY}/runs/abc/$ref")
    assert isinstance(member, Ref)
    assert isinstance(member.target, EntityRef)
    assert member.target.key == "abc"


@pytest.mark.parametrize(
    "segment",
    [
        "getErrorsAndWarningsFile",
        "getErrorsAndWarningsFile()",
        "GETERRORSANDWARNINGSFILE()",
        f"{NS}.getErrorsAndWarningsFile()",
    ],
)
def test_bound_function_forms(segment: str) -> None:
    call = resolve(f"/{HUB}/runGroups/{KEY}/{segment}")
    assert isinstance(call, FunctionCall)
    assert call.function.name == "getErrorsAndWarningsFile"
    assert call.entity.type is run_group


def test_function_takes_no_parameters_and_ends_the_path() -> None:
    with pytest.raises(InvalidRequest):
        resolve(f"/{HUB}/runGroups/{KEY}/getErrorsAndWarningsFile(x=1)")
    with pytest.raises(BadRequest):
        resolve(f"/{HUB}/runGroups/{KEY}/getErrorsAndWarningsFile()/more")


def test_function_is_not_bound_to_plain_runs() -> None:
    with pytest.raises(BadRequest):
        resolve(f"/{HUB}/runs/{KEY}/getErrorsAndWarningsFile")


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/nothing", "nothing"),
        ("/external/other", "other"),
        (f"/{HUB}/flows", "flows"),
        (f"/{HUB}/runs/{KEY}/owner", "owner"),
        (f"/{HUB}/runs/{KEY}/process/runs/x/y", "y"),
        (f"/{HUB}/processes/{KEY}/runs/$ref/x", "$ref"),
        (f"/{HUB}/runs/{NS}.outgoingFlowRun/{NS}.outgoingFlowRun", f"{NS}.outgoingFlowRun"),
        (f"/{HUB}/runs/microsoft.graph.nothing", "microsoft.graph.nothing"),
    ],
)
def test_unknown_segments_are_named(path: str, segment: str) -> None:
    with pytest.raises(BadRequest) as raised:
        resolve(path)
    assert f"'{segment}'" in raised.value.message


@pytest.mark.parametrize(
    "url",
    [
        f"{HUB}/processes/{KEY}",
        f"{HUB}/processes('{KEY}')",
        f"/beta/{HUB}/processes/{KEY}",
        f"http://host:8000/beta/{HUB}/processes/{KEY}",
        f"https://host/beta/{HUB.upper()}/PROCESSES('{KEY}')",
    ],
)
def test_reference_urls_absolute_and_relative(url: str) -> None:
    ref = resolve_reference(url, "/beta")
    assert ref.binding is PROCESSES
    assert ref.key == KEY


@pytest.mark.parametrize(
    "url",
    [
        f"http://host/v1.0/{HUB}/processes/{KEY}",
        f"/other/{HUB}/processes/{KEY}",
        f"{HUB}/processes",
        f"{HUB}/nothing/{KEY}",
        f"{HUB}/runs/{KEY}/process",
        "",
    ],
)
def test_reference_urls_that_name_no_entity_are_400(url: str) -> None:
    with pytest.raises(InvalidRequest):
        resolve_reference(url, "/beta")


# -- the route a path belongs to --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("", ""),
        ("$metadata", "/$metadata"),
        ("EXTERNAL", "/external"),
        (HUB, f"/{HUB}"),
        (f"{HUB}/RUNS('{KEY}')", f"/{HUB}/runs/{{id}}"),
        # A cast narrows the route it is written in.
        (f"{HUB}/runs/{NS}.runGroup/{KEY}", f"/{HUB}/runs/{{id}}"),
        (f"{HUB}/runs/{NS}.outgoingFlowRun/$count", f"/{HUB}/runs/$count"),
        (f"{HUB}/runs/{KEY}/{NS}.outgoingFlowRun/process", f"/{HUB}/runs/{{id}}/process"),
        # A navigation or function starts from the address of the type that declares it.
        (f"{HUB}/runs/{KEY}/process/runs", f"/{HUB}/processes/{{id}}/runs"),
        (f"{HUB}/processes/{KEY}/runs/{KEY}/process/$ref", f"/{HUB}/runs/{{id}}/process/$ref"),
        (
            f"{HUB}/runs/{KEY}/{NS}.runGroup/runs/{KEY}/$ref",
            f"/{HUB}/runGroups/{{id}}/runs/{{id}}/$ref",
        ),
        (
            f"{HUB}/runs/{KEY}/{NS}.runGroup/getErrorsAndWarningsFile()",
            f"/{HUB}/runGroups/{{id}}/getErrorsAndWarningsFile",
        ),
        (f"{HUB}/runGroups/{KEY}/runs/$count", f"/{HUB}/runGroups/{{id}}/runs/$count"),
    ],
)
def test_the_route_template_of_a_path(path: str, route: str) -> None:
    assert template(resolve(path)) == route


def test_keys_are_named_by_the_type_whose_key_they_are() -> None:
    def named(path: str) -> str:
        return template(resolve(path), lambda entity_type: f"{{{entity_type.name}-id}}")

    assert named(f"{HUB}/runGroups/{KEY}/runs/{KEY}/$ref") == (
        f"/{HUB}/runGroups/{{runGroup-id}}/runs/{{run-id}}/$ref"
    )
    assert named(f"{HUB}/runs/{KEY}/process/runs/{KEY}") == (
        f"/{HUB}/processes/{{process-id}}/runs/{{run-id}}"
    )


@pytest.mark.parametrize(
    ("path", "entity_type"),
    [
        (f"{HUB}/runs/$count", run),
        (f"{HUB}/runGroups/{KEY}/runs/$ref", run),
        (f"{HUB}/runs/{KEY}/process", process),
        (f"{HUB}/runs/{NS}.runGroup", run_group),
        (HUB, industry_data_hub),
        ("external", external),
        ("$metadata", None),
        (f"{HUB}/runGroups/{KEY}/getErrorsAndWarningsFile", None),
    ],
)
def test_the_type_query_options_bind_to(path: str, entity_type: object) -> None:
    assert addressed_type(resolve(path)) is entity_type
