"""The SDK's models follow the model declaration the server uses, and read what it writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowruns.client import codegen
from flowruns.client.codec import decode_entity, format_datetime, parse_datetime, wire_changes
from flowruns.client.models import (
    ENTITY_TYPES,
    DataShareOutgoingFlow,
    OutgoingFlowRun,
    Process,
    Run,
    RunGroup,
    RunStatus,
)
from flowruns.edm.industrydata import MODEL


def test_generated_models_match_the_model_declaration() -> None:
    assert codegen.TARGET.read_text() == codegen.render(), (
        "src/flowruns/client/models.py is out of date; run python -m flowruns.client.codegen"
    )


def test_every_declared_type_has_a_model_class() -> None:
    assert set(ENTITY_TYPES) == set(MODEL.entity_types)
    for name, declared in MODEL.entity_types.items():
        cls = ENTITY_TYPES[name]
        json_names = {f for f in cls.__dataclass_fields__.values() if "json" in f.metadata}
        assert {p.name for p in declared.properties} <= {f.metadata["json"] for f in json_names}


def test_a_run_decodes_as_its_own_type_with_typed_members() -> None:
    run = decode_entity(
        Run,
        {
            "@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",
            "@odata.etag": 'W/"1"',
            "id": "r1",
            "displayName": "Export",
            "startDateTime": "2026-11-27T20:55:37.5745931Z",
            "endDateTime": None,
            "status": "running",
            "statistics": {"recordsProcessed": 3},
            "process": {
                "@odata.type": "#microsoft.graph.industryData.dataShareOutgoingFlow",
                "id": "p1",
                "inviteeUserIds": ["u1"],
            },
            "newMember": 1,
        },
    )
    assert isinstance(run, OutgoingFlowRun)
    assert run.start_date_time == datetime(2026, 11, 27, 20, 55, 37, 574593, tzinfo=UTC)
    assert run.status is RunStatus.RUNNING
    assert run.etag == 'W/"1"'
    assert isinstance(run.process, DataShareOutgoingFlow)
    assert run.process.invitee_user_ids == ["u1"]
    assert run.additional_data == {"newMember": 1}


def test_values_a_newer_service_may_send_do_not_break_decoding() -> None:
    run = decode_entity(
        Run, {"@odata.type": "#microsoft.graph.industryData.fancyRun", "status": "paused"}
    )
    assert type(run) is Run
    assert run.status is RunStatus.UNKNOWN_FUTURE_VALUE
    # A type of another family is not taken for a run.
    assert (
        type(decode_entity(Process, {"@odata.type": "#microsoft.graph.industryData.runGroup"}))
        is Process
    )
    assert isinstance(
        decode_entity(Run, {"@odata.type": "microsoft.graph.industryData.runGroup"}), RunGroup
    )


def test_date_times_are_written_in_utc_and_naive_ones_are_refused() -> None:
    assert format_datetime(datetime.fromisoformat("2026-11-27T10:00:00.5+02:00")) == (
        "2026-11-27T08:00:00.500000Z"
    )
    assert parse_datetime("2026-11-27T08:00:00+02:00") == datetime(2026, 11, 27, 6, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        format_datetime(datetime(2026, 11, 27))


def test_keyword_changes_map_to_json_names_and_unknown_names_are_refused() -> None:
    body = wire_changes(
        Run, {"display_name": "x", "status": RunStatus.FAILED, "blocking_error": None}
    )
    assert body == {"displayName": "x", "status": "failed", "blockingError": None}
    with pytest.raises(TypeError, match="no property 'colour'"):
        wire_changes(Run, {"colour": "red"})
