"""Writes :mod:`flowruns.client.models` from the model declaration the server uses.

The SDK's typed models are generated rather than built at import time so that type checkers and
editors see real classes. ``python -m flowruns.client.codegen`` rewrites the module; a test fails
when the checked-in module differs from what this produces, so the models cannot drift from
:mod:`flowruns.edm.industrydata`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from flowruns.edm.industrydata import MODEL
from flowruns.edm.model import ComplexType, EntityType, EnumType, Primitive, Property

TARGET = Path(__file__).with_name("models.py")

_HEADER = '''\
"""Typed models of every flowruns type, one dataclass per entity and complex type.

Generated from :mod:`flowruns.edm.industrydata` by ``python -m flowruns.client.codegen``; do not
edit by hand. Attribute names are the JSON names in snake_case (``displayName`` is
``display_name``); each field's metadata carries its JSON name and how to decode it (see
:mod:`flowruns.client.codec`). Members the model does not declare are kept in
``additional_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
'''


# Members the model does not declare; left out of repr() to keep it readable.
_EXTRA = "    additional_data: dict[str, Any] = field(default_factory=dict, repr=False)"


def snake(name: str) -> str:
    """``displayName`` → ``display_name``; ``eTag`` → ``e_tag``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _constant(member: str) -> str:
    return snake(member).upper()


def _class_name(qualified: str) -> str:
    name = qualified.rsplit(".", 1)[-1]
    return name[0].upper() + name[1:]


def _field(name: str, annotation: str, kind: str, json_name: str) -> str:
    metadata = f'{{"json": "{json_name}", "kind": "{kind}"}}'
    return f"    {name}: {annotation} = field(default=None, metadata={metadata})"


def _property(prop: Property) -> str:
    """One dataclass field for a structural property."""
    kind: str
    annotation: str
    if isinstance(prop.type, Primitive):
        if prop.type is Primitive.DATE_TIME_OFFSET:
            annotation, kind = "datetime", "datetime"
        elif prop.type is Primitive.INT64:
            annotation, kind = "int", "value"
        elif prop.type is Primitive.BOOLEAN:
            annotation, kind = "bool", "value"
        elif prop.type is Primitive.DOUBLE:
            annotation, kind = "float", "value"
        else:
            annotation, kind = "str", "value"
    elif isinstance(prop.type, EnumType):
        annotation = _class_name(prop.type.qualified_name)
        kind = f"enum:{annotation}"
    elif prop.type.open and not prop.type.properties:
        annotation, kind = _class_name(prop.type.qualified_name), "value"
    else:
        annotation = _class_name(prop.type.qualified_name)
        kind = f"complex:{annotation}"
    if prop.collection:
        annotation = f"list[{annotation}]"
        kind = f"list:{kind}"
    return _field(snake(prop.name), f"{annotation} | None", kind, prop.name)


# A docstring's text, wrapped so that its lines (indented, quoted) stay within the line length.
_DOC_WIDTH = 90


def _docstring(summary: str, note: str = "") -> str:
    text = "\n    ".join(textwrap.wrap(summary, _DOC_WIDTH))
    if not note:
        return f'    """{text}"""'
    return f'    """{text}\n\n    {note}\n    """'


def _enum(enum: EnumType) -> str:
    lines = [
        f"class {_class_name(enum.qualified_name)}(StrEnum):",
        _docstring(
            f"``{enum.qualified_name}``.",
            # Graph's evolvable enumerations end in unknownFutureValue; flowruns' own need not.
            "Values the model does not know read as ``UNKNOWN_FUTURE_VALUE``."
            if "unknownFutureValue" in enum.members
            else "",
        ),
        "",
    ]
    lines += [f'    {_constant(m)} = "{m}"' for m in enum.members]
    return "\n".join(lines)


def _complex(complex_type: ComplexType) -> str:
    name = _class_name(complex_type.qualified_name)
    lines = [
        "@dataclass(kw_only=True)",
        f"class {name}:",
        f'    """The ``{complex_type.qualified_name}`` complex type."""',
        "",
        f'    odata_type: ClassVar[str] = "#{complex_type.qualified_name}"',
    ]
    lines += [_property(p) for p in complex_type.properties]
    lines.append(_EXTRA)
    return "\n".join(lines)


def _entity(entity: EntityType) -> str:
    name = _class_name(entity.qualified_name)
    base = _class_name(entity.base.qualified_name) if entity.base is not None else None
    summary = entity.description or f"The ``{entity.qualified_name}`` type."
    note = "Abstract: instances are always of a derived type." if entity.abstract else ""
    lines = [
        "@dataclass(kw_only=True)",
        f"class {name}{f'({base})' if base else ''}:",
        _docstring(summary, note),
        "",
        f'    odata_type: ClassVar[str] = "#{entity.qualified_name}"',
        f"    abstract: ClassVar[bool] = {entity.abstract}",
    ]
    lines += [_property(p) for p in entity.own_properties]
    if base is None:
        lines.append(_field("etag", "str | None", "value", "@odata.etag"))
    for nav in entity.own_navigations:
        target = _class_name(nav.target)
        if nav.collection:
            lines.append(
                _field(snake(nav.name), f"list[{target}] | None", f"entities:{target}", nav.name)
            )
        else:
            lines.append(_field(snake(nav.name), f"{target} | None", f"entity:{target}", nav.name))
    if base is None:
        lines.append(_EXTRA)
    return "\n".join(lines)


def _free_objects() -> str:
    """An alias for each open complex type without declared members (``runStatistics``,
    facets): a free JSON object."""
    lines = ["# Open complex types without declared members: free JSON objects."]
    lines += [
        f"{_class_name(q)} = dict[str, Any]"
        for q, c in MODEL.complex_types.items()
        if c.open and not c.properties
    ]
    return "\n".join(lines)


def render() -> str:
    """The text of :mod:`flowruns.client.models` for the current model, formatted by ruff."""
    blocks = [_HEADER.rstrip("\n") + "\n" + _free_objects()]
    blocks += [_enum(e) for e in MODEL.enums.values()]
    blocks += [_complex(c) for c in MODEL.complex_types.values() if c.properties or not c.open]
    blocks += [_entity(e) for e in MODEL.entity_types.values()]
    names = [_class_name(q) for q in MODEL.entity_types]
    registry = ["# Every entity type by qualified name, for decoding by ``@odata.type``."]
    registry.append("ENTITY_TYPES: dict[str, type[Entity]] = {")
    registry += [f"    {n}.odata_type[1:]: {n}," for n in names]
    registry.append("}")
    complexes = [_class_name(q) for q, c in MODEL.complex_types.items() if c.properties]
    enums = [_class_name(q) for q in MODEL.enums]
    registry.append("# Types a field's ``kind`` names, by class name.")
    registry.append("TYPES: dict[str, type[Any]] = {")
    registry += [f'    "{n}": {n},' for n in (*enums, *complexes, *names)]
    registry.append("}")
    blocks.append("\n".join(registry))
    source = "\n\n\n".join(blocks) + "\n"
    # Formatted by the project's formatter, so `ruff format --check` accepts the module as is.
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return formatted.stdout


def main() -> None:
    """Rewrite the models module; with ``--check``, exit 1 if it is out of date instead."""
    text = render()
    if "--check" in sys.argv[1:]:
        if TARGET.read_text() != text:
            sys.exit(f"{TARGET} is out of date; run python -m flowruns.client.codegen")
        return
    TARGET.write_text(text)


if __name__ == "__main__":
    main()
