"""The pure rules of a run's life (SPEC §3), without storage or HTTP."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowruns.edm.industrydata import data_share_outgoing_flow, outgoing_flow_run
from flowruns.errors import Conflict, InvalidRequest
from flowruns.service.lifecycle import drop_unknown_enum_values, merge_patch, new_run, run_changes

NOW = 1_000_000
HOUR = 36_000_000_000


def _running(**values: Any) -> dict[str, Any]:
    return new_run({"displayName": "r", "startDateTime": NOW - HOUR, **values}, NOW)


def _finished(**values: Any) -> dict[str, Any]:
    return new_run(
        {
            "displayName": "r",
            "status": "completed",
            "startDateTime": NOW - 2 * HOUR,
            "endDateTime": NOW - HOUR,
            **values,
        },
        NOW,
    )


# -- RFC 7396 --------------------------------------------------------------------------------

# Appendix A of RFC 7396, row by row: (original, patch, result).
RFC_7396_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_7396_EXAMPLES)
def test_merge_patch_follows_the_rfc_examples(original: Any, patch: Any, result: Any) -> None:
    before = copy.deepcopy(original)
    assert merge_patch(original, patch) == result
    assert original == before


json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)
json_object = st.dictionaries(st.text(max_size=3), json_value, max_size=4)


@settings(max_examples=100, deadline=None)
@given(json_object, json_object)
def test_merge_patch_is_idempotent(original: dict[str, Any], patch: dict[str, Any]) -> None:
    once = merge_patch(original, patch)
    assert merge_patch(once, patch) == once


@settings(max_examples=100, deadline=None)
@given(json_object, json_object)
def test_merge_patch_keeps_unpatched_keys_and_drops_nulled_ones(
    original: dict[str, Any], patch: dict[str, Any]
) -> None:
    result = merge_patch(original, patch)
    for key, value in original.items():
        if key not in patch:
            assert result[key] == value
    for key, value in patch.items():
        if value is None:
            assert key not in result
        elif not isinstance(value, dict):
            assert result[key] == value


# -- create ----------------------------------------------------------------------------------


def test_new_run_fills_the_defaults() -> None:
    run = new_run({"displayName": "r"}, NOW)
    assert run == {
        "displayName": "r",
        "status": "running",
        "startDateTime": NOW,
        "endDateTime": None,
        "blockingError": None,
        "statistics": {},
    }


def test_new_finished_run_without_end_ends_now() -> None:
    run = new_run({"displayName": "r", "status": "completed", "startDateTime": NOW - HOUR}, NOW)
    assert run["endDateTime"] == NOW


def test_new_finished_run_starting_in_the_future_needs_an_end() -> None:
    with pytest.raises(InvalidRequest) as raised:
        new_run({"displayName": "r", "status": "completed", "startDateTime": NOW + 1}, NOW)
    assert raised.value.target == "endDateTime"


@pytest.mark.parametrize(
    ("values", "target"),
    [
        ({"endDateTime": NOW}, "endDateTime"),
        (
            {"status": "completed", "startDateTime": NOW, "endDateTime": NOW - 1},
            "endDateTime",
        ),
        ({"blockingError": {"code": "x"}}, "blockingError"),
        ({"status": "completedWithErrors", "blockingError": {"code": "x"}}, "blockingError"),
    ],
)
def test_new_run_invariants(values: dict[str, Any], target: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        new_run({"displayName": "r", **values}, NOW)
    assert raised.value.target == target


def test_new_failed_run_may_carry_a_blocking_error() -> None:
    run = new_run({"displayName": "r", "status": "failed", "blockingError": {"code": "x"}}, NOW)
    assert run["blockingError"] == {"code": "x"}
    assert run["endDateTime"] == NOW


# -- unknownFutureValue ----------------------------------------------------------------------


def test_unknown_future_value_is_rejected_on_create() -> None:
    with pytest.raises(InvalidRequest) as raised:
        drop_unknown_enum_values(outgoing_flow_run, {"status": "unknownFutureValue"}, create=True)
    assert raised.value.target == "status"


def test_unknown_future_value_is_dropped_on_update() -> None:
    values = {"status": "unknownFutureValue", "displayName": "x"}
    drop_unknown_enum_values(outgoing_flow_run, values, create=False)
    assert values == {"displayName": "x"}
    process_values = {"sharingState": "unknownFutureValue", "readinessStatus": "ready"}
    drop_unknown_enum_values(data_share_outgoing_flow, process_values, create=False)
    assert process_values == {"readinessStatus": "ready"}


# -- update ----------------------------------------------------------------------------------


def test_changes_are_only_what_differs() -> None:
    run = _running(statistics={"a": 1})
    assert run_changes(run, {}, NOW) == {}
    assert run_changes(run, {"displayName": "r", "statistics": {"a": 1}}, NOW) == {}
    assert run_changes(run, {"displayName": "s"}, NOW) == {"displayName": "s"}


def test_finishing_sets_the_end_to_now() -> None:
    assert run_changes(_running(), {"status": "completed"}, NOW) == {
        "status": "completed",
        "endDateTime": NOW,
    }


def test_finishing_keeps_a_given_end() -> None:
    changes = run_changes(_running(), {"status": "failed", "endDateTime": NOW - 5}, NOW)
    assert changes == {"status": "failed", "endDateTime": NOW - 5}


def test_finishing_a_run_that_starts_in_the_future_needs_an_end() -> None:
    run = _running(startDateTime=NOW + HOUR)
    with pytest.raises(InvalidRequest) as raised:
        run_changes(run, {"status": "completed"}, NOW)
    assert raised.value.target == "endDateTime"


@pytest.mark.parametrize(
    ("changes", "target"),
    [
        ({"endDateTime": NOW}, "endDateTime"),
        ({"status": "completed", "endDateTime": NOW - 2 * HOUR}, "endDateTime"),
        ({"startDateTime": NOW + HOUR, "status": "completed", "endDateTime": NOW}, "endDateTime"),
        ({"blockingError": {"code": "x"}}, "blockingError"),
        ({"status": "completed", "blockingError": {"code": "x"}}, "blockingError"),
    ],
)
def test_update_invariants(changes: dict[str, Any], target: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        run_changes(_running(), changes, NOW)
    assert raised.value.target == target


@pytest.mark.parametrize(
    ("changes", "target"),
    [
        ({"status": "running"}, "status"),
        ({"status": "failed"}, "status"),
        ({"startDateTime": NOW - 3 * HOUR}, "startDateTime"),
        ({"endDateTime": NOW}, "endDateTime"),
        ({"endDateTime": None}, "endDateTime"),
    ],
)
def test_finished_is_final(changes: dict[str, Any], target: str) -> None:
    with pytest.raises(Conflict) as raised:
        run_changes(_finished(), changes, NOW)
    assert raised.value.target == target


def test_finished_run_takes_name_statistics_and_its_own_values() -> None:
    run = _finished(statistics={"a": 1})
    same = {k: run[k] for k in ("status", "startDateTime", "endDateTime")}
    changes = run_changes(run, {**same, "displayName": "n", "statistics": {"b": 2}}, NOW)
    assert changes == {"displayName": "n", "statistics": {"a": 1, "b": 2}}


def test_statistics_merge_and_remove() -> None:
    run = _running(statistics={"a": 1, "nested": {"x": 1, "y": 2}})
    changes = run_changes(run, {"statistics": {"a": None, "nested": {"y": None, "z": 3}}}, NOW)
    assert changes == {"statistics": {"nested": {"x": 1, "z": 3}}}
    assert run["statistics"] == {"a": 1, "nested": {"x": 1, "y": 2}}


def test_merged_statistics_are_held_to_the_limits() -> None:
    run = _running(statistics={"a": "x" * 40_000})
    with pytest.raises(InvalidRequest) as raised:
        run_changes(run, {"statistics": {"b": "y" * 40_000}}, NOW)
    assert raised.value.target == "statistics"
