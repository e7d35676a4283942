"""The schemas of the OpenAPI document as ``/docs`` shows them: inline, every ``$ref`` resolved,
as tables of members (nested ones in their own table), each with an example.

Examples are the ``examples`` a schema declares (:mod:`flowruns.edm.examples`); a schema without
one gets an example built from its members, so every body and response shows one.
"""

from __future__ import annotations

import html
from typing import Any

Schema = dict[str, Any]

# Nesting shown inline; deeper schemas (and any schema inside itself) link to the Schemas section.
MAX_DEPTH = 3
_REF_PREFIX = "#/components/schemas/"
# Values for a generated example, by string format.
_FORMAT_EXAMPLES = {
    "date-time": "2026-11-27T20:55:37.5745930Z",
    "uuid": "50411dba-20aa-42cb-9238-3e02f9233fd5",
}


def _escape(value: object) -> str:
    return html.escape(str(value))


def short_name(name: str) -> str:
    """``microsoft.graph.industryData.outgoingFlowRun`` → ``outgoingFlowRun``."""
    return name.rsplit(".", 1)[-1]


def anchor(name: str) -> str:
    """The id of a schema's entry in the Schemas section."""
    return f"schema-{name}"


def _without_null(alternatives: list[Schema]) -> tuple[list[Schema], bool]:
    kept = [a for a in alternatives if a.get("type") != "null"]
    return kept, len(kept) != len(alternatives)


class SchemaView:
    """Renders the schemas of one OpenAPI document."""

    def __init__(self, components: dict[str, Schema]) -> None:
        self.components = components

    def resolve(self, schema: Schema) -> tuple[str | None, Schema]:
        """The component a ``$ref`` names (its name and schema), or the schema itself."""
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            name = ref.removeprefix(_REF_PREFIX)
            return name, self.components[name]
        return None, schema

    # Types in words.

    def type_text(self, schema: Schema) -> str:
        """What a value is, in a few words of HTML: ``string (date-time) or null``."""
        name, resolved = self.resolve(schema)
        if name is not None:
            link, text = _escape(anchor(name)), _escape(short_name(name))
            return f'<a href="#{link}"><code>{text}</code></a>'
        if "anyOf" in resolved:
            kept, nullable = _without_null(resolved["anyOf"])
            text = " or ".join(self.type_text(a) for a in kept)
            return f"{text} or null" if nullable else text
        types = resolved.get("type", "any value")
        types = types if isinstance(types, list) else [types]
        nullable = "null" in types
        main = next((t for t in types if t != "null"), "any value")
        if main == "array":
            text = f"array of {self.type_text(resolved.get('items', {}))}"
        else:
            text = _escape(main)
            if "format" in resolved:
                text += f" ({_escape(resolved['format'])})"
            if main == "object" and not resolved.get("properties"):
                extra = resolved.get("additionalProperties", True)
                text += " (any members)" if extra is not False else " (no members)"
        return f"{text} or null" if nullable else text

    def constraints(self, schema: Schema) -> str:
        """Limits and allowed values, in words."""
        _, resolved = self.resolve(schema)
        parts = []
        members = [m for m in resolved.get("enum", []) if m is not None]
        if members:
            parts.append("one of " + ", ".join(f"<code>{_escape(m)}</code>" for m in members))
        if "maxLength" in resolved:
            parts.append(f"at most {resolved['maxLength']} characters")
        if "minLength" in resolved:
            parts.append(f"at least {resolved['minLength']} characters")
        if "minimum" in resolved and "maximum" in resolved:
            parts.append(f"{resolved['minimum']} to {resolved['maximum']}")
        return "; ".join(parts)

    # Tables of members.

    def _object(self, schema: Schema) -> tuple[str | None, Schema] | None:
        """The object schema (and its component's name) whose members a value of ``schema``
        has, if it has any."""
        name, resolved = self.resolve(schema)
        if "anyOf" in resolved:
            kept, _ = _without_null(resolved["anyOf"])
            return self._object(kept[0]) if len(kept) == 1 else None
        if resolved.get("type") == "array":
            return self._object(resolved.get("items", {}))
        return (name, resolved) if resolved.get("properties") else None

    def members(self, schema: Schema, depth: int = 0, seen: tuple[str, ...] = ()) -> str:
        """The members of an object schema as a table, nested objects as tables of their own."""
        name, resolved = self.resolve(schema)
        if name is not None:
            seen = (*seen, name)
        properties: dict[str, Schema] = resolved.get("properties", {})
        if not properties:
            return f"<p>{self.type_text(schema)}</p>"
        required = set(resolved.get("required", []))
        rows = []
        for member, member_schema in properties.items():
            notes = [_escape(member_schema.get("description", "")), self.constraints(member_schema)]
            nested = self._object(member_schema)
            if nested is not None and depth + 1 < MAX_DEPTH and nested[0] not in seen:
                inner, inner_schema = nested
                within = (*seen, inner) if inner else seen
                notes.append(self.members(inner_schema, depth + 1, within))
            mark = ' <span class="required">required</span>' if member in required else ""
            rows.append(
                f"<tr><td><code>{_escape(member)}</code>{mark}</td>"
                f"<td>{self.type_text(member_schema)}</td>"
                f"<td>{' '.join(n for n in notes if n)}</td></tr>"
            )
        extra = resolved.get("additionalProperties")
        if extra not in (None, False):
            rows.append('<tr><td colspan="3">Other members are allowed.</td></tr>')
        return (
            '<table class="members"><thead><tr><th scope="col">Member</th>'
            '<th scope="col">Type</th><th scope="col">Notes</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    # Examples.

    def example(self, schema: Schema, seen: tuple[str, ...] = ()) -> Any:
        """The schema's own example, or one built from its members."""
        if schema.get("examples"):
            return schema["examples"][0]
        name, resolved = self.resolve(schema)
        if name is not None:
            if name in seen:
                return {}
            return self.example(resolved, (*seen, name))
        if "anyOf" in resolved:
            kept, _ = _without_null(resolved["anyOf"])
            return self.example(kept[0], seen) if kept else None
        members = [m for m in resolved.get("enum", []) if m is not None]
        if members:
            return members[0]
        types = resolved.get("type", "object")
        main = next(t for t in (types if isinstance(types, list) else [types]) if t != "null")
        if main == "array":
            return [self.example(resolved.get("items", {}), seen)]
        if main == "object":
            required = set(resolved.get("required", []))
            return {
                member: self.example(member_schema, seen)
                for member, member_schema in resolved.get("properties", {}).items()
                # Annotations are the server's to write, unless a body must carry one.
                if not member.startswith("@") or member in required
            }
        if main == "string":
            return _FORMAT_EXAMPLES.get(resolved.get("format", ""), "text")
        return {"integer": 0, "number": 0, "boolean": False}.get(main)
