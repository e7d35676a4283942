"""A run's statistics as the flow sees them while it runs, and the well-known members.

The conventions shared by the SDK, the CLI, the errors file and the dashboard: counters
``recordsProcessed``, ``recordsSucceeded``, ``recordsFailed``, ``warningCount``, ``errorCount``, and
``warnings`` / ``errors`` lists of at most 20 ``{code, message, target}`` entries, newest last.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

from flowruns.client.codec import encode_value
from flowruns.client.models import RunStatus
from flowruns.edm.industrydata import STATISTICS_MAX_PROBLEMS, STATISTICS_PROBLEM_LISTS


class Statistics(MutableMapping[str, Any]):
    """The statistics of a recorded run: a dict in which a missing member reads as ``0``, so
    counters need no set-up (``run.stats["recordsExported"] += n``).

    Safe to change from several threads; values must be JSON values (numbers, strings, bools,
    lists, dicts; date-times become ISO text). Setting a member to ``None`` removes it on the
    server, as JSON Merge Patch does.
    """

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, Any] = {}
        for name, value in (initial or {}).items():
            self[name] = value

    def __getitem__(self, name: str) -> Any:
        with self._lock:
            return self._data.get(name, 0)

    def __setitem__(self, name: str, value: Any) -> None:
        value = encode_value(value)
        json.dumps(value, allow_nan=False)  # a value the server would refuse fails here, now
        with self._lock:
            self._data[name] = value

    def __delitem__(self, name: str) -> None:
        with self._lock:
            del self._data[name]

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._data

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._data))

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __repr__(self) -> str:
        return f"Statistics({self.snapshot()!r})"

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the current members (nested changes included), as the service takes
        them: ``warnings`` and ``errors`` keep their newest ``STATISTICS_MAX_PROBLEMS`` entries
        however the flow filled them."""
        with self._lock:
            members = copy.deepcopy(self._data)
        for name in STATISTICS_PROBLEM_LISTS:
            entries = members.get(name)
            if isinstance(entries, list):
                members[name] = entries[-STATISTICS_MAX_PROBLEMS:]
        return members

    def add_problem(self, kind: str, code: str, message: str, target: str | None) -> None:
        """Count one warning or error and keep it among the newest
        ``STATISTICS_MAX_PROBLEMS``."""
        entry = {"code": code, "message": message, "target": target}
        counter = "warningCount" if kind == "warnings" else "errorCount"
        with self._lock:
            kept = self._data.get(kind)
            kept = list(kept) if isinstance(kept, list) else []
            self._data[kind] = [*kept, entry][-STATISTICS_MAX_PROBLEMS:]
            current = self._data.get(counter, 0)
            self._data[counter] = (current if isinstance(current, int) else 0) + 1

    def final_status(self) -> RunStatus:
        """The status a run that ended without raising closes with."""
        with self._lock:
            errors, warnings = self._data.get("errorCount"), self._data.get("warningCount")
        if isinstance(errors, int | float) and errors > 0:
            return RunStatus.COMPLETED_WITH_ERRORS
        if isinstance(warnings, int | float) and warnings > 0:
            return RunStatus.COMPLETED_WITH_WARNINGS
        return RunStatus.COMPLETED


def merge_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The JSON Merge Patch (RFC 7396) that turns ``old`` into ``new``; empty when equal."""
    patch: dict[str, Any] = dict.fromkeys(old.keys() - new.keys())
    for name, value in new.items():
        before = old.get(name, ...)
        if before == value:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            patch[name] = merge_patch(before, value)
        else:
            patch[name] = value
    return patch
