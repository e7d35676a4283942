"""``flowruns processes expect|health`` and ``flowruns incidents list|get`` against a real server,
whose own evaluation finds a flow late within 30 s of its grace ending."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from tests.cli.conftest import Service

WITHIN_SECONDS = 30


def test_a_late_flow_is_reported_by_the_cli_within_30_seconds(service: Service) -> None:
    name = f"roster export {uuid.uuid4()}"
    process = service.process(name)
    first = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    schedule = f"R/{first.isoformat().replace('+00:00', 'Z')}/PT1H"
    owner = f"team-{uuid.uuid4()}"
    result = service.invoke(
        "processes",
        "expect",
        name,
        "--schedule",
        schedule,
        "--grace",
        "PT2S",
        "--owner",
        owner,
        "--tag",
        "nightly",
        "--json",
    )
    assert result.exit_code == 0, result.output
    expectation = json.loads(result.stdout)
    assert (expectation["schedule"], expectation["grace"]) == (schedule, "PT2S")
    assert expectation["tags"] == ["nightly"]

    # Only the members given change; the others stay.
    result = service.invoke("processes", "expect", process, "--max-duration", "PT1H", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["schedule"] == schedule

    grace_ends = first + timedelta(seconds=2)
    while True:
        result = service.invoke("processes", "health", "--owner", owner, "--json")
        assert result.exit_code == 0, result.output
        [row] = json.loads(result.stdout)
        if row["health"]["state"] == "late":
            break
        assert datetime.now(UTC) < grace_ends + timedelta(seconds=WITHIN_SECONDS), row
        time.sleep(0.5)
    assert row["displayName"] == name

    table = service.invoke("processes", "health", "--unhealthy", "--tag", "nightly")
    assert table.exit_code == 0, table.output
    assert name in table.stdout
    assert "late" in table.stdout

    result = service.invoke("incidents", "list", "--process", process, "--open", "--json")
    assert result.exit_code == 0, result.output
    [incident] = json.loads(result.stdout)
    assert incident["kind"] == "late"
    assert incident["message"].startswith(f"{name}: no run started since")

    shown = service.invoke("incidents", "get", incident["id"])
    assert shown.exit_code == 0, shown.output
    assert "late" in shown.stdout
    # It names the process it is about, not only its id.
    assert f"{name} ({process})" in shown.stdout

    listed = service.invoke("incidents", "list", "--kind", "late")
    assert listed.exit_code == 0, listed.output
    assert incident["id"][:8] in listed.stdout
    # The table names the process each incident is about.
    [line] = [row for row in listed.stdout.splitlines() if incident["id"][:8] in row]
    assert name in line


def test_a_bad_member_is_one_line_naming_it(service: Service) -> None:
    process = service.process(f"bad {uuid.uuid4()}")
    result = service.run(["processes", "expect", process, "--time-zone", "Mars/Olympus"])
    assert result.returncode != 0
    assert "timeZone" in result.stderr
    assert result.stderr.count("\n") <= 2, result.stderr
