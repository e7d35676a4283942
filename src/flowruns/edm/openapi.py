"""The model as an OpenAPI 3.1 document, served at ``/openapi.json`` and rendered at ``/docs``.

Schemas come from the one model declaration: an entity type's properties (inherited ones
included) with their JSON types, nullability, lengths and enum members; complex types; the
open ``runStatistics``. Paths come from the route table (``api/routes.py``), one
:class:`PathOperation` per method of each route; their query parameters and limits from
``edm/capabilities.py``. Every operation documents its success response and, as ``default``,
the Graph error envelope, so a fuzzer can check each answer against the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from flowruns.edm.capabilities import BATCH_METHODS, MAX_BATCH_REQUESTS, QueryKind, QueryOption
from flowruns.edm.examples import EXAMPLES
from flowruns.edm.industrydata import (
    ACCESSES,
    EXPECTATIONS,
    FRESHNESS,
    MODEL,
    PROCESSES,
    RUNS,
    subscription,
)
from flowruns.edm.model import ComplexType, EntityType, EnumType, Primitive, Property

JSON = "application/json"
_PRIMITIVES: dict[Primitive, dict[str, Any]] = {
    Primitive.STRING: {"type": "string"},
    Primitive.DATE_TIME_OFFSET: {"type": "string", "format": "date-time"},
    Primitive.GUID: {"type": "string", "format": "uuid"},
    Primitive.INT64: {"type": "integer"},
    Primitive.BOOLEAN: {"type": "boolean"},
    Primitive.DOUBLE: {"type": "number"},
}
_ODATA_ANNOTATIONS = {
    "@odata.type": {"type": "string"},
    "@odata.etag": {"type": "string"},
    "@odata.context": {"type": "string"},
    "@odata.id": {"type": "string"},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    if "enum" in schema:
        return {**schema, "type": [schema["type"], "null"], "enum": [*schema["enum"], None]}
    return {**schema, "type": [schema["type"], "null"]}


def _value_schema(prop: Property) -> dict[str, Any]:
    schema: dict[str, Any]
    if isinstance(prop.type, Primitive):
        schema = dict(_PRIMITIVES[prop.type])
        if prop.type is Primitive.STRING:
            if prop.max_length is not None:
                schema["maxLength"] = prop.max_length
            if prop.min_length is not None:
                schema["minLength"] = prop.min_length
    elif isinstance(prop.type, EnumType):
        schema = {"type": "string", "enum": list(prop.type.members)}
    else:
        schema = _ref(prop.type.qualified_name)
    return schema


def _property_schema(prop: Property) -> dict[str, Any]:
    item = _value_schema(prop)
    if prop.collection:
        return {"type": "array", "items": item}
    schema = _nullable(item) if prop.nullable else item
    if prop.description:
        schema = {**schema, "description": prop.description}
    return schema


def _complex(complex_type: ComplexType) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {p.name: _property_schema(p) for p in complex_type.properties},
        "additionalProperties": complex_type.open,
    }


def _entity(entity: EntityType) -> dict[str, Any]:
    """An entity as the server writes it: every property optional ($select), annotations too."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            **_ODATA_ANNOTATIONS,
            **{p.name: _property_schema(p) for p in entity.properties},
        },
    }
    if entity.description:
        schema["description"] = entity.description
    return schema


def _writable(entity: EntityType, *, create: bool) -> dict[str, Any]:
    """A create (or PATCH) body for ``entity`` and its concrete subtypes."""
    concrete = [f"#{t.qualified_name}" for t in entity.concrete_subtypes()]
    properties: dict[str, Any] = {"@odata.type": {"type": "string", "enum": concrete}}
    required: list[str] = []
    for subtype in entity.concrete_subtypes():
        for prop in subtype.properties:
            if prop.read_only or prop.key:
                continue
            properties[prop.name] = _property_schema(prop)
            if create and prop.required and prop.name not in required:
                required.append(prop.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _collection(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "@odata.context": {"type": "string"},
            "@odata.count": {"type": "integer"},
            "@odata.nextLink": {"type": "string"},
            "value": {"type": "array", "items": item},
        },
        "required": ["value"],
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


_ERROR = {"default": _json(_ref("GraphError"), "A Graph error (4xx, 5xx).")}
_NO_CONTENT = {"204": {"description": "Done."}}
_LINK = {
    "type": "object",
    "properties": {"@odata.context": {"type": "string"}, "@odata.id": {"type": "string"}},
}
_FUNCTION_VALUE = {"type": "object", "properties": {"value": {"type": "string"}}}
_REMOVED = {
    "type": "object",
    "properties": {
        "@odata.type": {"type": "string"},
        "id": {"type": "string"},
        "@removed": {
            "type": "object",
            "properties": {"reason": {"type": "string", "enum": ["deleted", "changed"]}},
            "required": ["reason"],
        },
    },
    "required": ["id", "@removed"],
}


class Success(Enum):
    """What an operation answers when it succeeds."""

    SERVICE_DOCUMENT = "service document"
    CSDL = "CSDL"
    ENTITY = "entity"  # 200 with the addressed entity
    PAGE = "page"  # 200 with one page of the addressed collection
    COUNT = "count"  # 200, the number as text
    CREATED = "created"  # 201 with the new entity, or 204 (Prefer: return=minimal)
    UPDATED = "updated"  # 200 with the entity, or 204 (Prefer: return=minimal)
    DONE = "done"  # 204
    LINK = "link"  # 200 with the @odata.id of the addressed entity
    LINKS = "links"  # 200 with one page of @odata.ids
    VALUE = "value"  # 200 with a function's string value
    BATCH = "batch"  # 200 with the answer of every request of a JSON batch
    DELTA = "delta"  # 200 with a page of changes and removals, and a nextLink or deltaLink
    INGESTED = "ingested"  # 201 without a body: an OpenLineage event kept


def _success(success: Success, entity: EntityType | None) -> dict[str, Any]:
    def of_entity(description: str) -> dict[str, Any]:
        assert entity is not None, success
        return _json(_ref(entity.qualified_name), description.format(entity.name))

    match success:
        case Success.SERVICE_DOCUMENT:
            return {"200": _json({}, "")}
        case Success.CSDL:
            return {"200": {"description": "CSDL XML.", "content": {"application/xml": {}}}}
        case Success.ENTITY:
            return {"200": of_entity("The {}.")}
        case Success.PAGE:
            assert entity is not None
            return {"200": _json(_collection(_ref(entity.qualified_name)), "One page.")}
        case Success.COUNT:
            text = {"text/plain": {"schema": {"type": "string"}}}
            return {"200": {"description": "The count.", "content": text}}
        case Success.CREATED:
            return {"201": of_entity("The created {}."), **_NO_CONTENT}
        case Success.UPDATED:
            return {"200": of_entity("The {}."), **_NO_CONTENT}
        case Success.DONE:
            return _NO_CONTENT
        case Success.LINK:
            return {"200": _json(_LINK, "The link.")}
        case Success.LINKS:
            return {"200": _json(_collection(_LINK), "One page of links.")}
        case Success.VALUE:
            return {"200": _json(_FUNCTION_VALUE, "The value.")}
        case Success.BATCH:
            return {"200": _json(_ref("batchResponse"), "The answer of every request.")}
        case Success.INGESTED:
            return {
                "201": {
                    "description": "The event is kept. For a run event, Location is the URL of "
                    "its run, whose id is the event's runId."
                }
            }
        case Success.DELTA:
            assert entity is not None
            item = {"oneOf": [_ref(entity.qualified_name), _REMOVED]}
            page = _collection(item)
            page["properties"]["@odata.deltaLink"] = {"type": "string"}
            del page["properties"]["@odata.count"]
            return {"200": _json(page, "One page of changes: a nextLink, or the deltaLink.")}


# Request bodies, by what they write.
RUN_CREATE = _ref("runCreate")
RUN_CREATE_UNDER_PROCESS = _ref("runCreateUnderProcess")
RUN_UPDATE = _ref("runUpdate")
PROCESS_CREATE = _ref("processCreate")
PROCESS_UPDATE = _ref("processUpdate")
EXPECTATION_WRITE = _ref("expectationWrite")
FRESHNESS_WRITE = _ref("freshnessExpectationWrite")
ACCESS_WRITE = _ref("datasetAccessWrite")
BATCH = _ref("batchRequest")
# Validated against the OpenLineage specification itself, not against this document.
LINEAGE_EVENT = {
    "type": "object",
    "description": "An OpenLineage RunEvent, JobEvent or DatasetEvent of specification 2-0-2 "
    "(OpenLineage.json); gzip-coded bodies are accepted.",
    "examples": [
        {
            "eventType": "START",
            "eventTime": "2026-11-30T08:00:00Z",
            # Any URI: the documentation page links nothing online.
            "producer": "urn:example:emitter",
            "schemaURL": "urn:example:openlineage:2-0-2:RunEvent",
            "run": {"runId": "0b9c6a4e-5f0e-4a43-9f43-3a1c1f0b7e21"},
            "job": {"namespace": "airflow", "name": "etl_daily.load_orders"},
            "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders"}],
            "outputs": [{"namespace": "s3://lake", "name": "orders"}],
        }
    ],
}
SUBSCRIPTION_CREATE = _ref("subscriptionCreate")
SUBSCRIPTION_UPDATE = _ref("subscriptionUpdate")
REFERENCE = {
    "type": "object",
    "properties": {"@odata.id": {"type": "string"}},
    "required": ["@odata.id"],
}


@dataclass(frozen=True)
class PathOperation:
    """One operation of the document, as the route table describes it.

    ``path`` is below the service root with each key a parameter named in ``keys``;
    ``entity`` is the type the success answer holds (or lists), where it holds one; an
    ``anonymous`` operation answers without a token too.
    """

    path: str
    keys: tuple[str, ...]
    method: str
    tag: str
    summary: str
    success: Success
    entity: EntityType | None = None
    query: QueryKind = QueryKind.NONE
    body: dict[str, Any] | None = None
    if_match: bool = False
    anonymous: bool = False


def _parameter(option: QueryOption) -> dict[str, Any]:
    schema = dict(_PRIMITIVES[option.type])
    if option.type is Primitive.INT64:
        schema["minimum"] = 0
    if option.maximum is not None:
        schema["maximum"] = option.maximum
    return {
        "name": f"${option.name}",
        "in": "query",
        "required": False,
        "schema": schema,
        "description": option.description,
    }


_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Apply only if the entity's ETag matches (412 otherwise).",
}


def _key(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(described: PathOperation) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [described.tag],
        "summary": described.summary,
        "responses": {**_success(described.success, described.entity), **_ERROR},
    }
    parameters = [_key(name) for name in described.keys]
    parameters += [_parameter(o) for o in described.query.options if o.documented]
    if described.if_match:
        parameters.append(_IF_MATCH)
    if parameters:
        operation["parameters"] = parameters
    if described.body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": described.body}}}
    if described.anonymous:
        # No token needed; one that is sent is still verified.
        operation["security"] = [{}, {"bearer": []}]
    return operation


def _paths(operations: Iterable[PathOperation]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for described in operations:
        path = paths.setdefault(described.path or "/", {})
        path[described.method.lower()] = _operation(described)
    return paths


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for complex_type in MODEL.complex_types.values():
        schemas[complex_type.qualified_name] = _complex(complex_type)
    for entity in MODEL.entity_types.values():
        schemas[entity.qualified_name] = _entity(entity)
    run_create = _writable(RUNS.type, create=True)
    schemas["runCreate"] = {**run_create, "required": ["@odata.type", *run_create["required"]]}
    schemas["runCreateUnderProcess"] = run_create
    schemas["runUpdate"] = _writable(RUNS.type, create=False)
    process_create = _writable(PROCESSES.type, create=True)
    schemas["processCreate"] = {
        **process_create,
        "required": ["@odata.type", *process_create["required"]],
    }
    schemas["processUpdate"] = _writable(PROCESSES.type, create=False)
    schemas["expectationWrite"] = _writable(EXPECTATIONS.type, create=False)
    schemas["freshnessExpectationWrite"] = _writable(FRESHNESS.type, create=False)
    schemas["datasetAccessWrite"] = _writable(ACCESSES.type, create=True)
    schemas["subscriptionCreate"] = _writable(subscription, create=True)
    schemas["subscriptionUpdate"] = {
        "type": "object",
        "properties": {"expirationDateTime": {"type": "string", "format": "date-time"}},
        "required": ["expirationDateTime"],
        "additionalProperties": False,
    }
    detail = {"type": "object", "additionalProperties": {"type": "string"}}
    schemas["GraphError"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "target": {"type": "string"},
                    "details": {"type": "array", "items": detail},
                    "innerError": {"type": "object"},
                },
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    }
    schemas |= _batch_schemas()
    for name, example in EXAMPLES.items():
        schemas[name]["examples"] = [example]
    return schemas


def _batch_schemas() -> dict[str, Any]:
    """A JSON batch and its answer (Graph's JSON batching, OData JSON Format 4.01 section 19)."""
    headers = {"type": "object", "additionalProperties": {"type": "string"}}
    request = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "method": {"type": "string", "enum": list(BATCH_METHODS)},
            "url": {
                "type": "string",
                "description": "Relative to the service root (/external/industryData/runs), "
                "or absolute below it.",
            },
            "headers": headers,
            "body": {"description": "JSON when Content-Type is JSON; text or base64 otherwise."},
            "dependsOn": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Ids of requests that must answer 2xx first (else 424).",
            },
        },
        "required": ["id", "method", "url"],
    }
    response = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "integer"},
            "headers": headers,
            "body": {"description": "JSON for a JSON answer; text for text; base64 otherwise."},
        },
        "required": ["id", "status", "headers"],
    }
    return {
        "batchRequest": {
            "type": "object",
            "properties": {
                "requests": {
                    "type": "array",
                    "items": request,
                    "minItems": 1,
                    "maxItems": MAX_BATCH_REQUESTS,
                }
            },
            "required": ["requests"],
        },
        "batchResponse": {
            "type": "object",
            "properties": {"responses": {"type": "array", "items": response}},
            "required": ["responses"],
        },
    }


def openapi_document(
    title: str, version: str, operations: Iterable[PathOperation]
) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the service root with ``operations`` (the route
    table's), every path behind a bearer token."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The Microsoft Graph beta industryData run model over OData v4. "
            "Every operation needs an 'Authorization: Bearer <token>' header.",
        },
        "servers": [{"url": "/beta"}],
        "security": [{"bearer": []}],
        "paths": _paths(operations),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
