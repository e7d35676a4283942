"""A seeded random run history, loaded through the API and read back for the reference.

The history has something for every query feature: runs of each type with ties in their
times (and times before 1970, where floor and truncation differ), names with letters whose
case mapping is special, failed runs with nested blocking errors, ``statistics`` members of
every JSON type (the same member name holding a number in one run and a string in another),
processes of both concrete types, some runs without a process, and run groups with members.
"""

from __future__ import annotations

import random
from typing import Any

from starlette.testclient import TestClient

from flowruns.edm import datetimes
from flowruns.edm.industrydata import data_share_sharing_state, readiness_status, run_status
from tests.api.steps import DATA_SHARE, INCOMING, INSIGHTS, OUTGOING, collect_all, process_url
from tests.conftest import HUB
from tests.query.reference import Dataset, Row

SEED = 20261127
# Words with special case mappings: 'ß'.upper() is 'SS', 'İ'.lower() is 'i̇' (two code
# points), 'ǅ' is titlecase, 'ﬁ' upper-cases to 'FI', 'K' (Kelvin) lower-cases to 'k', 'ẞ'
# lower-cases to 'ß', a capital sigma lower-cases to the final or the medial small sigma
# by its place in the word; plus spacing that trim removes and a letter outside the BMP.
WORDS = [
    "export",
    "Export",
    "EXPORT",
    "sync",
    "straße",
    "STRASSE",
    "İstanbul",
    "istanbul",
    "ǅemal",
    "ǆemal",
    "ﬁle",
    "FILE",
    "Kelvin",
    "ẞig",
    "ΟΔΟΣ",
    "οδος",
    "Ünïcode",
    "ä",
    "a b",
    "  padded\t",
    "\nline\r",
    "😀 emoji",
    "z",
    "Z",
    "_",
    "42",
    "'quoted'",
]
STATUSES = ["running", "failed", "completed", "completedWithErrors", "completedWithWarnings"]
CODES = ["quotaExceeded", "timeout", "E1", "e1", "straße", ""]
# A few instants shared by several runs so that ordering ties on them are common.
INSTANTS = [
    "1969-12-31T23:59:59.5Z",
    "1969-07-20T20:17:40Z",
    "2001-02-03T04:05:06.7Z",
    "2024-02-29T23:30:00Z",
    "2025-12-31T23:59:59.9999999Z",
    "2026-01-01T00:00:00Z",
    "2026-03-15T12:00:00+05:30",
]
STATISTIC_NAMES = ["a", "b", "recordsFailed", "flag", "label", "tags", "errors", "nested"]


def _name(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 2)))


def _scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            rng.randint(-5, 5),
            rng.randint(-(10**12), 10**12),
            rng.choice([0.5, -2.25, 3.0, 1e-3, 7.75]),
            rng.choice(["", "x", "crm", "CRM", "ß", "5", "true", "straße"]),
            rng.choice([True, False]),
            None,
        ]
    )


def _statistic(rng: random.Random, name: str) -> Any:
    if name == "tags":
        return rng.choice([[_scalar(rng) for _ in range(rng.randint(0, 3))], "not-a-list", 3])
    if name == "errors":
        return [
            rng.choice(
                [
                    {"code": rng.choice(CODES), "message": _name(rng)},
                    {"code": rng.randint(0, 3)},
                    "plain",
                    {"tags": ["a", "b"]},
                ]
            )
            for _ in range(rng.randint(0, 3))
        ]
    if name == "nested":
        return rng.choice([{"x": _scalar(rng), "y": {"z": _scalar(rng)}}, _scalar(rng)])
    return _scalar(rng)


def _statistics(rng: random.Random) -> dict[str, Any]:
    names = rng.sample(STATISTIC_NAMES, rng.randint(0, len(STATISTIC_NAMES)))
    return {n: _statistic(rng, n) for n in names}


def _blocking_error(rng: random.Random) -> dict[str, Any]:
    error: dict[str, Any] = {"code": rng.choice(CODES), "message": _name(rng)}
    if rng.random() < 0.5:
        error["target"] = rng.choice(["statistics", "ß"])
    if rng.random() < 0.5:
        error["details"] = [
            {"code": rng.choice(CODES), "message": _name(rng)} for _ in range(rng.randint(0, 2))
        ]
    if rng.random() < 0.4:
        error["innerError"] = {"code": rng.choice(CODES)}
    return error


def _start(rng: random.Random) -> int:
    if rng.random() < 0.6:
        return datetimes.parse(rng.choice(INSTANTS))
    low = datetimes.parse("1965-01-01T00:00:00Z")
    high = datetimes.parse("2026-06-30T00:00:00Z")
    return rng.randint(low, high)


def seed_history(client: TestClient, runs: int = 48) -> None:
    """POST a random history (the same one for a given seed) through the API."""
    rng = random.Random(SEED)
    process_ids: list[str] = []
    for _ in range(8):
        body: dict[str, Any] = {"displayName": _name(rng)}
        if rng.random() < 0.6:
            body["@odata.type"] = DATA_SHARE
            body["shareName"] = rng.choice([None, "share", "Share", "ß"])
            body["inviteeUserIds"] = rng.sample(["u1", "U1", "ü2", "u3"], rng.randint(0, 3))
            body["sharingState"] = rng.choice([None, "pending", "running", "problem"])
        else:
            body["@odata.type"] = INSIGHTS
        body["readinessStatus"] = rng.choice([None, "notReady", "ready", "failed", "expired"])
        response = client.post(f"{HUB}/processes", json=body)
        assert response.status_code == 201, response.text
        process_ids.append(response.json()["id"])
    process_ids.pop()  # a process without runs
    run_ids: list[str] = []
    group_ids: list[str] = []
    for i in range(runs):
        status = rng.choice(STATUSES)
        start = _start(rng)
        body = {
            "displayName": _name(rng),
            "status": status,
            "startDateTime": datetimes.format_ticks(start),
            "statistics": _statistics(rng),
        }
        if status != "running":
            length = rng.choice([0, 1, 10_000_000, 36_000_000_000, rng.randint(0, 10**12)])
            body["endDateTime"] = datetimes.format_ticks(start + length)
        if status == "failed" and rng.random() < 0.8:
            body["blockingError"] = _blocking_error(rng)
        if rng.random() < 0.7:
            body["process@odata.bind"] = process_url(rng.choice(process_ids))
        collection = f"{HUB}/runs"
        if i % 8 == 7:
            collection = f"{HUB}/runGroups"
        else:
            body["@odata.type"] = rng.choice([OUTGOING, OUTGOING, INCOMING])
        response = client.post(collection, json=body)
        assert response.status_code == 201, response.text
        (group_ids if i % 8 == 7 else run_ids).append(response.json()["id"])
    for group_id in group_ids:
        for run_id in rng.sample(run_ids, rng.randint(0, 5)):
            response = client.post(
                f"{HUB}/runGroups/{group_id}/runs/$ref",
                json={"@odata.id": f"http://testserver{HUB}/runs/{run_id}"},
            )
            assert response.status_code == 204, response.text


def _type_name(entity: dict[str, Any]) -> str:
    return str(entity["@odata.type"]).rsplit(".", 1)[-1]


def _ticks(text: str | None) -> int | None:
    return None if text is None else datetimes.parse(text)


def read_history(client: TestClient) -> Dataset:
    """The stored history as the API returns it, in the reference's value representation."""
    runs: dict[str, Row] = {}
    for run in collect_all(client, f"{HUB}/runs?$top=999&$expand=process($select=id)"):
        values = {
            "displayName": run["displayName"],
            "startDateTime": _ticks(run["startDateTime"]),
            "endDateTime": _ticks(run["endDateTime"]),
            "status": run_status.value_of(run["status"]),
            "blockingError": run["blockingError"],
            "statistics": run["statistics"],
        }
        process = run.get("process")
        runs[run["id"]] = Row(run["id"], _type_name(run), values, process and process["id"])
    processes: dict[str, Row] = {}
    for process in collect_all(client, f"{HUB}/processes?$top=999"):
        values = {
            "displayName": process["displayName"],
            "readinessStatus": _enum(readiness_status.value_of, process["readinessStatus"]),
            "shareName": process.get("shareName"),
            "inviteeUserIds": process.get("inviteeUserIds"),
            "sharingState": _enum(data_share_sharing_state.value_of, process.get("sharingState")),
        }
        processes[process["id"]] = Row(process["id"], _type_name(process), values)
    members = {
        group_id: [r["id"] for r in collect_all(client, f"{HUB}/runGroups/{group_id}/runs")]
        for group_id, row in runs.items()
        if row.type == "runGroup"
    }
    return Dataset(runs, processes, members)


def _enum(value_of: Any, member: str | None) -> int | None:
    return None if member is None else int(value_of(member))
