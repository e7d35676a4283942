"""The instrumented example flow in examples/ runs as docs/sdk.md says and records its run."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from flowruns.client import Client, F, RunStatus
from tests.client.conftest import TOKEN
from tests.servers import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_roster_export_writes_files_and_records_a_run_with_errors(
    server: Server, client: Client, tmp_path: Path
) -> None:
    env = {**os.environ, "FLOWRUNS_URL": f"{server.base}/beta", "FLOWRUNS_TOKEN": TOKEN}
    out = tmp_path / "out"
    command = [sys.executable, str(EXAMPLES / "roster_export.py"), str(EXAMPLES / "roster.csv")]
    result = subprocess.run(
        [*command, str(out)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["hillcrest-elementary.csv", "northside-high.csv", "riverside-middle.csv"]
    with (out / "riverside-middle.csv").open() as exported:
        assert [row["student_id"] for row in csv.DictReader(exported)] == [
            "S-1004",
            "S-1006",
            "S-1008",
        ]
    process = next(client.processes.list(filter=F.displayName == "Nightly roster export"))
    [run] = list(client.processes.runs(process.id or ""))
    assert run.status is RunStatus.COMPLETED_WITH_ERRORS
    assert run.display_name == "Roster export of roster.csv"
    stats = run.statistics or {}
    assert {k: stats[k] for k in ("recordsProcessed", "recordsSucceeded", "recordsFailed")} == {
        "recordsProcessed": 12,
        "recordsSucceeded": 11,
        "recordsFailed": 1,
    }
    assert (stats["errorCount"], stats["warningCount"], stats["filesWritten"]) == (1, 3, 3)
    assert stats["errors"][0]["target"] == "line 6"
    assert result.stdout.startswith(f"run {run.id}: completedWithErrors")
