"""OpenLineage events for the tests, built from the specification's published examples.

``examples/`` holds files of the OpenLineage repository's ``spec/tests`` (the full event example
and one example per facet) unchanged; the emitters' shapes follow what Airflow's OpenLineage
provider (a DAG run parent of its task runs, ``airflow`` producer, ``namespace.dag.task`` job
names) and dbt's integration (``integration/common/tests/dbt/*/result.json``: a job per model
with its input and output tables, data-quality assertions on the tested tables) emit.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).with_name("examples")
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
AIRFLOW = "https://github.com/apache/airflow/tree/providers-openlineage/2.3.0"
DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/integration/dbt"


@cache
def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return loaded


def example(name: str) -> dict[str, Any]:
    """A copy of a published example (``example_full_event``, or a facet's name)."""
    return copy.deepcopy(_example(name))


def facet(name: str, **changes: Any) -> dict[str, Any]:
    """The published example of a facet, with ``changes``."""
    published = example(name)
    (value,) = published.values()
    return {**value, **changes}


def run_event(
    event_type: str | None,
    run_id: str,
    time: str,
    *,
    job: tuple[str, str] = ("food_delivery", "dbt"),
    producer: str = AIRFLOW,
    run_facets: dict[str, Any] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A run event shaped as the specification's full example, for ``run_id`` at ``time``."""
    event = example("example_full_event")
    del event["dataset"]  # the example mixes in a dataset event's member
    event.update(producer=producer, schemaURL=SCHEMA_URL, eventTime=time)
    if event_type is None:
        del event["eventType"]
    else:
        event["eventType"] = event_type
    event["run"] = {"runId": run_id, "facets": run_facets or {}}
    event["job"]["namespace"], event["job"]["name"] = job
    event["inputs"] = inputs or []
    event["outputs"] = outputs or []
    return event


def parent_facet(run_id: str, job: tuple[str, str]) -> dict[str, Any]:
    return facet(
        "ParentRunFacet",
        run={"runId": run_id},
        job={"namespace": job[0], "name": job[1]},
    )


def error_facet(message: str) -> dict[str, Any]:
    return facet("ErrorMessageRunFacet", message=message)


def output(name: str, rows: int, size: int) -> dict[str, Any]:
    return {
        "namespace": "postgres://db:5432",
        "name": name,
        "facets": {},
        "outputFacets": {
            "outputStatistics": facet(
                "OutputStatisticsOutputDatasetFacet", rowCount=rows, size=size
            )
        },
    }


def tested_input(name: str, assertions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "namespace": "postgres://db:5432",
        "name": name,
        "facets": {},
        "inputFacets": {
            "dataQualityAssertions": facet(
                "DataQualityAssertionsDatasetFacet", assertions=assertions
            )
        },
    }


def airflow_dag(dag_run: str, tasks: dict[str, str], start: str, end: str) -> list[dict[str, Any]]:
    """The events Airflow's provider sends for a DAG run and its tasks (task id → run id): the
    DAG run's START and COMPLETE, each task's START and COMPLETE with the DAG run as parent."""
    dag = ("airflow", "etl_daily")
    events = [run_event("START", dag_run, start, job=dag)]
    for task, run_id in tasks.items():
        parent = {"parent": parent_facet(dag_run, dag)}
        job = ("airflow", f"etl_daily.{task}")
        events.append(run_event("START", run_id, start, job=job, run_facets=parent))
        events.append(
            run_event(
                "COMPLETE",
                run_id,
                end,
                job=job,
                run_facets=parent,
                outputs=[output(f"public.{task}", 1000, 64_000)],
            )
        )
    events.append(run_event("COMPLETE", dag_run, end, job=dag))
    return events


def dbt_model(run_id: str, start: str, end: str, failed_tests: int) -> list[dict[str, Any]]:
    """dbt's events for one model run with its tests: START, then COMPLETE carrying the model's
    output table and the tested input's data-quality assertions (``failed_tests`` of them
    failing at error severity) and the column-lineage facet of the published example."""
    job = ("dbt-namespace", "analytics.jaffle_shop.orders")
    assertions = [
        {
            "assertion": "not_null",
            "success": i >= failed_tests,
            "column": "order_id",
            "severity": "error",
        }
        for i in range(3)
    ]
    produced = output("analytics.orders", 250, 8192)
    produced["facets"] = example("ColumnLineageDatasetFacet")
    return [
        run_event("START", run_id, start, job=job, producer=DBT),
        run_event(
            "COMPLETE",
            run_id,
            end,
            job=job,
            producer=DBT,
            inputs=[tested_input("analytics.stg_orders", assertions)],
            outputs=[produced],
        ),
    ]
