"""OpenLineage events posted over HTTP become runs, on both engines."""

from __future__ import annotations

import copy
import gzip
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from flowruns.api.app import open_database
from flowruns.auth.scopes import READ_WRITE_PERMISSIONS
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.service import stale
from flowruns.settings import Settings
from tests.conftest import HUB, bearer
from tests.openlineage.events import (
    airflow_dag,
    dbt_model,
    error_facet,
    example,
    output,
    parent_facet,
    run_event,
)

LINEAGE = "/api/v1/lineage"
T0, T1, T2 = "2026-11-30T08:00:00Z", "2026-11-30T08:05:00Z", "2026-11-30T08:09:30.1234567Z"


def post(client: TestClient, event: dict[str, Any], path: str = LINEAGE) -> Any:
    response = client.post(
        path, content=orjson.dumps(event), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    return response


def get_run(client: TestClient, run_id: str) -> dict[str, Any]:
    response = client.get(f"{HUB}/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_start_running_complete_is_a_completed_run_of_the_jobs_process(
    client: TestClient,
) -> None:
    run_id = str(uuid.uuid4())
    first = post(client, run_event("START", run_id, T0))
    assert first.headers["location"].endswith(f"/beta/external/industryData/runs/{run_id}")
    assert get_run(client, run_id)["status"] == "running"
    post(client, run_event("RUNNING", run_id, T1), "/beta/api/v1/lineage")
    post(client, run_event("COMPLETE", run_id, T2, outputs=[output("public.orders", 2000, 4096)]))
    run = get_run(client, run_id)
    assert run["@odata.type"] == "#microsoft.graph.industryData.outgoingFlowRun"
    assert (run["id"], run["displayName"], run["status"]) == (run_id, "dbt", "completed")
    assert (run["startDateTime"], run["endDateTime"]) == (T0, T2)
    assert run["statistics"] == {"recordsProcessed": 2000, "bytesWritten": 4096, "filesWritten": 5}
    process = client.get(f"{HUB}/runs/{run_id}/process").json()
    assert process["@odata.type"] == "#flowruns.openLineageJob"
    assert (process["jobNamespace"], process["jobName"]) == ("food_delivery", "dbt")
    # A Graph client lists it like any process, and finds the run under it.
    listed = client.get(f"{HUB}/processes").json()["value"]
    assert [p["id"] for p in listed] == [process["id"]]
    runs = client.get(f"{HUB}/processes/{process['id']}/runs").json()["value"]
    assert [r["id"] for r in runs] == [run_id]


def test_a_second_run_of_the_job_shares_its_process(client: TestClient) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    post(client, run_event("START", first, T0))
    post(client, run_event("START", second, T1))
    assert client.get(f"{HUB}/processes/$count").text == "1"


def test_fail_is_a_failed_run_with_the_error_message(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    post(client, run_event("START", run_id, T0))
    failure = run_event("FAIL", run_id, T1, run_facets={"errorMessage": error_facet("boom")})
    post(client, failure)
    run = get_run(client, run_id)
    assert run["status"] == "failed"
    assert run["endDateTime"] == T1
    assert run["blockingError"]["code"] == "failed"
    assert run["blockingError"]["message"] == "boom"


def test_abort_is_a_failed_run_with_code_aborted(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    post(client, run_event("ABORT", run_id, T1))
    run = get_run(client, run_id)
    assert (run["status"], run["blockingError"]["code"]) == ("failed", "aborted")


def test_order_does_not_matter_and_a_repeated_event_changes_nothing(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    complete = run_event("COMPLETE", run_id, T2)
    post(client, complete)
    assert get_run(client, run_id)["startDateTime"] == T2  # no START yet
    post(client, run_event("START", run_id, T0))
    settled = get_run(client, run_id)
    assert (settled["status"], settled["startDateTime"], settled["endDateTime"]) == (
        "completed",
        T0,
        T2,
    )
    post(client, complete)
    post(client, run_event("RUNNING", run_id, "2026-11-30T09:00:00Z"))  # late: changes nothing
    assert get_run(client, run_id) == settled


def test_fail_outranks_a_later_complete(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    post(client, run_event("FAIL", run_id, T1))
    post(client, run_event("COMPLETE", run_id, T2))
    assert get_run(client, run_id)["status"] == "failed"


def test_an_airflow_dag_run_is_a_group_of_its_task_runs(client: TestClient) -> None:
    dag_run = str(uuid.uuid4())
    tasks = {"extract": str(uuid.uuid4()), "load": str(uuid.uuid4())}
    for event in airflow_dag(dag_run, tasks, T0, T2):
        post(client, event)
    group = client.get(f"{HUB}/runGroups/{dag_run}?$expand=runs").json()
    assert (group["displayName"], group["status"]) == ("etl_daily", "completed")
    assert sorted(r["id"] for r in group["runs"]) == sorted(tasks.values())
    assert {r["status"] for r in group["runs"]} == {"completed"}


def test_a_child_before_its_parent_makes_a_placeholder_group_the_parent_fills(
    client: TestClient,
) -> None:
    dag_run = str(uuid.uuid4())
    tasks = {"extract": str(uuid.uuid4())}
    events = airflow_dag(dag_run, tasks, T0, T2)
    for event in reversed(events):  # the DAG run's COMPLETE first, its START last
        if event["run"]["runId"] != dag_run:
            post(client, event)
    placeholder = client.get(f"{HUB}/runGroups/{dag_run}").json()
    assert (placeholder["status"], placeholder["displayName"]) == ("running", "etl_daily")
    assert client.get(f"{HUB}/runGroups/{dag_run}/runs/$count").text == "1"
    for event in events:
        if event["run"]["runId"] == dag_run:
            post(client, event)
    group = client.get(f"{HUB}/runGroups/{dag_run}").json()
    assert (group["status"], group["startDateTime"], group["endDateTime"]) == ("completed", T0, T2)


def test_a_run_named_as_parent_after_its_own_events_becomes_a_group(client: TestClient) -> None:
    parent, child = str(uuid.uuid4()), str(uuid.uuid4())
    post(client, run_event("START", parent, T0, job=("airflow", "dag")))
    assert client.get(f"{HUB}/runGroups/$count").text == "0"
    facets = {"parent": parent_facet(parent, ("airflow", "dag"))}
    post(client, run_event("START", child, T1, job=("airflow", "dag.t"), run_facets=facets))
    group = client.get(f"{HUB}/runGroups/{parent}?$expand=runs").json()
    assert [r["id"] for r in group["runs"]] == [child]


def test_dbt_failed_tests_complete_with_errors(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    for event in dbt_model(run_id, T0, T2, failed_tests=2):
        post(client, event)
    run = get_run(client, run_id)
    assert run["status"] == "completedWithErrors"
    statistics = run["statistics"]
    assert (statistics["errorCount"], statistics["warningCount"]) == (2, 0)
    assert statistics["errors"][0] == {
        "code": "not_null",
        "message": "not_null",
        "target": "postgres://db:5432/analytics.stg_orders/order_id",
    }
    assert statistics["recordsProcessed"] == 250


def test_a_failed_warning_test_completes_with_warnings(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    events = dbt_model(run_id, T0, T2, failed_tests=1)
    events[1]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][0]["severity"] = (
        "warn"
    )
    for event in events:
        post(client, event)
    assert get_run(client, run_id)["status"] == "completedWithWarnings"


def test_a_large_column_lineage_facet_within_the_body_limit(
    client: TestClient, settings: Settings
) -> None:
    run_id = str(uuid.uuid4())
    start, complete = dbt_model(run_id, T0, T2, failed_tests=0)
    lineage = complete["outputs"][0]["facets"]["columnLineage"]
    template = next(iter(lineage["fields"].values()))
    for n in range(1200):
        lineage["fields"][f"COLUMN_{n}"] = copy.deepcopy(template)
    body = orjson.dumps(complete)
    assert 256 * 1024 < len(body) < settings.max_body_bytes
    post(client, start)
    post(client, complete)
    assert get_run(client, run_id)["status"] == "completed"


def test_gzip_coded_events(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    response = client.post(
        LINEAGE,
        content=gzip.compress(orjson.dumps(run_event("START", run_id, T0))),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 201, response.text
    assert get_run(client, run_id)["status"] == "running"


def _malformed() -> list[tuple[str, dict[str, Any] | list[Any], str | None]]:
    """Events the specification refuses, and the member a 400 names."""
    run_id = str(uuid.uuid4())
    good = run_event("START", run_id, T0)
    cases: list[tuple[str, dict[str, Any] | list[Any], str | None]] = []

    def case(name: str, target: str | None, change: Any) -> None:
        event = copy.deepcopy(good)
        change(event)
        cases.append((name, event, target))

    case("no runId", "run/runId", lambda e: e["run"].pop("runId"))
    case("runId not a uuid", "run/runId", lambda e: e["run"].update(runId="run-1"))
    case("no eventTime", "eventTime", lambda e: e.pop("eventTime"))
    case(
        "eventTime without offset", "eventTime", lambda e: e.update(eventTime="2026-11-30T08:00:00")
    )
    case("unknown eventType", "eventType", lambda e: e.update(eventType="DONE"))
    case("no producer", "producer", lambda e: e.pop("producer"))
    case("no job name", "job/name", lambda e: e["job"].pop("name"))
    case("job not an object", "job", lambda e: e.update(job="dbt"))
    case(
        "facet without _producer",
        "run/facets/custom/_producer",
        lambda e: e["run"]["facets"].update(custom={"_schemaURL": "https://example.com/s"}),
    )
    case(
        "parent without runId",
        "run/facets/parent/run/runId",
        lambda e: e["run"]["facets"].update(parent={**parent_facet(run_id, ("a", "b")), "run": {}}),
    )
    case(
        "errorMessage without message",
        "run/facets/errorMessage/message",
        lambda e: e["run"]["facets"].update(
            errorMessage={k: v for k, v in error_facet("x").items() if k != "message"}
        ),
    )
    case(
        "rowCount not an integer",
        "outputs/0/outputFacets/outputStatistics/rowCount",
        lambda e: (
            e.update(outputs=[output("t", 1, 1)])
            or e["outputs"][0]["outputFacets"]["outputStatistics"].update(rowCount="many")
        ),
    )
    case(
        "dataset without namespace",
        "inputs/0/namespace",
        lambda e: e.update(inputs=[{"name": "t"}]),
    )
    cases.append(("neither run, job nor dataset", {"eventTime": T0}, "run"))
    cases.append(("not an object", [good], None))
    return cases


@pytest.mark.parametrize(
    ("name", "event", "target"), _malformed(), ids=[c[0] for c in _malformed()]
)
def test_a_malformed_event_is_a_400_naming_the_member_and_stores_nothing(
    client: TestClient, name: str, event: dict[str, Any] | list[Any], target: str | None
) -> None:
    response = client.post(
        LINEAGE, content=orjson.dumps(event), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, (name, response.text)
    error = response.json()["error"]
    assert error["code"] == "invalidRequest"
    assert error.get("target") == target, error
    assert client.get(f"{HUB}/runs/$count").text == "0"
    assert client.get(f"{HUB}/processes/$count").text == "0"


def test_not_json_is_a_400(client: TestClient) -> None:
    response = client.post(LINEAGE, content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_job_and_dataset_events_are_accepted_without_a_run(client: TestClient) -> None:
    job_event = {
        k: v
        for k, v in run_event("START", str(uuid.uuid4()), T0).items()
        if k not in ("run", "eventType")
    }
    assert client.post(LINEAGE, json=job_event).status_code == 201
    dataset_event = example("example_full_event")
    for member in ("run", "job", "inputs", "outputs", "eventType"):
        del dataset_event[member]
    dataset_event["schemaURL"] = (
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
    )
    response = client.post(LINEAGE, json=dataset_event)
    assert response.status_code == 201, response.text
    assert "location" not in response.headers
    assert client.get(f"{HUB}/runs/$count").text == "0"


def test_the_same_run_id_in_another_tenant_is_another_run(
    client: TestClient, settings: Settings
) -> None:
    other = bearer(settings, tenant=str(uuid.uuid4()))
    run_id = str(uuid.uuid4())
    post(client, run_event("START", run_id, T0))
    response = client.post(LINEAGE, json=run_event("FAIL", run_id, T1), headers=other)
    assert response.status_code == 201
    assert get_run(client, run_id)["status"] == "running"
    theirs = client.get(f"{HUB}/runs/{run_id}", headers=other).json()
    assert (theirs["status"], theirs["startDateTime"]) == ("failed", T1)
    assert client.get(f"{HUB}/processes/$count", headers=other).text == "1"


@pytest.mark.parametrize(
    "scopes",
    [
        ("IndustryData-Run.ReadWrite.All",),
        ("IndustryData-OutboundFlow.ReadWrite.All",),
        ("IndustryData-Run.Read.All", "IndustryData-OutboundFlow.Read.All"),
    ],
)
def test_ingestion_needs_both_read_write_permissions(
    client: TestClient, settings: Settings, scopes: tuple[str, ...]
) -> None:
    event = run_event("START", str(uuid.uuid4()), T0)
    response = client.post(LINEAGE, json=event, headers=bearer(settings, scopes=scopes))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "accessDenied"
    assert set(READ_WRITE_PERMISSIONS) >= {"IndustryData-Run.ReadWrite.All"}


def test_ingestion_needs_a_token_at_both_addresses(client: TestClient) -> None:
    event = run_event("START", str(uuid.uuid4()), T0)
    for path in (LINEAGE, "/beta/api/v1/lineage"):
        response = client.post(path, json=event, headers={"Authorization": ""})
        assert response.status_code == 401, path
    assert client.get(LINEAGE).status_code == 405


def test_runs_from_events_are_in_the_delta_feed(client: TestClient) -> None:
    first = client.get(f"{HUB}/runs/delta()").json()
    assert first["value"] == []
    run_id = str(uuid.uuid4())
    post(client, run_event("START", run_id, T0))
    changed = client.get(first["@odata.deltaLink"]).json()
    assert [(r["id"], r["status"]) for r in changed["value"]] == [(run_id, "running")]
    post(client, run_event("COMPLETE", run_id, T2))
    again = client.get(changed["@odata.deltaLink"]).json()
    assert [(r["id"], r["status"]) for r in again["value"]] == [(run_id, "completed")]
    processes = client.get(f"{HUB}/processes/delta()").json()["value"]
    assert [p["jobName"] for p in processes] == ["dbt"]


def test_a_terminal_event_replaces_a_run_timed_out_failure(
    client: TestClient, settings: Settings
) -> None:
    run_id = str(uuid.uuid4())
    post(client, run_event("START", run_id, T0))
    db = open_database(settings)
    try:
        later = now_ticks() + 3600 * TICKS_PER_SECOND
        assert stale.fail_stale_runs(db, 60, now=later) == 1
    finally:
        db.dispose()
    timed_out = get_run(client, run_id)
    assert timed_out["blockingError"]["code"] == "runTimedOut"
    post(client, run_event("RUNNING", run_id, T1))  # not terminal: the failure stays
    assert get_run(client, run_id)["blockingError"]["code"] == "runTimedOut"
    post(client, run_event("COMPLETE", run_id, T2))
    run = get_run(client, run_id)
    assert (run["status"], run["endDateTime"], run["blockingError"]) == ("completed", T2, None)
    assert run["@odata.etag"] != timed_out["@odata.etag"]


def test_events_of_a_run_written_through_the_api_change_that_run(client: TestClient) -> None:
    """A run the API created keeps its id, type and process when events name it, whether or
    not the events' job has a process yet."""
    made = client.post(
        f"{HUB}/processes",
        json={
            "@odata.type": "#microsoft.graph.industryData.insightsOutgoingFlow",
            "displayName": "nightly export",
        },
    )
    assert made.status_code == 201, made.text
    process_id = made.json()["id"]
    for job in (("food_delivery", "dbt"), ("food_delivery", "dbt")):  # no process, then one
        created = client.post(f"{HUB}/processes/{process_id}/runs", json={"displayName": "r"})
        assert created.status_code == 201, created.text
        run_id = created.json()["id"]
        post(client, run_event("START", run_id, T0, job=job))
        post(client, run_event("COMPLETE", run_id, T2, job=job))
        run = get_run(client, run_id)
        assert (run["status"], run["startDateTime"], run["endDateTime"]) == ("completed", T0, T2)
        assert client.get(f"{HUB}/runs/{run_id}/process").json()["id"] == process_id
        other = str(uuid.uuid4())  # a run of the job's own, which makes its process
        post(client, run_event("START", other, T0, job=job))
    assert client.get(f"{HUB}/processes/$count").text == "2"


def test_a_run_finished_through_the_api_stays_finished(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    post(client, run_event("START", run_id, T0))
    patched = client.patch(f"{HUB}/runs/{run_id}", json={"status": "completed"})
    assert patched.status_code == 200
    post(client, run_event("FAIL", run_id, T2))
    assert get_run(client, run_id)["status"] == "completed"
    # And an API write to a run the events finished keeps finished-is-final.
    other = str(uuid.uuid4())
    post(client, run_event("COMPLETE", other, T2))
    response = client.patch(f"{HUB}/runs/{other}", json={"status": "failed"})
    assert response.status_code == 409


def test_facets_are_read_with_the_run_when_asked_for(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    start, complete = dbt_model(run_id, T0, T2, failed_tests=0)
    post(client, start)
    plain = get_run(client, run_id)
    assert not [member for member in plain if member.startswith("@flowruns")]
    post(client, complete)
    assert get_run(client, run_id)["@odata.etag"] != plain["@odata.etag"]
    for pattern in ("flowruns.openLineage", "flowruns.*", "*"):
        response = client.get(
            f"{HUB}/runs/{run_id}", headers={"Prefer": f'odata.include-annotations="{pattern}"'}
        )
        assert response.headers["preference-applied"] == f'odata.include-annotations="{pattern}"'
        facets = response.json()["@flowruns.openLineage"]
        assert facets["job"] == complete["job"]["facets"]
        [produced] = facets["outputs"]
        assert (
            produced["facets"]["columnLineage"] == complete["outputs"][0]["facets"]["columnLineage"]
        )
        assert produced["outputFacets"]["outputStatistics"]["rowCount"] == 250
        assert [d["name"] for d in facets["inputs"]] == ["analytics.stg_orders"]
    excluded = client.get(
        f"{HUB}/runs/{run_id}",
        headers={"Prefer": 'odata.include-annotations="*,-flowruns.openLineage"'},
    )
    assert "@flowruns.openLineage" not in excluded.json()


def test_the_annotation_and_the_job_type_are_declared_in_metadata(client: TestClient) -> None:
    metadata = client.get("/beta/$metadata").text
    assert '<Schema Namespace="flowruns"' in metadata
    assert '<Term Name="openLineage" Type="flowruns.openLineageFacets" AppliesTo="EntityType">' in (
        metadata
    )
    assert (
        '<EntityType Name="openLineageJob" BaseType="microsoft.graph.industryData.process">'
        in metadata
    )


def test_events_sent_at_once_converge(client: TestClient) -> None:
    """Events of one run and of its parent's other children, sent from eight threads at once:
    each run's events are applied one at a time, so none is lost to a concurrent replay."""
    dag_run = str(uuid.uuid4())
    tasks = {f"task_{n}": str(uuid.uuid4()) for n in range(6)}
    events = airflow_dag(dag_run, tasks, T0, T2)
    for task, run_id in tasks.items():
        events.append(run_event("RUNNING", run_id, T1, job=("airflow", f"etl_daily.{task}")))
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda e: client.post(LINEAGE, json=e).status_code, events))
    # A collision with a concurrent transaction is a 503 to send again, as for any write.
    retried = [e for e, status in zip(events, answers, strict=True) if status == 503]
    assert set(answers) <= {201, 503}
    for event in retried:
        post(client, event)
    group = client.get(f"{HUB}/runGroups/{dag_run}?$expand=runs").json()
    assert (group["status"], group["startDateTime"], group["endDateTime"]) == ("completed", T0, T2)
    assert sorted(r["id"] for r in group["runs"]) == sorted(tasks.values())
    assert {(r["status"], r["endDateTime"]) for r in group["runs"]} == {("completed", T2)}
    assert client.get(f"{HUB}/processes/$count").text == str(1 + len(tasks))
