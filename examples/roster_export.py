"""Export a student roster (CSV) to one file per school, recording the run in flowruns.

    export FLOWRUNS_URL=http://127.0.0.1:8000/beta
    export FLOWRUNS_TOKEN=$(.venv/bin/flowruns token)
    .venv/bin/python examples/roster_export.py examples/roster.csv out/

Rows without a student id are left out and recorded as errors; rows without an email or a grade
are exported with the value left empty and recorded as warnings. The run closes as
completedWithErrors, completedWithWarnings or completed accordingly — or failed, with the
exception as its blocking error, if the export itself breaks (a missing roster file, say).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

from flowruns.client import Client, F, Process, RunRecorder

PROCESS_NAME = "Nightly roster export"
COLUMNS = ("student_id", "first_name", "last_name", "email", "grade")


def roster_process(client: Client) -> Process:
    """The process this flow records its runs under, created on the first run."""
    for process in client.processes.list(filter=F.displayName == PROCESS_NAME, top=1):
        return process
    return client.processes.create(PROCESS_NAME, "insightsOutgoingFlow", readiness_status="ready")


def export(roster: Path, out: Path, run: RunRecorder) -> None:
    """Write ``out/<school>.csv`` files; count and report every row on the run."""
    by_school: dict[str, list[dict[str, str]]] = defaultdict(list)
    with roster.open(newline="", encoding="utf-8") as source:
        for line, row in enumerate(csv.DictReader(source), start=2):
            run.stats["recordsProcessed"] += 1
            if not row["student_id"]:
                run.error("missingStudentId", "row has no student id; left out", f"line {line}")
                run.stats["recordsFailed"] += 1
                continue
            for optional in ("email", "grade"):
                if not row[optional]:
                    run.warn(
                        f"missing{optional.capitalize()}",
                        f"{row['student_id']} has no {optional}",
                        f"line {line}",
                    )
            by_school[row["school"]].append(row)
    out.mkdir(parents=True, exist_ok=True)
    for school, rows in sorted(by_school.items()):
        target = out / f"{school.lower().replace(' ', '-')}.csv"
        with target.open("w", newline="", encoding="utf-8") as sink:
            writer = csv.DictWriter(sink, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        run.stats["recordsSucceeded"] += len(rows)
        run.stats["filesWritten"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roster", type=Path, help="the roster CSV")
    parser.add_argument("out", type=Path, help="the folder to write one CSV per school into")
    args = parser.parse_args()
    with Client() as client:  # FLOWRUNS_URL and FLOWRUNS_TOKEN
        process = roster_process(client)
        with client.record_run(process, display_name=f"Roster export of {args.roster.name}") as run:
            export(args.roster, args.out, run)
        print(f"run {run.id}: {run.status} {dict(run.stats)}")


if __name__ == "__main__":
    main()
