"""Reading an OpenLineage event: JSON, its kind, and its validation against the specification.

The specification is pinned: ``openlineage_spec/`` holds ``OpenLineage.json`` of version 2-0-2
and the schemas of the facets flowruns reads (``parent``, ``errorMessage``,
``outputStatistics``, ``dataQualityAssertions``, ``dataQualityMetrics``), copied from the
OpenLineage repository (Apache-2.0; see ``openlineage_spec/README.md``). Every ``$ref``
between them resolves to those files: the validator is built offline and fetches nothing. A
facet flowruns does not read is checked only as the specification checks any facet
(``_producer`` and ``_schemaURL``) and kept as it is.

Validation is jsonschema-rs (the ``jsonschema_rs`` module): a compiled validator of draft
2020-12 with format checks (``uuid``, ``date-time``, ``uri``), written in Rust, which checks an
event in microseconds rather than the milliseconds of a pure-Python validator — ingestion runs
it on every event.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson

from flowruns.edm.datetimes import InvalidDateTime, parse
from flowruns.errors import InvalidRequest

SPEC_VERSION = "2-0-2"
SPEC = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json"
# The facets flowruns reads, where they sit in a run event, and the schema each must match.
_FACETS = {
    "parent": "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": (
        "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json"
        "#/$defs/ErrorMessageRunFacet"
    ),
    "outputStatistics": (
        "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"
        "#/$defs/OutputStatisticsOutputDatasetFacet"
    ),
    "dataQualityAssertions": (
        "https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json"
        "#/$defs/DataQualityAssertionsDatasetFacet"
    ),
    "dataQualityMetrics": (
        "https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json"
        "#/$defs/DataQualityMetricsInputDatasetFacet"
    ),
}
_DATASET_FACET_MEMBERS = ("facets", "inputFacets", "outputFacets")
# Clients in other languages write nanoseconds; flowruns keeps 100 ns ticks.
_LONG_FRACTION = re.compile(r"(\.[0-9]{7})[0-9]+")


@dataclass(frozen=True)
class LineageEvent:
    """A valid event: ``kind`` run, job or dataset; for a run event, its run's id (lower-case
    GUID) and type (OTHER when it gives none); ``digest`` identifies the event itself."""

    kind: str
    body: dict[str, Any]
    digest: str
    time: int
    run_id: str | None = None
    event_type: str | None = None


@cache
def _validators() -> dict[str, jsonschema_rs.Validator]:
    folder = resources.files("flowruns.service") / "openlineage_spec"
    documents = [orjson.loads((folder / "OpenLineage.json").read_bytes())]
    documents += [
        orjson.loads(f.read_bytes())
        for f in sorted((folder / "facets").iterdir(), key=lambda f: f.name)
        if f.name.endswith(".json")
    ]
    registry = jsonschema_rs.Registry([(d["$id"], d) for d in documents])

    def validator(ref: str) -> jsonschema_rs.Validator:
        return jsonschema_rs.validator_for(
            {"$ref": ref}, registry=registry, validate_formats=True, offline=True
        )

    kinds = ("RunEvent", "JobEvent", "DatasetEvent")
    events = {kind: validator(f"{SPEC}#/$defs/{kind}") for kind in kinds}
    return events | {name: validator(ref) for name, ref in _FACETS.items()}


def _check(validator: jsonschema_rs.Validator, value: Any, at: tuple[str | int, ...]) -> None:
    """400 naming the first member of ``value`` (found at ``at``) the schema refuses."""
    if validator.is_valid(value):
        return  # without gathering errors, as almost every event is valid
    for found in validator.iter_errors(value):
        error = _deepest(found)
        path = [*at, *error.instance_path]
        kind = error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            path.append(kind.property)
        target = "/".join(str(p) for p in path)
        raise InvalidRequest(
            f"The OpenLineage event is not valid (specification {SPEC_VERSION}): "
            f"{target or 'the event'}: {error.message}.",
            target=target or None,
        )


def _deepest(error: jsonschema_rs.ValidationError) -> jsonschema_rs.ValidationError:
    """Of an ``anyOf``/``oneOf`` that no branch satisfies (the specification wraps every facet
    map in one), the error deepest in the event: it names the member at fault."""
    while True:
        context = getattr(error.kind, "context", None)
        inner = [e for branch in context or () for e in branch]
        if not inner:
            return error
        error = max(inner, key=lambda e: len(e.instance_path))


def read_event(raw: bytes) -> LineageEvent:
    """The event in ``raw``, or a 400 naming what is wrong with it."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("An OpenLineage event is a JSON object.")
    validators = _validators()
    if "run" in body:
        kind, schema = "run", "RunEvent"
    elif "dataset" in body:
        kind, schema = "dataset", "DatasetEvent"
    elif "job" in body:
        kind, schema = "job", "JobEvent"
    else:
        raise InvalidRequest(
            "The OpenLineage event names no run, job or dataset: a run event needs 'run' and "
            "'job', a job event 'job', a dataset event 'dataset'.",
            target="run",
        )
    _check(validators[schema], body, ())
    if kind == "run":
        _check_known_facets(body, validators)
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    try:
        time = parse(_LONG_FRACTION.sub(r"\1", body["eventTime"]))
    except InvalidDateTime as error:
        raise InvalidRequest(f"'eventTime': {error}.", target="eventTime") from None
    if kind != "run":
        return LineageEvent(kind, body, digest, time)
    run_id = str(uuid.UUID(body["run"]["runId"]))
    return LineageEvent(kind, body, digest, time, run_id, body.get("eventType") or "OTHER")


def _check_known_facets(body: dict[str, Any], validators: dict[str, Any]) -> None:
    """The facets flowruns reads must match their own schemas, so the mapping can rely on
    them."""
    run_facets = body["run"].get("facets") or {}
    for name in ("parent", "errorMessage"):
        if name in run_facets:
            _check(validators[name], run_facets[name], ("run", "facets", name))
    for side in ("inputs", "outputs"):
        for index, dataset in enumerate(body.get(side) or ()):
            for member in _DATASET_FACET_MEMBERS:
                facets = dataset.get(member) or {}
                for name in ("outputStatistics", "dataQualityAssertions", "dataQualityMetrics"):
                    if name in facets:
                        at = (side, index, member, name)
                        _check(validators[name], facets[name], at)
