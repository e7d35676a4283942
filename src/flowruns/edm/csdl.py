"""The model as CSDL XML, the document served at ``$metadata``.

Besides the types, the document carries annotations from the OASIS Core and Capabilities
vocabularies, so that generic clients know what the server computes and what each collection
supports without trying. The run, process and run-group collections are containment
navigations of the hub (there are no top-level entity sets), so their capabilities are
annotated on those navigations (``industryDataHub/runs``), the way Microsoft Graph annotates
its own contained collections.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from flowruns.edm.model import (
    ComplexType,
    EntityType,
    EnumType,
    Function,
    Model,
    NavigationProperty,
    Property,
)

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
CONTAINER_NAMESPACE = "microsoft.graph"
CONTAINER_NAME = "GraphService"

CORE = "Org.OData.Core.V1"
CAPABILITIES = "Org.OData.Capabilities.V1"
_VOCABULARIES_URL = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies"
# Namespace -> (alias, where the vocabulary is published).
VOCABULARIES = {
    CORE: ("Core", f"{_VOCABULARIES_URL}/{CORE}.xml"),
    CAPABILITIES: ("Capabilities", f"{_VOCABULARIES_URL}/{CAPABILITIES}.xml"),
}

# SPEC §5: $expand nests at most two levels deep.
MAX_EXPAND_LEVELS = 2


@dataclass(frozen=True)
class _Paths:
    """A collection of paths in a record, e.g. ``NonSortableProperties``."""

    kind: str  # "PropertyPath" or "NavigationPropertyPath"
    paths: tuple[str, ...]


@dataclass(frozen=True)
class _Member:
    """An enumeration member as an annotation value, e.g. ``…HttpMethod/PATCH``."""

    name: str


_Value = bool | int | str | _Paths | _Member


def _constant(element: ET.Element, value: _Value) -> None:
    """Write ``value`` the way CSDL writes a constant: an attribute, or child elements."""
    match value:
        case bool():
            element.set("Bool", "true" if value else "false")
        case int():
            element.set("Int", str(value))
        case str():
            element.set("String", value)
        case _Member():
            element.set("EnumMember", value.name)
        case _Paths():
            collection = ET.SubElement(element, "Collection")
            for path in value.paths:
                ET.SubElement(collection, value.kind).text = path


def _annotate(parent: ET.Element, term: str, value: _Value | dict[str, _Value]) -> None:
    """An ``Annotation`` of ``term``; a dict value becomes a ``Record`` of its items."""
    annotation = ET.SubElement(parent, "Annotation", {"Term": term})
    if isinstance(value, dict):
        record = ET.SubElement(annotation, "Record")
        for name, item in value.items():
            _constant(ET.SubElement(record, "PropertyValue", {"Property": name}), item)
    else:
        _constant(annotation, value)


def _describe(parent: ET.Element, description: str) -> None:
    if description:
        _annotate(parent, f"{CORE}.Description", description)


def _property(parent: ET.Element, prop: Property) -> None:
    attrs = {"Name": prop.name, "Type": prop.type_name}
    if not prop.nullable:
        attrs["Nullable"] = "false"
    if prop.max_length is not None and not isinstance(prop.type, EnumType | ComplexType):
        attrs["MaxLength"] = str(prop.max_length)
    element = ET.SubElement(parent, "Property", attrs)
    _describe(element, prop.description)
    if prop.read_only:
        # Clients leave these out of create and update bodies.
        _annotate(element, f"{CORE}.Computed", True)
        _annotate(element, f"{CORE}.Permissions", _Member(f"{CORE}.Permission/Read"))


def _navigation(parent: ET.Element, nav: NavigationProperty) -> None:
    attrs = {
        "Name": nav.name,
        "Type": f"Collection({nav.target})" if nav.collection else nav.target,
    }
    if not nav.collection and not nav.nullable:
        attrs["Nullable"] = "false"
    if nav.partner is not None:
        attrs["Partner"] = nav.partner
    if nav.contains_target:
        attrs["ContainsTarget"] = "true"
    _describe(ET.SubElement(parent, "NavigationProperty", attrs), nav.description)


def _enum(schema: ET.Element, enum: EnumType) -> None:
    element = ET.SubElement(schema, "EnumType", {"Name": enum.name})
    for member in enum.members:
        # Explicit values: some clients cannot read a member without one.
        ET.SubElement(element, "Member", {"Name": member, "Value": str(enum.value_of(member))})


def _complex(schema: ET.Element, complex_type: ComplexType) -> None:
    attrs = {"Name": complex_type.name}
    if complex_type.open:
        attrs["OpenType"] = "true"
    element = ET.SubElement(schema, "ComplexType", attrs)
    for prop in complex_type.properties:
        _property(element, prop)


def _entity(schema: ET.Element, entity: EntityType) -> None:
    attrs = {"Name": entity.name}
    if entity.base is not None:
        attrs["BaseType"] = entity.base.qualified_name
    if entity.abstract:
        attrs["Abstract"] = "true"
    element = ET.SubElement(schema, "EntityType", attrs)
    keys = [p for p in entity.own_properties if p.key]
    if keys:
        key = ET.SubElement(element, "Key")
        for prop in keys:
            ET.SubElement(key, "PropertyRef", {"Name": prop.name})
    for prop in entity.own_properties:
        _property(element, prop)
    for nav in entity.own_navigations:
        _navigation(element, nav)
    _describe(element, entity.description)


def _function(schema: ET.Element, entity: EntityType, function: Function) -> None:
    element = ET.SubElement(schema, "Function", {"Name": function.name, "IsBound": "true"})
    ET.SubElement(
        element,
        "Parameter",
        {"Name": "bindingParameter", "Type": entity.qualified_name, "Nullable": "false"},
    )
    ET.SubElement(element, "ReturnType", {"Type": function.return_type.value, "Nullable": "false"})


def _scopes(entity: EntityType) -> Iterator[tuple[str, EntityType]]:
    """(path prefix, type) for ``entity`` and every type derived from it.

    Members declared below ``entity`` are reached through a cast to their type, as CSDL
    paths are written (``microsoft.graph.industryData.runGroup/runs``).
    """
    for t in entity.subtypes():
        yield ("" if t is entity else f"{t.qualified_name}/"), t


def _property_paths(entity: EntityType) -> Iterator[tuple[str, Property]]:
    for prefix, t in _scopes(entity):
        for prop in t.properties if t is entity else t.own_properties:
            yield prefix + prop.name, prop


def _navigation_paths(entity: EntityType) -> Iterator[tuple[str, NavigationProperty]]:
    for prefix, t in _scopes(entity):
        for nav in t.navigations if t is entity else t.own_navigations:
            yield prefix + nav.name, nav


def _collection_capabilities(
    schema: ET.Element, model: Model, owner: EntityType, nav: NavigationProperty
) -> None:
    """What a collection-valued navigation supports, as the server really answers it."""
    target = model.entity_types[nav.target]
    navigations = list(_navigation_paths(target))
    properties = list(_property_paths(target))
    fixed_links = tuple(path for path, n in navigations if n.read_only)
    annotations = ET.SubElement(
        schema, "Annotations", {"Target": f"{owner.qualified_name}/{nav.name}"}
    )
    if nav.contains_target:
        # Every entity carries an ETag and honours If-Match; where a property holds the
        # ETag, it is named, otherwise the list is empty ("computed from hidden state").
        _annotate(
            annotations,
            f"{CORE}.OptimisticConcurrency",
            _Paths("PropertyPath", tuple(path for path, p in properties if p.etag)),
        )
    _annotate(annotations, f"{CAPABILITIES}.TopSupported", True)
    _annotate(annotations, f"{CAPABILITIES}.SkipSupported", True)
    _annotate(annotations, f"{CAPABILITIES}.CountRestrictions", {"Countable": True})
    _annotate(annotations, f"{CAPABILITIES}.FilterRestrictions", {"Filterable": True})
    # Collection-valued properties have no single value to sort by.
    unsortable = tuple(path for path, p in properties if p.collection)
    sort: dict[str, _Value] = {"Sortable": True}
    if unsortable:
        sort["NonSortableProperties"] = _Paths("PropertyPath", unsortable)
    _annotate(annotations, f"{CAPABILITIES}.SortRestrictions", sort)
    _annotate(annotations, f"{CAPABILITIES}.SearchRestrictions", {"Searchable": True})
    _annotate(
        annotations,
        f"{CAPABILITIES}.ExpandRestrictions",
        {"Expandable": True, "MaxLevels": MAX_EXPAND_LEVELS},
    )
    # Links are set by reference (@odata.bind, $ref), never by nesting an entity in a body.
    insert: dict[str, _Value] = {
        "Insertable": nav.insertable,
        "NonInsertableNavigationProperties": _Paths(
            "NavigationPropertyPath", tuple(path for path, _ in navigations)
        ),
    }
    if nav.insert_note:
        insert["Description"] = nav.insert_note
    _annotate(annotations, f"{CAPABILITIES}.InsertRestrictions", insert)
    update: dict[str, _Value] = {
        "Updatable": True,
        "UpdateMethod": _Member(f"{CAPABILITIES}.HttpMethod/PATCH"),
    }
    delete: dict[str, _Value] = {"Deletable": True}
    if fixed_links:
        update["NonUpdatableNavigationProperties"] = _Paths("NavigationPropertyPath", fixed_links)
        delete["NonDeletableNavigationProperties"] = _Paths("NavigationPropertyPath", fixed_links)
    _annotate(annotations, f"{CAPABILITIES}.UpdateRestrictions", update)
    _annotate(annotations, f"{CAPABILITIES}.DeleteRestrictions", delete)


def _contained(
    model: Model, entity: EntityType, prefix: str = ""
) -> Iterator[tuple[str, NavigationProperty]]:
    """(path from ``entity``, navigation) for every containment navigation below it."""
    for nav in entity.navigations:
        if nav.contains_target:
            path = f"{prefix}{nav.name}"
            yield path, nav
            yield from _contained(model, model.entity_types[nav.target], f"{path}/")


def _bindings(model: Model, singleton: str, singleton_type: EntityType) -> list[tuple[str, str]]:
    """(path, target) for every non-containment navigation reachable from the singleton.

    Each one names the contained collection its entities live in, so a client can tell
    where the process of a run is (``external/industryData/processes``).
    """
    contained = list(_contained(model, singleton_type))
    home: dict[str, str] = {}
    for path, nav in contained:
        if nav.collection:
            home.setdefault(nav.target, f"{singleton}/{path}")
    bindings = []
    for path, nav in contained:
        for member_path, member in _navigation_paths(model.entity_types[nav.target]):
            if not member.contains_target:
                bindings.append((f"{path}/{member_path}", home[member.target]))
    return bindings


def _container(schema: ET.Element, model: Model, singleton: tuple[str, str]) -> None:
    name, type_name = singleton
    container = ET.SubElement(schema, "EntityContainer", {"Name": CONTAINER_NAME})
    element = ET.SubElement(container, "Singleton", {"Name": name, "Type": type_name})
    for path, target in _bindings(model, name, model.entity_types[type_name]):
        ET.SubElement(element, "NavigationPropertyBinding", {"Path": path, "Target": target})
    # No $batch endpoint: say so, since clients assume batch support by default.
    _annotate(container, f"{CAPABILITIES}.BatchSupported", False)
    _annotate(container, f"{CAPABILITIES}.KeyAsSegmentSupported", True)


def write_csdl(model: Model, singleton: tuple[str, str]) -> bytes:
    """CSDL XML for ``model`` with one singleton (name, type) in the entity container."""
    ET.register_namespace("edmx", EDMX_NS)
    root = ET.Element(f"{{{EDMX_NS}}}Edmx", {"Version": "4.0"})
    for namespace, (alias, uri) in VOCABULARIES.items():
        reference = ET.SubElement(root, f"{{{EDMX_NS}}}Reference", {"Uri": uri})
        ET.SubElement(reference, f"{{{EDMX_NS}}}Include", {"Namespace": namespace, "Alias": alias})
    services = ET.SubElement(root, f"{{{EDMX_NS}}}DataServices")
    for namespace in model.namespaces:
        schema = ET.SubElement(services, "Schema", {"Namespace": namespace, "xmlns": EDM_NS})
        for enum in model.enums.values():
            if enum.namespace == namespace:
                _enum(schema, enum)
        for complex_type in model.complex_types.values():
            if complex_type.namespace == namespace:
                _complex(schema, complex_type)
        entities = [e for e in model.entity_types.values() if e.namespace == namespace]
        for entity in entities:
            _entity(schema, entity)
        for entity in entities:
            for function in entity.functions:
                _function(schema, entity, function)
        for entity in entities:
            for nav in entity.own_navigations:
                if nav.collection:
                    _collection_capabilities(schema, model, entity, nav)
        if namespace == CONTAINER_NAMESPACE:
            _container(schema, model, singleton)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
