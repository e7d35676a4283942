"""``flowruns datasets``, ``runs list --input/--output`` and ``exec --input/--output`` against a
real server: the datasets runs read and wrote, found by name, namespace and staleness."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.cli.conftest import HUB, Service


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _access(service: Service, run_id: str, direction: str, **body: Any) -> dict[str, Any]:
    response = service.http.post(f"{HUB}/runs/{run_id}/{direction}", json=body)
    assert response.status_code in (200, 201), response.text
    access: dict[str, Any] = response.json()
    return access


def _finished_run(service: Service, process: str, name: str, ended: datetime) -> dict[str, Any]:
    """A run of ``process`` that ran for ten minutes to ``ended`` (still running: the caller
    finishes it once its datasets are recorded)."""
    return service.run_of(
        process, displayName=name, startDateTime=_iso(ended - timedelta(minutes=10))
    )


def _finish(service: Service, run: dict[str, Any], status: str, ended: datetime) -> None:
    response = service.http.patch(
        f"{HUB}/runs/{run['id']}", json={"status": status, "endDateTime": _iso(ended)}
    )
    assert response.status_code == 200, response.text


def _lineage(service: Service) -> dict[str, Any]:
    """Three datasets of one tag: ``orders`` written two days ago and read since, ``events``
    written an hour ago in another namespace, ``costs`` written only by a failed run."""
    tag = uuid.uuid4().hex[:8]
    process = service.process(f"lineage {tag}")
    now = datetime.now(UTC)
    load = _finished_run(service, process, f"load {tag}", now - timedelta(days=2))
    _access(service, load["id"], "outputs", name=f"orders.{tag}", rowCount=1500)
    _finish(service, load, "completed", now - timedelta(days=2))
    report = _finished_run(service, process, f"report {tag}", now - timedelta(hours=1))
    _access(service, report["id"], "inputs", name=f"orders.{tag}", rowCount=1500)
    _access(service, report["id"], "outputs", namespace="s3://bucket", name=f"events.{tag}")
    _finish(service, report, "completed", now - timedelta(hours=1))
    broken = _finished_run(service, process, f"costs {tag}", now - timedelta(minutes=5))
    _access(service, broken["id"], "outputs", name=f"costs.{tag}", rowCount=3)
    _finish(service, broken, "failed", now - timedelta(minutes=5))
    return {"tag": tag, "process": process, "load": load, "report": report, "broken": broken}


def test_datasets_list_filters_by_name_namespace_and_staleness(service: Service) -> None:
    made = _lineage(service)
    tag = made["tag"]
    result = service.invoke("datasets", "list", "--name", tag.upper(), "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [(d["namespace"], d["name"]) for d in listed] == [
        ("flowruns", f"costs.{tag}"),
        ("flowruns", f"orders.{tag}"),
        ("s3://bucket", f"events.{tag}"),
    ]
    assert all(d["@odata.type"] == "#flowruns.dataset" for d in listed)

    result = service.invoke("datasets", "list", "--name", tag, "--namespace", "s3://bucket")
    assert result.exit_code == 0, result.output
    assert f"events.{tag}" in result.stdout
    assert f"orders.{tag}" not in result.stdout

    # Not written successfully for a day: orders (two days ago) and costs (never; its run failed).
    result = service.invoke("datasets", "list", "--name", tag, "--stale-for", "1d", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(d["name"] for d in json.loads(result.stdout)) == [
        f"costs.{tag}",
        f"orders.{tag}",
    ]
    result = service.invoke("datasets", "list", "--name", tag, "--stale-for", "P3D")
    assert result.exit_code == 0, result.output
    assert f"costs.{tag}" in result.stdout
    assert "never" in result.stdout
    assert f"orders.{tag}" not in result.stdout

    result = service.invoke("datasets", "list", "--stale-for", "a while")
    assert result.exit_code == 2
    assert "30m, 36h, 7d" in result.output
    result = service.invoke("datasets", "list", "--name", f"nothing {tag}")
    assert result.exit_code == 0
    assert "No datasets match." in result.output


def test_datasets_get_by_name_shows_its_writers_and_readers(service: Service) -> None:
    made = _lineage(service)
    tag = made["tag"]
    result = service.invoke("datasets", "get", f"orders.{tag}")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Latest writes" in text
    assert "Latest reads" in text
    assert made["load"]["id"] in text
    assert made["report"]["id"] in text
    assert "1,500" in text
    assert "completed" in text

    result = service.invoke("datasets", "get", f"orders.{tag}", "--json")
    dataset = json.loads(result.stdout)
    assert dataset["name"] == f"orders.{tag}"
    assert dataset["lastWrittenRunId"] == made["load"]["id"]
    by_id = service.invoke("datasets", "get", dataset["id"][:13], "--json")
    assert by_id.exit_code == 0, by_id.output
    assert json.loads(by_id.stdout)["id"] == dataset["id"]

    result = service.invoke("datasets", "get", f"costs.{tag}")
    assert "Latest reads: none" in result.stdout
    assert "never" in result.stdout
    missing = service.invoke("datasets", "get", f"nowhere.{tag}")
    assert missing.exit_code == 1
    assert f"no dataset is named 'nowhere.{tag}'" in missing.output


def test_runs_list_by_input_and_output(service: Service) -> None:
    made = _lineage(service)
    tag = made["tag"]
    result = service.invoke("runs", "list", "--output", f"orders.{tag}", "--json")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.stdout)] == [made["load"]["id"]]
    result = service.invoke("runs", "list", "--input", f"orders.{tag}", "--json")
    assert [r["id"] for r in json.loads(result.stdout)] == [made["report"]["id"]]
    both = ("--input", f"orders.{tag}", "--output", f"events.{tag}", "--json")
    result = service.invoke("runs", "list", *both)
    assert [r["id"] for r in json.loads(result.stdout)] == [made["report"]["id"]]
    result = service.invoke("runs", "list", "--input", f"costs.{tag}")
    assert "No runs match." in result.output


def test_exec_records_the_datasets_the_command_names(service: Service) -> None:
    tag = uuid.uuid4().hex[:8]
    process = service.process(f"exec lineage {tag}")
    result = service.run(
        [
            "exec",
            "--process",
            process,
            "--input",
            f"in.{tag}",
            "--input",
            f"calendar.{tag}",
            "--output",
            f"out.{tag}",
            "--",
            sys.executable,
            "-c",
            "print('copied')",
        ]
    )
    assert result.returncode == 0, result.stderr
    [run] = service.runs_of(process)
    assert run["status"] == "completed"
    inputs = service.http.get(f"{HUB}/runs/{run['id']}/inputs").json()["value"]
    outputs = service.http.get(f"{HUB}/runs/{run['id']}/outputs").json()["value"]
    assert sorted(a["name"] for a in inputs) == [f"calendar.{tag}", f"in.{tag}"]
    assert [(a["namespace"], a["name"]) for a in outputs] == [("flowruns", f"out.{tag}")]
    listed = service.invoke("datasets", "list", "--name", f"out.{tag}", "--json")
    [dataset] = json.loads(listed.stdout)
    assert dataset["lastWrittenRunId"] == run["id"]


def test_runs_get_shows_the_datasets_a_run_read_and_wrote(service: Service) -> None:
    made = _lineage(service)
    tag = made["tag"]
    result = service.invoke("runs", "get", made["report"]["id"])
    assert result.exit_code == 0, result.output
    inputs, outputs = result.stdout.split("Inputs", 1)[1].split("Outputs", 1)
    assert f"orders.{tag}" in inputs
    assert "1,500" in inputs
    assert f"events.{tag}" in outputs
    assert "s3://bucket" in outputs
    alone = service.invoke("runs", "get", made["load"]["id"])
    assert "Inputs" not in alone.stdout
    assert f"orders.{tag}" in alone.stdout.split("Outputs", 1)[1]


def test_a_dataset_freshness_expectation_from_the_command_line(service: Service) -> None:
    made = _lineage(service)
    tag, orders = made["tag"], f"orders.{made['tag']}"
    # A dataset without a freshness expectation needs --every to get one.
    result = service.invoke("datasets", "expect", orders, "--owner", "data")
    assert result.exit_code == 2
    assert "--every" in result.output
    result = service.invoke(
        "datasets", "expect", orders, "--every", "P1D", "--owner", "data", "--tag", "a", "--json"
    )
    assert result.exit_code == 0, result.output
    expectation = json.loads(result.stdout)
    assert expectation["@odata.type"] == "#flowruns.freshnessExpectation"
    # Written two days ago and expected daily: stale at once, with an incident.
    assert (expectation["writtenEvery"], expectation["owner"]) == ("P1D", "data")
    assert expectation["state"] == "stale"
    # Only the members given change.
    result = service.invoke("datasets", "expect", orders, "--owner", "ops")
    assert result.exit_code == 0, result.output
    assert "P1D" in result.stdout
    assert "ops" in result.stdout

    shown = service.invoke("datasets", "get", orders)
    assert shown.exit_code == 0, shown.output
    assert "stale, written every P1D" in shown.stdout
    assert "Open stale incidents" in shown.stdout
    assert f"{orders}: not written by a successful run since" in shown.stdout
    dataset = json.loads(service.invoke("datasets", "get", orders, "--json").stdout)
    assert dataset["expectation"]["state"] == "stale"
    [incident] = dataset["incidents"]
    assert incident["kind"] == "stale"

    listed = service.invoke("datasets", "list", "--name", tag)
    assert listed.exit_code == 0, listed.output
    assert "Freshness" in listed.stdout
    assert "stale" in listed.stdout
    result = service.invoke("datasets", "list", "--name", tag, "--freshness", "stale", "--json")
    assert [d["name"] for d in json.loads(result.stdout)] == [orders]
    result = service.invoke("datasets", "list", "--freshness", "rotten")
    assert result.exit_code == 2
    assert "fresh, unknown, stale, paused" in result.output

    # The incidents name the dataset where a process's name their process.
    result = service.invoke("incidents", "list", "--dataset", orders, "--open", "--json")
    assert result.exit_code == 0, result.output
    [listed_incident] = json.loads(result.stdout)
    assert listed_incident["id"] == incident["id"]
    assert listed_incident["dataset"]["name"] == orders
    assert listed_incident.get("process") is None
    table = service.invoke("incidents", "list", "--kind", "stale", "--open")
    assert table.exit_code == 0, table.output
    assert "Process or dataset" in table.stdout
    assert orders in table.stdout.split(incident["id"][:8])[0].splitlines()[-1]
    shown = service.invoke("incidents", "get", incident["id"])
    assert shown.exit_code == 0, shown.output
    assert f"/{orders} (" in shown.stdout  # the dataset it is about, by namespace and name

    paused = service.invoke("datasets", "expect", orders, "--pause", "--json")
    assert json.loads(paused.stdout)["state"] == "paused"
    refused = service.invoke("datasets", "expect", orders, "--remove", "--every", "P2D")
    assert refused.exit_code == 2
    removed = service.invoke("datasets", "expect", orders, "--remove")
    assert removed.exit_code == 0, removed.output
    shown = service.invoke("datasets", "get", orders)
    assert "no freshness expectation" in shown.stdout
    assert "Open stale incidents" not in shown.stdout
