"""The model as CSDL XML, the document served at ``$metadata``.

Besides the types, the document carries annotations from the OASIS Core and Capabilities
vocabularies, so that generic clients know what the server computes and what each collection
supports without trying. The run, process and run-group collections are containment
navigations of the hub (there are no top-level entity sets), so their capabilities are
annotated on those navigations (``industryDataHub/runs``), the way Microsoft Graph annotates
its own contained collections, and repeated by path in the ``NavigationRestrictions`` of the
``external`` singleton, where the OASIS vocabulary puts restrictions of contained collections.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from flowruns.edm.capabilities import BATCH_FORMATS, MAX_EXPAND_DEPTH
from flowruns.edm.model import (
    ComplexType,
    EntityType,
    EnumType,
    Function,
    Model,
    NavigationProperty,
    Property,
    Term,
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


@dataclass(frozen=True)
class _Paths:
    """A collection of paths in a record, e.g. ``NonSortableProperties``."""

    kind: str  # "PropertyPath" or "NavigationPropertyPath"
    paths: tuple[str, ...]


@dataclass(frozen=True)
class _NavigationPath:
    """One navigation property path as a value, e.g. ``industryData/runs``."""

    path: str


@dataclass(frozen=True)
class _Member:
    """An enumeration member as an annotation value, e.g. ``…HttpMethod/PATCH``."""

    name: str


# A dict is a record, a list a collection of records.
_Value = (
    bool | int | str | _Paths | _NavigationPath | _Member | dict[str, "_Value"] | list["_Value"]
)


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
        case _NavigationPath():
            element.set("NavigationPropertyPath", value.path)
        case _Paths():
            collection = ET.SubElement(element, "Collection")
            for path in value.paths:
                ET.SubElement(collection, value.kind).text = path
        case dict():
            _record(element, value)
        case list():
            collection = ET.SubElement(element, "Collection")
            for item in value:
                if isinstance(item, str):
                    ET.SubElement(collection, "String").text = item
                else:
                    assert isinstance(item, dict)
                    _record(collection, item)


def _record(parent: ET.Element, value: dict[str, _Value]) -> None:
    record = ET.SubElement(parent, "Record")
    for name, item in value.items():
        _constant(ET.SubElement(record, "PropertyValue", {"Property": name}), item)


def _annotate(parent: ET.Element, term: str, value: _Value) -> None:
    _constant(ET.SubElement(parent, "Annotation", {"Term": term}), value)


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
    if prop.read_only and not prop.key:
        # Clients leave these out of create and update bodies. Not the key, as Graph: generic
        # clients (python-odata) build an insert body without Computed properties and then
        # fail on the key missing from it; a server-assigned key is said in its description.
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


def _term(schema: ET.Element, term: Term) -> None:
    attrs = {"Name": term.name, "Type": term.type.qualified_name, "AppliesTo": term.applies_to}
    _describe(ET.SubElement(schema, "Term", attrs), term.description)


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
    if function.collection:
        # As Microsoft Graph declares delta(): bound to the collection, returning its entities.
        entities = f"Collection({entity.qualified_name})"
        ET.SubElement(element, "Parameter", {"Name": "bindingParameter", "Type": entities})
        ET.SubElement(element, "ReturnType", {"Type": entities})
        return
    assert function.return_type is not None
    ET.SubElement(
        element,
        "Parameter",
        {"Name": "bindingParameter", "Type": entity.qualified_name, "Nullable": "false"},
    )
    ET.SubElement(element, "ReturnType", {"Type": function.return_type.value, "Nullable": "false"})


def _change_tracking(model: Model, nav: NavigationProperty) -> dict[str, _Value] | None:
    """``Capabilities.ChangeTracking`` of a contained collection whose type has ``delta()``:
    its changes can be followed, filtered on any single-valued property, never expanded."""
    target = model.entity_types[nav.target]
    if not nav.contains_target or target.function("delta") is None:
        return None
    filterable = tuple(path for path, p in _property_paths(target) if not p.collection)
    return {
        "Supported": True,
        "FilterableProperties": _Paths("PropertyPath", filterable),
        "ExpandableProperties": _Paths("NavigationPropertyPath", ()),
    }


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


def _restrictions(model: Model, nav: NavigationProperty) -> dict[str, _Value]:
    """Capabilities terms (by name) of a collection-valued navigation, as the server answers."""
    target = model.entity_types[nav.target]
    navigations = list(_navigation_paths(target))
    # Collection-valued properties have no single value to sort by.
    unsortable = tuple(path for path, p in _property_paths(target) if p.collection)
    fixed_links = tuple(path for path, n in navigations if n.read_only)
    sort: dict[str, _Value] = {"Sortable": True}
    if unsortable:
        sort["NonSortableProperties"] = _Paths("PropertyPath", unsortable)
    # Links are set by reference (@odata.bind, $ref), never by nesting an entity in a body.
    insert: dict[str, _Value] = {
        "Insertable": nav.insertable,
        "NonInsertableNavigationProperties": _Paths(
            "NavigationPropertyPath", tuple(path for path, _ in navigations)
        ),
    }
    if nav.insert_note:
        insert["Description"] = nav.insert_note
    update: dict[str, _Value] = {
        "Updatable": True,
        "UpdateMethod": _Member(f"{CAPABILITIES}.HttpMethod/PATCH"),
    }
    delete: dict[str, _Value] = {"Deletable": True}
    if fixed_links:
        update["NonUpdatableNavigationProperties"] = _Paths("NavigationPropertyPath", fixed_links)
        delete["NonDeletableNavigationProperties"] = _Paths("NavigationPropertyPath", fixed_links)
    return {
        "TopSupported": True,
        "SkipSupported": True,
        "CountRestrictions": {"Countable": True},
        "FilterRestrictions": {"Filterable": True},
        "SortRestrictions": sort,
        "SearchRestrictions": {"Searchable": True},
        "ExpandRestrictions": {"Expandable": True, "MaxLevels": MAX_EXPAND_DEPTH},
        "InsertRestrictions": insert,
        "UpdateRestrictions": update,
        "DeleteRestrictions": delete,
    }


def _collection_capabilities(
    schema: ET.Element, model: Model, owner: EntityType, nav: NavigationProperty
) -> None:
    """The restrictions of a collection-valued navigation, annotated on the navigation."""
    annotations = ET.SubElement(
        schema, "Annotations", {"Target": f"{owner.qualified_name}/{nav.name}"}
    )
    if nav.contains_target:
        # Every entity carries an ETag and honours If-Match; where a property holds the
        # ETag, it is named, otherwise the list is empty ("computed from hidden state").
        etag = tuple(path for path, p in _property_paths(model.entity_types[nav.target]) if p.etag)
        _annotate(annotations, f"{CORE}.OptimisticConcurrency", _Paths("PropertyPath", etag))
    for term, value in _restrictions(model, nav).items():
        _annotate(annotations, f"{CAPABILITIES}.{term}", value)
    tracking = _change_tracking(model, nav)
    if tracking is not None:
        _annotate(annotations, f"{CAPABILITIES}.ChangeTracking", tracking)


# The restrictions of a collection that a NavigationPropertyRestriction record also carries.
_PATH_RESTRICTIONS = (
    "TopSupported",
    "SkipSupported",
    "FilterRestrictions",
    "SearchRestrictions",
    "SortRestrictions",
    "InsertRestrictions",
    "UpdateRestrictions",
    "DeleteRestrictions",
)
_UNCHANGEABLE: dict[str, _Value] = {
    "UpdateRestrictions": {"Updatable": False},
    "DeleteRestrictions": {"Deletable": False},
}


def _path_restrictions(model: Model, singleton_type: EntityType) -> list[_Value]:
    """The same restrictions again, by path from the singleton (``industryData/runs``).

    Tools that follow the OASIS vocabulary literally read restrictions of contained
    collections only from the singleton's ``NavigationRestrictions``.
    """
    records: list[_Value] = []
    for path, nav in _contained(model, singleton_type):
        target = model.entity_types[nav.target]
        if not nav.collection:
            if target.read_only:
                records.append({"NavigationProperty": _NavigationPath(path), **_UNCHANGEABLE})
            continue
        walks = [(path, nav)]
        walks += [
            (f"{path}/{n.name}", n)
            for n in target.navigations
            if n.collection and not n.contains_target
        ]
        for walk_path, walk_nav in walks:
            restrictions = _restrictions(model, walk_nav)
            record: dict[str, _Value] = {"NavigationProperty": _NavigationPath(walk_path)}
            record.update((term, restrictions[term]) for term in _PATH_RESTRICTIONS)
            records.append(record)
    return records


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
    where the process of a run is (``external/industryData/processes``). Entities contained
    in more than one collection (a dataset access: a run's inputs or outputs) get none: no one
    collection holds them all, and each names its own address (``@odata.id``).
    """
    contained = list(_contained(model, singleton_type))
    # Per type, the collections below the singleton that contain it: the hub's own if any.
    top: dict[str, set[str]] = {}
    nested: dict[str, set[str]] = {}
    for path, nav in contained:
        if nav.collection:
            (nested if "/" in path else top).setdefault(nav.target, set()).add(
                f"{singleton}/{path}"
            )
    homes = {**nested, **top}
    bindings = []
    for path, nav in contained:
        for member_path, member in _navigation_paths(model.entity_types[nav.target]):
            if not member.contains_target and len(homes[member.target]) == 1:
                (home,) = homes[member.target]
                bindings.append((f"{path}/{member_path}", home))
    return bindings


def _container(
    schema: ET.Element,
    model: Model,
    singleton: tuple[str, str],
    entity_sets: tuple[tuple[str, str], ...],
) -> None:
    name, type_name = singleton
    singleton_type = model.entity_types[type_name]
    container = ET.SubElement(schema, "EntityContainer", {"Name": CONTAINER_NAME})
    for set_name, set_type in entity_sets:
        ET.SubElement(container, "EntitySet", {"Name": set_name, "EntityType": set_type})
    element = ET.SubElement(container, "Singleton", {"Name": name, "Type": type_name})
    for path, target in _bindings(model, name, singleton_type):
        ET.SubElement(element, "NavigationPropertyBinding", {"Path": path, "Target": target})
    if singleton_type.read_only:
        for term, value in _UNCHANGEABLE.items():
            _annotate(element, f"{CAPABILITIES}.{term}", value)
    _annotate(
        element,
        f"{CAPABILITIES}.NavigationRestrictions",
        {"RestrictedProperties": _path_restrictions(model, singleton_type)},
    )
    # JSON batching, as Graph offers it: no multipart batches, and no references from one
    # request to another's result; dependsOn orders requests.
    _annotate(container, f"{CAPABILITIES}.BatchSupported", True)
    _annotate(
        container,
        f"{CAPABILITIES}.BatchSupport",
        {
            "Supported": True,
            "ReferencesInRequestBodiesSupported": False,
            "ReferencesAcrossChangeSetsSupported": False,
            "EtagReferencesSupported": False,
            "RequestDependencyConditionsSupported": False,
            "SupportedFormats": [*BATCH_FORMATS],
        },
    )
    _annotate(container, f"{CAPABILITIES}.KeyAsSegmentSupported", True)


def write_csdl(
    model: Model, singleton: tuple[str, str], entity_sets: tuple[tuple[str, str], ...] = ()
) -> bytes:
    """CSDL XML for ``model`` with one singleton (name, type) and ``entity_sets`` (name, type)
    at the root of the entity container."""
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
        for term in model.terms.values():
            if term.namespace == namespace:
                _term(schema, term)
        entities = [e for e in model.entity_types.values() if e.namespace == namespace]
        for entity in entities:
            _entity(schema, entity)
        for entity in model.entity_types.values():
            for function in entity.functions:
                if (function.namespace or entity.namespace) == namespace:
                    _function(schema, entity, function)
        for entity in entities:
            for nav in entity.own_navigations:
                if nav.collection:
                    _collection_capabilities(schema, model, entity, nav)
        if namespace == CONTAINER_NAMESPACE:
            _container(schema, model, singleton, entity_sets)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
