"""The model as CSDL XML, the document served at ``$metadata``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flowruns.edm.model import ComplexType, EntityType, EnumType, Model, Property

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
CONTAINER_NAMESPACE = "microsoft.graph"


def _property(parent: ET.Element, prop: Property) -> None:
    attrs = {"Name": prop.name, "Type": prop.type_name}
    if not prop.nullable:
        attrs["Nullable"] = "false"
    if prop.max_length is not None and not isinstance(prop.type, EnumType | ComplexType):
        attrs["MaxLength"] = str(prop.max_length)
    ET.SubElement(parent, "Property", attrs)


def _enum(schema: ET.Element, enum: EnumType) -> None:
    element = ET.SubElement(schema, "EnumType", {"Name": enum.name})
    for value, member in enumerate(enum.members):
        ET.SubElement(element, "Member", {"Name": member, "Value": str(value)})


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
        nav_attrs = {
            "Name": nav.name,
            "Type": f"Collection({nav.target})" if nav.collection else nav.target,
        }
        if nav.contains_target:
            nav_attrs["ContainsTarget"] = "true"
        ET.SubElement(element, "NavigationProperty", nav_attrs)
    for function in entity.functions:
        fn = ET.SubElement(schema, "Function", {"Name": function.name, "IsBound": "true"})
        ET.SubElement(fn, "Parameter", {"Name": "bindingParameter", "Type": entity.qualified_name})
        ET.SubElement(fn, "ReturnType", {"Type": function.return_type.value, "Nullable": "false"})


def write_csdl(model: Model, singleton: tuple[str, str]) -> bytes:
    """CSDL XML for ``model`` with one singleton (name, type) in the entity container."""
    ET.register_namespace("edmx", EDMX_NS)
    root = ET.Element(f"{{{EDMX_NS}}}Edmx", {"Version": "4.0"})
    services = ET.SubElement(root, f"{{{EDMX_NS}}}DataServices")
    for namespace in model.namespaces:
        schema = ET.SubElement(services, "Schema", {"Namespace": namespace, "xmlns": EDM_NS})
        for enum in model.enums.values():
            if enum.namespace == namespace:
                _enum(schema, enum)
        for complex_type in model.complex_types.values():
            if complex_type.namespace == namespace:
                _complex(schema, complex_type)
        for entity in model.entity_types.values():
            if entity.namespace == namespace:
                _entity(schema, entity)
        if namespace == CONTAINER_NAMESPACE:
            container = ET.SubElement(schema, "EntityContainer", {"Name": "GraphService"})
            ET.SubElement(container, "Singleton", {"Name": singleton[0], "Type": singleton[1]})
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
