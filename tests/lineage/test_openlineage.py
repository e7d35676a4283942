"""Datasets and accesses recorded from OpenLineage events, on both engines: a run event's
inputs and outputs with their statistics and per-run facets, dataset facets merged by name
whatever order the events come in, and datasets from job and dataset events."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import orjson
from starlette.testclient import TestClient

from flowruns.settings import Settings
from tests.api.steps import get_json
from tests.conftest import HUB, bearer
from tests.openlineage.events import example, output, run_event

LINEAGE = "/api/v1/lineage"
T0, T1, T2 = "2026-11-30T08:00:00Z", "2026-11-30T08:05:00Z", "2026-11-30T08:10:00Z"
SOURCE = "postgres://db:5432"


def post(client: TestClient, event: dict[str, Any]) -> None:
    response = client.post(
        LINEAGE, content=orjson.dumps(event), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/client/python"


def _facet(name: str, **members: Any) -> dict[str, Any]:
    url = f"https://openlineage.io/spec/facets/1-0-0/{name}.json#/$defs/{name}"
    return {"_producer": PRODUCER, "_schemaURL": url, **members}


def schema(*fields: str) -> dict[str, Any]:
    return {"schema": _facet("SchemaDatasetFacet", fields=[{"name": f} for f in fields])}


def read(name: str, rows: int, facets: dict[str, Any] | None = None) -> dict[str, Any]:
    statistics = _facet("InputStatisticsInputDatasetFacet", rowCount=rows, size=rows * 10)
    return {
        "namespace": SOURCE,
        "name": name,
        "facets": facets or {},
        "inputFacets": {"inputStatistics": statistics},
    }


def lineage(client: TestClient) -> tuple[list[Any], list[Any]]:
    datasets = get_json(client, f"{HUB}/datasets?$orderby=name&$expand=writes,reads")["value"]
    shape = [
        (
            d["name"],
            d["facets"],
            d["lastWrittenDateTime"],
            sorted((w["runId"], w["rowCount"], w["byteCount"]) for w in d["writes"]),
            sorted((r["runId"], r["rowCount"]) for r in d["reads"]),
        )
        for d in datasets
    ]
    runs = get_json(client, f"{HUB}/runs?$orderby=id&$expand=inputs,outputs")["value"]
    return shape, [(r["id"], r["status"], len(r["inputs"]), len(r["outputs"])) for r in runs]


def test_a_run_events_inputs_and_outputs_are_its_accesses(client: TestClient) -> None:
    run = str(uuid.uuid4())
    post(client, run_event("START", run, T0, inputs=[read("raw.orders", 10)]))
    written = output("warehouse.orders", 120, 4096)
    written["facets"] = schema("id", "total")
    post(client, run_event("COMPLETE", run, T1, outputs=[written]))
    (out,) = get_json(client, f"{HUB}/runs/{run}/outputs")["value"]
    assert (out["namespace"], out["name"]) == (SOURCE, "warehouse.orders")
    assert (out["rowCount"], out["byteCount"], out["fileCount"]) == (120, 4096, 5)
    assert "outputStatistics" in out["facets"]
    assert out["runStatus"] == "completed"
    (inp,) = get_json(client, f"{HUB}/runs/{run}/inputs")["value"]
    assert (inp["name"], inp["rowCount"], inp["byteCount"]) == ("raw.orders", 10, 100)
    dataset = get_json(client, f"{HUB}/datasets/{out['datasetId']}")
    assert [f["name"] for f in dataset["facets"]["schema"]["fields"]] == ["id", "total"]
    # Completed at T1: the dataset is fresh as of then, written by this run.
    assert dataset["lastWrittenDateTime"] == T1
    assert dataset["lastWrittenRunId"] == run


def test_facets_merge_by_name_whatever_the_order_of_events(
    client: TestClient, settings: Settings
) -> None:
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    early = output("warehouse.orders", 5, 50)
    early["facets"] = schema("id")
    late = output("warehouse.orders", 7, 70)
    late["facets"] = schema("id", "total")
    events = [
        run_event("START", one, T0, inputs=[read("raw.orders", 1)]),
        run_event("COMPLETE", one, T1, outputs=[early]),
        run_event("START", two, T1),
        run_event("FAIL", two, T2, outputs=[late], inputs=[read("raw.orders", 2)]),
    ]
    answers = set()
    # Each order in a tenant of its own: the same answer in every one.
    for order in itertools.islice(itertools.permutations(events), 0, None, 6):
        client.headers.update(bearer(settings, tenant=str(uuid.uuid4())))
        for event in order:
            post(client, event)
        answers.add(orjson.dumps(lineage(client)))
    (answer,) = answers
    shape, _ = orjson.loads(answer)
    orders, raw = sorted(shape)[1], sorted(shape)[0]
    # The later event's schema wins; only the completed run's write makes it fresh.
    assert orders[0] == "warehouse.orders"
    assert [f["name"] for f in orders[1]["schema"]["fields"]] == ["id", "total"]
    assert orders[2] == T1
    assert sorted(w[:2] for w in orders[3]) == sorted([[one, 5], [two, 7]])
    assert raw[0] == "raw.orders"
    assert sorted(r[1] for r in raw[4]) == [1, 2]


def test_job_and_dataset_events_record_datasets(client: TestClient) -> None:
    job_event = {
        k: v
        for k, v in run_event(
            "START", str(uuid.uuid4()), T0, inputs=[read("raw.customers", 0, schema("id"))]
        ).items()
        if k not in ("run", "eventType")
    }
    post(client, job_event)
    dataset_event = example("example_full_event")
    for member in ("run", "job", "inputs", "outputs", "eventType"):
        del dataset_event[member]
    dataset_event["schemaURL"] = (
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
    )
    post(client, dataset_event)
    names = [
        (d["namespace"], d["name"], d["lastWrittenDateTime"])
        for d in get_json(client, f"{HUB}/datasets?$orderby=name")["value"]
    ]
    given = dataset_event["dataset"]
    assert sorted(names) == sorted(
        [(SOURCE, "raw.customers", None), (given["namespace"], given["name"], None)]
    )
    assert client.get(f"{HUB}/runs/$count").text == "0"
