"""The SDK's lineage: datasets declared by recorded runs (``record_run(inputs=…, outputs=…)``,
``run.input``/``run.output``, ``client.runs.add_input``) and read back as the service holds them —
a run's inputs and outputs, a dataset's writes and reads, datasets listed, counted, read and
followed by delta — against a real server on each engine."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from flowruns.client import (
    AsyncClient,
    Client,
    Dataset,
    DatasetAccess,
    DatasetRef,
    F,
    Process,
    Removed,
    RunStatus,
)
from flowruns.client.models import DatasetAccessDirection
from flowruns.client.recorder import RecorderOptions
from tests.client.conftest import TOKEN
from tests.servers import Server

FAST = RecorderOptions(flush_interval=0.1)


def _names(accesses: list[DatasetAccess]) -> list[tuple[str | None, str | None, int | None]]:
    return sorted((a.namespace, a.name, a.row_count) for a in accesses)


def test_a_recorded_run_declares_what_it_read_and_wrote(client: Client, process: Process) -> None:
    tag = uuid.uuid4().hex[:8]
    source = DatasetRef(f"raw.orders.{tag}", namespace="postgres://db:5432", row_count=1200)
    target = f"warehouse.orders.{tag}"
    with client.record_run(
        process, display_name="load orders", inputs=[source], outputs=[target], options=FAST
    ) as run:
        run.stats["recordsProcessed"] = 1200
        run.output(target, row_count=1180, byte_count=65_536)
        run.input(f"calendar.{tag}")
    assert run.status is RunStatus.COMPLETED
    assert run.id is not None

    inputs = list(client.runs.inputs(run.id))
    assert _names(inputs) == [
        ("flowruns", f"calendar.{tag}", None),
        ("postgres://db:5432", f"raw.orders.{tag}", 1200),
    ]
    assert {a.direction for a in inputs} == {DatasetAccessDirection.INPUT}
    [output] = client.runs.outputs(run.id)
    assert (output.namespace, output.name, output.row_count, output.byte_count) == (
        "flowruns",
        target,
        1180,
        65_536,
    )
    assert output.run_id == run.id
    assert output.run_status is RunStatus.COMPLETED

    # The dataset it wrote knows the run, and that it was written successfully at its end.
    [written] = client.datasets.list(F.name == target)
    assert isinstance(written, Dataset)
    assert written.id == output.dataset_id
    assert written.last_written_run_id == run.id
    ended = client.runs.get(run.id).end_date_time
    assert written.last_written_date_time == ended
    assert client.datasets.get(written.id or "").name == target
    [write] = client.datasets.writes(written.id or "")
    assert (write.run_id, write.row_count) == (run.id, 1180)
    assert list(client.datasets.reads(written.id or "")) == []
    assert client.datasets.count(F.name.contains(tag)) == 3


def test_a_refused_dataset_is_said_and_the_run_goes_on(client: Client, process: Process) -> None:
    tag = uuid.uuid4().hex[:8]
    said = io.StringIO()
    too_long = "x" * 2000
    with client.record_run(
        process, display_name="odd", outputs=[too_long, f"fine.{tag}"], options=FAST, stderr=said
    ) as run:
        run.stats["recordsProcessed"] = 1
    assert run.status is RunStatus.COMPLETED
    assert [a.name for a in client.runs.outputs(run.id or "")] == [f"fine.{tag}"]
    assert "the output xxxx" in said.getvalue()
    assert "was refused" in said.getvalue()
    assert too_long not in said.getvalue()  # cut short
    assert client.runs.get(run.id or "").status is RunStatus.COMPLETED


def test_datasets_added_to_a_run_by_its_id(client: Client, process: Process) -> None:
    tag = uuid.uuid4().hex[:8]
    run = client.processes.create_run(process.id or "", "copy")
    first = client.runs.add_output(run.id or "", DatasetRef(f"copy.{tag}", row_count=5))
    assert isinstance(first, DatasetAccess)
    again = client.runs.add_output(run.id or "", DatasetRef(f"copy.{tag}", row_count=7))
    assert again.dataset_id == first.dataset_id
    client.runs.add_input(run.id or "", f"origin.{tag}")
    assert _names(list(client.runs.outputs(run.id or ""))) == [("flowruns", f"copy.{tag}", 7)]
    assert _names(list(client.runs.inputs(run.id or ""))) == [("flowruns", f"origin.{tag}", None)]
    # A dataset read from the service names itself.
    raw = client.runs.add_input(run.id or "", DatasetRef(f"raw.{tag}", namespace="s3://lake"))
    read_again = client.runs.add_input(run.id or "", client.datasets.get(raw.dataset_id or ""))
    assert read_again.dataset_id == raw.dataset_id
    # Not written successfully yet: the run is still running.
    [dataset] = client.datasets.list(F.name == f"copy.{tag}")
    assert dataset.last_written_date_time is None
    client.runs.update(run.id or "", status="failed")
    assert client.datasets.get(dataset.id or "").last_written_date_time is None


def test_new_datasets_come_through_delta(client: Client, process: Process) -> None:
    tag = uuid.uuid4().hex[:8]
    first = client.datasets.delta(F.name.startswith(f"delta.{tag}"))
    assert list(first) == []
    assert first.delta_link is not None
    with client.record_run(process, display_name="d", outputs=[f"delta.{tag}.a"], options=FAST):
        pass
    changes = client.datasets.delta(delta_link=first.delta_link)
    changed = list(changes)
    assert [d.name for d in changed if not isinstance(d, Removed)] == [f"delta.{tag}.a"]


def test_the_async_client_reads_the_same_lineage(server: Server, process: Process) -> None:
    tag = uuid.uuid4().hex[:8]

    async def scenario() -> tuple[list[str | None], list[str], int]:
        async with AsyncClient(f"{server.base}/beta", TOKEN) as client:
            async with client.record_run(
                process, display_name="async", inputs=[f"a.{tag}"], outputs=[f"b.{tag}"]
            ) as run:
                pass
            assert run.id is not None
            inputs = [a.name async for a in client.runs.inputs(run.id)]
            # search: a substring of the name, whatever its case.
            datasets = [d.name or "" async for d in client.datasets.list(search=tag.upper())]
            return inputs, sorted(datasets), await client.datasets.count(search=tag)

    inputs, datasets, count = asyncio.run(scenario())
    assert inputs == [f"a.{tag}"]
    assert datasets == [f"a.{tag}", f"b.{tag}"]
    assert count == 2


def test_the_lineage_example_of_the_sdk_guide_prints_what_it_shows(server: Server) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "sdk.md").read_text()
    start = guide.index("\n## Datasets and lineage\n")
    [example] = re.findall(r"^```python\n(.*?)^```$", guide[start:], re.DOTALL | re.MULTILINE)[:1]
    shown = [
        line.split("# ", 1)[1] for line in example.splitlines() if "print(" in line and "# " in line
    ]
    env = {**os.environ, "FLOWRUNS_URL": f"{server.base}/beta", "FLOWRUNS_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-c", example],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == shown
