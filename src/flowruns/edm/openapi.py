"""The model as an OpenAPI 3.1 document, served at ``/openapi.json`` and rendered at ``/docs``.

Schemas come from the one model declaration: an entity type's properties (inherited ones
included) with their JSON types, nullability, lengths and enum members; complex types; the
open ``runStatistics``. Paths are the URL map of the service root: each entity set, its
type casts, ``$count``, keys, navigations, ``$ref`` links and bound functions. Every operation
documents its success response and, as ``default``, the Graph error envelope, so a fuzzer can
check each answer against the document.
"""

from __future__ import annotations

from typing import Any

from flowruns.edm.examples import EXAMPLES
from flowruns.edm.industrydata import (
    HUB_PATH,
    MODEL,
    PROCESSES,
    RUN_GROUPS,
    RUNS,
    industry_data_hub,
)
from flowruns.edm.model import ComplexType, EntityType, EnumType, Primitive, Property

JSON = "application/json"
_PRIMITIVES: dict[Primitive, dict[str, Any]] = {
    Primitive.STRING: {"type": "string"},
    Primitive.DATE_TIME_OFFSET: {"type": "string", "format": "date-time"},
    Primitive.GUID: {"type": "string", "format": "uuid"},
    Primitive.INT64: {"type": "integer"},
    Primitive.BOOLEAN: {"type": "boolean"},
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


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_COLLECTION_OPTIONS = [
    _query("$filter", {"type": "string"}, "OData filter expression."),
    _query("$orderby", {"type": "string"}, "Sort keys, each asc or desc."),
    _query("$top", {"type": "integer", "minimum": 0, "maximum": 999}, "Page size."),
    _query("$skip", {"type": "integer", "minimum": 0, "maximum": 10000}, "Rows to skip."),
    _query("$count", {"type": "boolean"}, "Add @odata.count."),
    _query("$select", {"type": "string"}, "Properties to return."),
    _query("$expand", {"type": "string"}, "Navigations to include."),
    _query("$search", {"type": "string"}, 'Quoted text ("…") to find in displayName.'),
]
_ENTITY_OPTIONS = [o for o in _COLLECTION_OPTIONS if o["name"] in ("$select", "$expand")]
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Apply only if the entity's ETag matches (412 otherwise).",
}


def _key(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(
    tag: str,
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [tag],
        "summary": summary,
        "responses": {**responses, **_ERROR},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return operation


def _list(tag: str, summary: str, item: str, keys: list[str]) -> dict[str, Any]:
    return _operation(
        tag,
        summary,
        {"200": _json(_collection(_ref(item)), "One page.")},
        parameters=[*map(_key, keys), *_COLLECTION_OPTIONS],
    )


def _count(tag: str, summary: str, keys: list[str]) -> dict[str, Any]:
    text = {"description": "The count.", "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {"get": _operation(tag, summary, {"200": text}, parameters=list(map(_key, keys)))}


def _entity_ops(tag: str, what: str, type_name: str, writable: str, key: str) -> dict[str, Any]:
    entity = _json(_ref(type_name), f"The {what}.")
    return {
        "get": _operation(
            tag, f"Get a {what}", {"200": entity}, parameters=[_key(key), *_ENTITY_OPTIONS]
        ),
        "patch": _operation(
            tag,
            f"Update a {what}",
            {"200": entity, **_NO_CONTENT},
            parameters=[_key(key), _IF_MATCH],
            body=_ref(writable),
        ),
        "delete": _operation(
            tag, f"Delete a {what}", _NO_CONTENT, parameters=[_key(key), _IF_MATCH]
        ),
    }


_REF_BODY = {
    "type": "object",
    "properties": {"@odata.id": {"type": "string"}},
    "required": ["@odata.id"],
}
_REF = {
    "type": "object",
    "properties": {"@odata.context": {"type": "string"}, "@odata.id": {"type": "string"}},
}


def _paths() -> dict[str, Any]:
    hub = f"/{HUB_PATH}"
    run, process, group = (b.type.qualified_name for b in (RUNS, PROCESSES, RUN_GROUPS))
    runs, processes, groups = (f"{hub}/{b.name}" for b in (RUNS, PROCESSES, RUN_GROUPS))
    created_run = _json(_ref(run), "The created run.")
    created_process = _json(_ref(process), "The created process.")
    paths: dict[str, Any] = {
        "/": {"get": _operation("service", "The service document", {"200": _json({}, "")})},
        "/$metadata": {
            "get": _operation(
                "service",
                "The CSDL description of the model",
                {"200": {"description": "CSDL XML.", "content": {"application/xml": {}}}},
            )
        },
        hub: {
            "get": _operation(
                "service",
                "The industryData hub",
                {"200": _json(_ref(industry_data_hub.qualified_name), "The hub.")},
                parameters=_ENTITY_OPTIONS,
            )
        },
        runs: {
            "get": _list("runs", "List runs (every run type)", run, []),
            "post": _operation(
                "runs", "Create a run", {"201": created_run, **_NO_CONTENT}, body=_ref("runCreate")
            ),
        },
        f"{runs}/$count": _count("runs", "Count runs", []),
        f"{runs}/{{run-id}}": _entity_ops("runs", "run", run, "runUpdate", "run-id"),
        f"{runs}/{{run-id}}/process": {
            "get": _operation(
                "runs",
                "Get the process of a run",
                {"200": _json(_ref(process), "The process.")},
                parameters=[_key("run-id"), *_ENTITY_OPTIONS],
            ),
            "post": _operation(
                "runs",
                "Create a process and link the run to it",
                {"201": created_process, **_NO_CONTENT},
                parameters=[_key("run-id")],
                body=_ref("processCreate"),
            ),
        },
        f"{runs}/{{run-id}}/process/$ref": {
            "get": _operation(
                "runs",
                "The link to the run's process",
                {"200": _json(_REF, "The link.")},
                parameters=[_key("run-id")],
            ),
            **{
                method: _operation(
                    "runs",
                    "Link the run to an existing process",
                    _NO_CONTENT,
                    parameters=[_key("run-id")],
                    body=_REF_BODY,
                )
                for method in ("put", "post")
            },
            "delete": _operation(
                "runs", "Unlink the run's process", _NO_CONTENT, parameters=[_key("run-id")]
            ),
        },
        processes: {
            "get": _list("processes", "List processes", process, []),
            "post": _operation(
                "processes",
                "Create a process",
                {"201": created_process, **_NO_CONTENT},
                body=_ref("processCreate"),
            ),
        },
        f"{processes}/$count": _count("processes", "Count processes", []),
        f"{processes}/{{process-id}}": _entity_ops(
            "processes", "process", process, "processUpdate", "process-id"
        ),
        f"{processes}/{{process-id}}/runs": {
            "get": _list("processes", "The runs of a process", run, ["process-id"]),
            "post": _operation(
                "processes",
                "Create a run of the process",
                {"201": created_run, **_NO_CONTENT},
                parameters=[_key("process-id")],
                body=_ref("runCreateUnderProcess"),
            ),
        },
        groups: {
            "get": _list("runGroups", "List run groups", group, []),
            "post": _operation(
                "runGroups",
                "Create a run group",
                {"201": created_run, **_NO_CONTENT},
                body=_ref("runCreateUnderProcess"),
            ),
        },
        f"{groups}/$count": _count("runGroups", "Count run groups", []),
        f"{groups}/{{runGroup-id}}/runs": {
            "get": _list("runGroups", "The member runs of a group", run, ["runGroup-id"])
        },
        f"{groups}/{{runGroup-id}}/runs/$ref": {
            "get": _operation(
                "runGroups",
                "Links to the member runs",
                {"200": _json(_collection(_REF), "One page of links.")},
                parameters=[_key("runGroup-id"), *_COLLECTION_OPTIONS],
            ),
            "post": _operation(
                "runGroups",
                "Add a run to the group",
                _NO_CONTENT,
                parameters=[_key("runGroup-id")],
                body=_REF_BODY,
            ),
        },
        f"{groups}/{{runGroup-id}}/runs/{{run-id}}/$ref": {
            "delete": _operation(
                "runGroups",
                "Remove a run from the group",
                _NO_CONTENT,
                parameters=[_key("runGroup-id"), _key("run-id")],
            )
        },
    }
    for function in RUN_GROUPS.type.functions:
        value = {"type": "object", "properties": {"value": {"type": "string"}}}
        paths[f"{groups}/{{runGroup-id}}/{function.name}"] = {
            "get": _operation(
                "runGroups",
                f"{function.name}(): CSV of the members that failed or warned",
                {"200": _json(value, "The CSV text.")},
                parameters=[_key("runGroup-id")],
            )
        }
    for cast in RUNS.type.concrete_subtypes():
        paths[f"{runs}/{cast.qualified_name}"] = {
            "get": _list("runs", f"List {cast.name}s", cast.qualified_name, [])
        }
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
    for name, example in EXAMPLES.items():
        schemas[name]["examples"] = [example]
    return schemas


def openapi_document(title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the service root, every path behind a bearer token."""
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
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
