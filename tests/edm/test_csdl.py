"""``GET /beta/$metadata``: valid CSDL that describes the model of SPEC §2."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import xmlschema
from starlette.testclient import TestClient

from tests.conftest import CONFORMANCE, NS

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
PRIMITIVES = {
    "Edm.Binary",
    "Edm.Boolean",
    "Edm.Byte",
    "Edm.Date",
    "Edm.DateTimeOffset",
    "Edm.Decimal",
    "Edm.Double",
    "Edm.Duration",
    "Edm.Guid",
    "Edm.Int16",
    "Edm.Int32",
    "Edm.Int64",
    "Edm.SByte",
    "Edm.Single",
    "Edm.Stream",
    "Edm.String",
    "Edm.TimeOfDay",
}
_DECLARATIONS = ("EntityType", "ComplexType", "EnumType", "TypeDefinition")


@pytest.fixture(scope="module")
def edmx_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(CONFORMANCE / "odata-csdl-schemas" / "edmx.xsd"))


@pytest.fixture
def metadata(client: TestClient) -> bytes:
    response = client.get("/beta/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    return response.content


@pytest.fixture
def document(metadata: bytes) -> ET.Element:
    return ET.fromstring(metadata)


def _schemas(document: ET.Element) -> Iterator[ET.Element]:
    yield from document.iter(f"{EDM}Schema")


def _declared(document: ET.Element) -> dict[str, ET.Element]:
    found: dict[str, ET.Element] = {}
    for schema in _schemas(document):
        namespace = schema.attrib["Namespace"]
        for kind in _DECLARATIONS:
            for element in schema.findall(f"{EDM}{kind}"):
                found[f"{namespace}.{element.attrib['Name']}"] = element
    return found


def test_metadata_validates_against_the_oasis_edmx_schema(
    edmx_schema: xmlschema.XMLSchema, metadata: bytes
) -> None:
    edmx_schema.validate(metadata.decode())


def test_metadata_is_edmx_version_4(document: ET.Element) -> None:
    assert document.tag == f"{EDMX}Edmx"
    assert document.attrib["Version"] == "4.0"


def test_every_enum_member_has_an_explicit_distinct_value(document: ET.Element) -> None:
    enums = list(document.iter(f"{EDM}EnumType"))
    assert {e.attrib["Name"] for e in enums} >= {
        "runStatus",
        "readinessStatus",
        "dataShareSharingState",
    }
    for enum in enums:
        members = enum.findall(f"{EDM}Member")
        assert members
        values = [m.attrib.get("Value") for m in members]
        assert all(v is not None and re.fullmatch(r"-?\d+", v) for v in values), enum.attrib
        assert len(set(values)) == len(values)


def test_run_status_members_in_spec_order(document: ET.Element) -> None:
    run_status = _declared(document)[f"{NS}.runStatus"]
    assert [m.attrib["Name"] for m in run_status.findall(f"{EDM}Member")] == [
        "running",
        "failed",
        "completed",
        "completedWithErrors",
        "completedWithWarnings",
        "unknownFutureValue",
    ]


def _type_references(document: ET.Element) -> Iterator[tuple[str, str]]:
    """(where, qualified type name) for every type the document refers to."""
    for element in document.iter():
        tag = element.tag.removeprefix(EDM)
        for attribute in ("Type", "BaseType", "EntityType"):
            value = element.attrib.get(attribute)
            if value is None:
                continue
            match = re.fullmatch(r"Collection\((?P<inner>.+)\)", value)
            yield f"{tag} {element.attrib.get('Name', '')}", match["inner"] if match else value


def test_every_type_reference_resolves(document: ET.Element) -> None:
    declared = _declared(document)
    references = list(_type_references(document))
    assert len(references) > 20
    for where, name in references:
        assert name in declared or name in PRIMITIVES, f"{where} refers to unknown type {name}"


def test_the_container_exposes_the_external_singleton(document: ET.Element) -> None:
    declared = _declared(document)
    singletons = list(document.iter(f"{EDM}Singleton"))
    assert [(s.attrib["Name"], s.attrib["Type"]) for s in singletons] == [
        ("external", "microsoft.graph.externalConnectors.external")
    ]
    external = declared["microsoft.graph.externalConnectors.external"]
    navigation = external.find(f"{EDM}NavigationProperty[@Name='industryData']")
    assert navigation is not None
    assert navigation.attrib["Type"] == f"{NS}.industryDataHub"


@pytest.mark.parametrize(
    ("name", "base", "abstract"),
    [
        ("run", "microsoft.graph.entity", True),
        ("outgoingFlowRun", f"{NS}.run", False),
        ("incomingFlowRun", f"{NS}.run", False),
        ("runGroup", f"{NS}.run", False),
        ("mutableEntity", "microsoft.graph.entity", True),
        ("process", f"{NS}.mutableEntity", True),
        ("outgoingFlow", f"{NS}.process", True),
        ("dataShareOutgoingFlow", f"{NS}.outgoingFlow", False),
        ("insightsOutgoingFlow", f"{NS}.outgoingFlow", False),
        ("industryDataHub", f"{NS}.mutableEntity", False),
    ],
)
def test_entity_types_of_the_spec(
    document: ET.Element, name: str, base: str, abstract: bool
) -> None:
    element = _declared(document)[f"{NS}.{name}"]
    assert element.tag == f"{EDM}EntityType"
    assert element.attrib["BaseType"] == base
    assert (element.attrib.get("Abstract") == "true") is abstract


def test_run_properties_and_navigation(document: ET.Element) -> None:
    run = _declared(document)[f"{NS}.run"]
    properties = {p.attrib["Name"]: p.attrib["Type"] for p in run.findall(f"{EDM}Property")}
    assert properties == {
        "displayName": "Edm.String",
        "startDateTime": "Edm.DateTimeOffset",
        "endDateTime": "Edm.DateTimeOffset",
        "status": f"{NS}.runStatus",
        "blockingError": "microsoft.graph.publicError",
        "statistics": f"{NS}.runStatistics",
    }
    navigation = run.find(f"{EDM}NavigationProperty[@Name='process']")
    assert navigation is not None
    assert navigation.attrib["Type"] == f"{NS}.process"


def test_run_statistics_is_an_open_complex_type(document: ET.Element) -> None:
    statistics = _declared(document)[f"{NS}.runStatistics"]
    assert statistics.tag == f"{EDM}ComplexType"
    assert statistics.attrib["OpenType"] == "true"


def test_get_errors_and_warnings_file_is_a_bound_function_on_run_group(
    document: ET.Element,
) -> None:
    functions = [
        f for f in document.iter(f"{EDM}Function") if f.attrib["Name"] == "getErrorsAndWarningsFile"
    ]
    assert len(functions) == 1
    function = functions[0]
    assert function.attrib["IsBound"] == "true"
    parameter = function.find(f"{EDM}Parameter")
    assert parameter is not None
    assert parameter.attrib["Type"] == f"{NS}.runGroup"
    returns = function.find(f"{EDM}ReturnType")
    assert returns is not None
    assert returns.attrib["Type"] == "Edm.String"
