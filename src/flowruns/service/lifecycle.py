"""The rules of a run's life, as pure functions over property values.

Nothing here touches storage or HTTP: given what a run is and what a write asks for, these
functions return the values to store or raise the Graph error the client should see.
"""

from __future__ import annotations

from typing import Any

from flowruns.edm.industrydata import (
    FINISHED_STATUSES,
    STATISTICS_MAX_PROBLEMS,
    STATISTICS_PROBLEM_LISTS,
)
from flowruns.edm.model import EntityType, EnumType
from flowruns.errors import Conflict, InvalidRequest
from flowruns.odata.deserialize import check_open_object

UNKNOWN = "unknownFutureValue"
_FROZEN_WHEN_FINISHED = ("status", "startDateTime", "endDateTime")


def drop_unknown_enum_values(
    entity_type: EntityType, values: dict[str, Any], *, create: bool
) -> None:
    """``unknownFutureValue`` is rejected on create and ignored in a PATCH, as Graph does."""
    for prop in entity_type.properties:
        if isinstance(prop.type, EnumType) and values.get(prop.name) == UNKNOWN:
            if create:
                raise InvalidRequest(
                    f"'{prop.name}' cannot be {UNKNOWN} on create.", target=prop.name
                )
            del values[prop.name]


def new_run(values: dict[str, Any], now: int) -> dict[str, Any]:
    """The stored values of a run created with ``values``: defaults filled, invariants checked."""
    result = dict(values)
    result.setdefault("status", "running")
    result.setdefault("startDateTime", now)
    if result.get("statistics") is None:
        result["statistics"] = {}
    _check_problem_lists(result["statistics"], STATISTICS_PROBLEM_LISTS)
    result.setdefault("endDateTime", None)
    result.setdefault("blockingError", None)
    if result["status"] in FINISHED_STATUSES and result["endDateTime"] is None:
        result["endDateTime"] = _finish_time(result["startDateTime"], now)
    _check_invariants(result)
    return result


def run_changes(current: dict[str, Any], changes: dict[str, Any], now: int) -> dict[str, Any]:
    """The values a PATCH actually changes on a run: a finished run's status and times stay
    as they are (409), ``statistics`` is merged (JSON Merge Patch) within its limits, a run
    that finishes without an end time ends now, and the result keeps every invariant."""
    changes = dict(changes)
    if current["status"] in FINISHED_STATUSES:
        for name in _FROZEN_WHEN_FINISHED:
            if name in changes and changes[name] != current[name]:
                raise Conflict(
                    f"The run has finished ({current['status']}); '{name}' can no longer change.",
                    target=name,
                )
    if "statistics" in changes:
        merged = merge_patch(current["statistics"], changes["statistics"])
        check_open_object(merged, "statistics")
        # Only the lists this PATCH gives: a run stored before the limit can still be finished.
        _check_problem_lists(merged, tuple(changes["statistics"] or ()))
        changes["statistics"] = merged
    proposed = {**current, **changes}
    finishing = current["status"] == "running" and proposed["status"] in FINISHED_STATUSES
    if finishing and proposed["endDateTime"] is None:
        proposed["endDateTime"] = changes["endDateTime"] = _finish_time(
            proposed["startDateTime"], now
        )
    _check_invariants(proposed)
    return {k: v for k, v in changes.items() if current.get(k) != v}


def _check_problem_lists(statistics: dict[str, Any], given: tuple[str, ...]) -> None:
    """400 when a well-known problem list among the ``given`` members is too long. Only the
    count is a rule: the entries' shape (``{code, message, target}``) stays the writer's."""
    for name in STATISTICS_PROBLEM_LISTS:
        entries = statistics.get(name)
        if name in given and isinstance(entries, list) and len(entries) > STATISTICS_MAX_PROBLEMS:
            raise InvalidRequest(
                f"'statistics/{name}' holds {len(entries)} entries; keep at most "
                f"{STATISTICS_MAX_PROBLEMS}, the newest last.",
                target=f"statistics/{name}",
            )


def _finish_time(start: int, now: int) -> int:
    if start > now:
        raise InvalidRequest(
            "The run starts in the future, so its end cannot default to now; give endDateTime.",
            target="endDateTime",
        )
    return now


def _check_invariants(run: dict[str, Any]) -> None:
    status, start, end = run["status"], run["startDateTime"], run["endDateTime"]
    if status == "running" and end is not None:
        raise InvalidRequest(
            "'endDateTime' must be null while the run is running.", target="endDateTime"
        )
    if end is not None and end < start:
        raise InvalidRequest(
            "'endDateTime' must not be earlier than 'startDateTime'.", target="endDateTime"
        )
    if run["blockingError"] is not None and status != "failed":
        raise InvalidRequest(
            "'blockingError' may only be present when the status is failed.",
            target="blockingError",
        )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: present keys replace, ``null`` removes a key."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
