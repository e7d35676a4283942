"""``GET /beta/$metadata``: valid CSDL that describes the model of SPEC §2, exactly.

Beyond validity, these tests read the document the way a generic OData client does: every
name it uses must lead somewhere, and every capability it announces must be what the server
answers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

import pytest
import xmlschema
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.edm.industrydata import MODEL
from flowruns.edm.model import ComplexType, EntityType
from flowruns.settings import Settings
from tests.api.steps import add_member, create_group, create_process, create_run
from tests.conftest import HUB, NS, SECRET_KEY, bearer, conformance_file

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
_TYPE_KINDS = ("EntityType", "ComplexType", "EnumType", "TypeDefinition")
_DECLARATIONS = (*_TYPE_KINDS, "EntityContainer")
CORE = "Org.OData.Core.V1"
CAPABILITIES = "Org.OData.Capabilities.V1"


@pytest.fixture(scope="module")
def edmx_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(conformance_file("odata-csdl-schemas/edmx.xsd")))


@pytest.fixture(scope="module")
def metadata(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The document, fetched once: it is the same on every database engine."""
    data_dir = tmp_path_factory.mktemp("metadata") / "data"
    settings = Settings(data_dir=data_dir, secret_key=SECRET_KEY)
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        response = client.get("/beta/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    return response.content


@pytest.fixture(scope="module")
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


# -- resolving names the way a client does ------------------------------------------------


def _inner(type_name: str) -> str:
    match = re.fullmatch(r"Collection\((?P<inner>.+)\)", type_name)
    return match["inner"] if match else type_name


class _Names:
    """Looks names of the document up: types, their members (inherited too), paths."""

    def __init__(self, document: ET.Element) -> None:
        self.declared = _declared(document)
        self.vocabularies = {
            name
            for include in document.iter(f"{EDMX}Include")
            for name in (include.attrib["Namespace"], include.attrib.get("Alias"))
            if name
        }
        containers = [e for e in self.declared.values() if e.tag == f"{EDM}EntityContainer"]
        assert len(containers) == 1
        self.container = containers[0]

    def lineage(self, type_name: str) -> list[str]:
        chain = [type_name]
        while (base := self.declared[chain[-1]].attrib.get("BaseType")) is not None:
            chain.append(base)
        return chain

    def derives(self, type_name: str, base: str) -> bool:
        return base in self.lineage(type_name)

    def member(self, type_name: str, name: str) -> ET.Element | None:
        for t in self.lineage(type_name):
            for kind in ("Property", "NavigationProperty"):
                found = self.declared[t].find(f"{EDM}{kind}[@Name='{name}']")
                if found is not None:
                    return found
        return None

    def walk(self, type_name: str, path: str) -> list[ET.Element]:
        """The members a path goes through from ``type_name``; casts narrow the type."""
        members: list[ET.Element] = []
        current = type_name
        for segment in path.split("/"):
            if "." in segment:
                assert segment in self.declared, f"{path}: unknown cast {segment}"
                assert self.derives(segment, current), f"{path}: {segment} is not a {current}"
                current = segment
                continue
            member = self.member(current, segment)
            assert member is not None, f"{path}: {current} has no member {segment}"
            members.append(member)
            current = _inner(member.attrib["Type"])
        assert members, f"{path} names no member"
        return members

    def singleton_type(self, name: str) -> str:
        singleton = self.container.find(f"{EDM}Singleton[@Name='{name}']")
        assert singleton is not None, f"no singleton {name}"
        return singleton.attrib["Type"]


@pytest.fixture(scope="module")
def names(document: ET.Element) -> _Names:
    return _Names(document)


def _declaring_types(document: ET.Element) -> Iterator[tuple[str, ET.Element]]:
    for schema in _schemas(document):
        for element in schema.findall(f"{EDM}EntityType"):
            yield f"{schema.attrib['Namespace']}.{element.attrib['Name']}", element


def test_every_annotation_target_and_path_resolves(document: ET.Element, names: _Names) -> None:
    container_name = f"microsoft.graph.{names.container.attrib['Name']}"
    targets = [a.attrib["Target"] for a in document.iter(f"{EDM}Annotations")]
    assert len(targets) >= 5
    for target in targets:
        owner, _, member = target.partition("/")
        assert owner in names.declared or owner == container_name, target
        if not member:
            continue
        found = names.member(owner, member)
        assert found is not None, f"annotation target {target} names nothing"
        for kind in ("PropertyPath", "NavigationPropertyPath"):
            for path in document.findall(f".//{EDM}Annotations[@Target='{target}']//{EDM}{kind}"):
                walked = names.walk(_inner(found.attrib["Type"]), path.text or "")
                last = walked[-1].tag.removeprefix(EDM)
                assert last == kind.removesuffix("Path"), f"{target}: {path.text} is a {last}"


def test_every_annotation_uses_a_referenced_vocabulary(document: ET.Element, names: _Names) -> None:
    assert names.vocabularies >= {CORE, CAPABILITIES}
    annotations = list(document.iter(f"{EDM}Annotation"))
    assert annotations
    for annotation in annotations:
        term = annotation.attrib["Term"]
        assert term.rsplit(".", 1)[0] in names.vocabularies, term
        enum_members = [annotation.attrib.get("EnumMember")]
        enum_members += [v.attrib.get("EnumMember") for v in annotation.iter(f"{EDM}PropertyValue")]
        for value in filter(None, enum_members):
            enum_type = value.split("/")[0]
            assert enum_type.rsplit(".", 1)[0] in names.vocabularies, value


def test_vocabularies_are_referenced_where_oasis_publishes_them(document: ET.Element) -> None:
    references = {
        r.attrib["Uri"]: [i.attrib["Namespace"] for i in r.findall(f"{EDMX}Include")]
        for r in document.findall(f"{EDMX}Reference")
    }
    base = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies"
    assert references == {
        f"{base}/{CORE}.xml": [CORE],
        f"{base}/{CAPABILITIES}.xml": [CAPABILITIES],
    }


def test_partners_are_mutual(document: ET.Element, names: _Names) -> None:
    partnered = 0
    for declaring, entity in _declaring_types(document):
        for nav in entity.findall(f"{EDM}NavigationProperty[@Partner]"):
            partnered += 1
            target = _inner(nav.attrib["Type"])
            partner = names.member(target, nav.attrib["Partner"])
            assert partner is not None, f"{declaring}/{nav.attrib['Name']}: no partner"
            assert partner.tag == f"{EDM}NavigationProperty"
            assert partner.attrib.get("Partner") == nav.attrib["Name"]
            assert names.derives(declaring, _inner(partner.attrib["Type"]))
    # A run's and an incident's process, the process's runs and incidents, an incident's dataset
    # and the dataset's incidents.
    assert partnered == 6


def test_run_process_and_process_runs_are_one_relationship(
    document: ET.Element, names: _Names
) -> None:
    run_process = names.member(f"{NS}.run", "process")
    process_runs = names.member(f"{NS}.process", "runs")
    assert run_process is not None
    assert process_runs is not None
    assert run_process.attrib["Partner"] == "runs"
    assert process_runs.attrib["Partner"] == "process"
    # A run need not have a process; neither side contains the other.
    assert run_process.attrib.get("Nullable", "true") == "true"
    assert "ContainsTarget" not in run_process.attrib
    assert "ContainsTarget" not in process_runs.attrib
    # Group membership is one-way: a run does not know its groups.
    group_runs = names.member(f"{NS}.runGroup", "runs")
    assert group_runs is not None
    assert "Partner" not in group_runs.attrib


def test_containment_follows_graph(names: _Names) -> None:
    """``external/industryData`` and the hub's collections contain their entities."""
    hub_nav = names.member("microsoft.graph.externalConnectors.external", "industryData")
    assert hub_nav is not None
    assert hub_nav.attrib["ContainsTarget"] == "true"
    assert hub_nav.attrib["Nullable"] == "false"
    for name, target in (("runs", "run"), ("processes", "process"), ("runGroups", "runGroup")):
        nav = names.member(f"{NS}.industryDataHub", name)
        assert nav is not None
        assert nav.attrib["Type"] == f"Collection({NS}.{target})"
        assert nav.attrib["ContainsTarget"] == "true"


def test_every_navigation_binding_resolves(names: _Names) -> None:
    singleton = names.container.find(f"{EDM}Singleton")
    assert singleton is not None
    bindings = singleton.findall(f"{EDM}NavigationPropertyBinding")
    start = singleton.attrib["Type"]
    for binding in bindings:
        path, target = binding.attrib["Path"], binding.attrib["Target"]
        walked = names.walk(start, path)
        *through, bound = walked
        assert all(m.attrib.get("ContainsTarget") == "true" for m in through), path
        assert bound.tag == f"{EDM}NavigationProperty", path
        assert "ContainsTarget" not in bound.attrib, f"{path}: containment needs no binding"
        first, _, rest = target.partition("/")
        home = names.walk(names.singleton_type(first), rest)[-1]
        assert home.attrib.get("ContainsTarget") == "true", target
        assert _inner(home.attrib["Type"]) == _inner(bound.attrib["Type"]), (path, target)
    assert {(b.attrib["Path"], b.attrib["Target"]) for b in bindings} == {
        ("industryData/runs/process", "external/industryData/processes"),
        (f"industryData/runs/{NS}.runGroup/runs", "external/industryData/runs"),
        ("industryData/processes/runs", "external/industryData/runs"),
        ("industryData/runGroups/process", "external/industryData/processes"),
        ("industryData/runGroups/runs", "external/industryData/runs"),
        ("industryData/processes/incidents", "external/industryData/incidents"),
        ("industryData/incidents/process", "external/industryData/processes"),
        ("industryData/datasets/incidents", "external/industryData/incidents"),
        ("industryData/incidents/dataset", "external/industryData/datasets"),
        # A dataset access lives in a run's inputs or outputs: its run and dataset are bound,
        # a dataset's writes and reads (in either) are not.
        *(
            (f"industryData/{runs}/{side}/{nav}", f"external/industryData/{target}")
            for runs in ("runs", "runGroups")
            for side in ("inputs", "outputs")
            for nav, target in (("run", "runs"), ("dataset", "datasets"))
        ),
    }


# -- the document is the model ------------------------------------------------------------


def _structured_types() -> Iterator[EntityType | ComplexType]:
    yield from MODEL.entity_types.values()
    yield from MODEL.complex_types.values()


@pytest.mark.parametrize("declared", list(_structured_types()), ids=lambda t: t.qualified_name)
def test_every_member_of_the_model_appears(
    document: ET.Element, declared: EntityType | ComplexType
) -> None:
    element = _declared(document)[declared.qualified_name]
    own = declared.own_properties if isinstance(declared, EntityType) else declared.properties
    properties = {p.attrib["Name"]: p.attrib for p in element.findall(f"{EDM}Property")}
    assert list(properties) == [p.name for p in own]
    for prop in own:
        attrs = properties[prop.name]
        assert attrs["Type"] == prop.type_name
        assert attrs.get("Nullable", "true") == ("true" if prop.nullable else "false")
    navs = {n.attrib["Name"]: n.attrib for n in element.findall(f"{EDM}NavigationProperty")}
    declared_navs = declared.own_navigations if isinstance(declared, EntityType) else ()
    assert list(navs) == [n.name for n in declared_navs]
    for nav in declared_navs:
        expected = f"Collection({nav.target})" if nav.collection else nav.target
        assert navs[nav.name]["Type"] == expected


def test_every_type_of_the_model_is_declared_once(document: ET.Element) -> None:
    names = [
        f"{schema.attrib['Namespace']}.{element.attrib['Name']}"
        for schema in _schemas(document)
        for kind in _TYPE_KINDS
        for element in schema.findall(f"{EDM}{kind}")
    ]
    assert sorted(names) == sorted([*MODEL.entity_types, *MODEL.complex_types, *MODEL.enums])


def test_server_assigned_properties_are_computed(document: ET.Element) -> None:
    """Clients leave computed properties out of what they send, and only those. Not the key, as
    in Graph's own CSDL: python-odata drops Computed properties from an insert body and then
    fails looking for the key in it."""
    computed = set()
    for declaring, entity in _declaring_types(document):
        for prop in entity.findall(f"{EDM}Property"):
            terms = {a.attrib["Term"]: a.attrib for a in prop.findall(f"{EDM}Annotation")}
            if f"{CORE}.Computed" in terms:
                assert terms[f"{CORE}.Computed"]["Bool"] == "true"
                permission = terms[f"{CORE}.Permissions"]["EnumMember"]
                assert permission == f"{CORE}.Permission/Read"
                computed.add(f"{declaring}/{prop.attrib['Name']}")
    # An OpenLineage job's namespace and name come from its events; a subscription's application
    # and creator from the token that created it; health and incidents from the evaluation.
    evaluated = {
        f"flowruns.{entity}/{name}"
        for entity, names in (
            (
                "processHealth",
                ("state", "changedDateTime", "nextExpectedDateTime", "recentExpectedDateTimes"),
            ),
            (
                "incident",
                (
                    "kind",
                    "datasetId",
                    "runId",
                    "openedDateTime",
                    "resolvedDateTime",
                    "expectedDateTime",
                    "occurrences",
                    "message",
                ),
            ),
            (
                "freshnessExpectation",
                ("lastModifiedDateTime", "state", "changedDateTime", "writeDueDateTime"),
            ),
        )
        for name in names
    }
    # Datasets and what a run's access copies of its run and dataset are the server's.
    recorded = {
        f"flowruns.dataset/{name}"
        for name in (
            "namespace",
            "name",
            "facets",
            "createdDateTime",
            "lastModifiedDateTime",
            "lastWrittenDateTime",
            "lastWrittenRunId",
        )
    } | {
        f"flowruns.datasetAccess/{name}"
        for name in (
            "direction",
            "datasetId",
            "runId",
            "runStatus",
            "runStartDateTime",
            "runEndDateTime",
        )
    }
    assert computed == evaluated | recorded | {
        "flowruns.expectation/lastModifiedDateTime",
        f"{NS}.mutableEntity/eTag",
        "flowruns.openLineageJob/jobNamespace",
        "flowruns.openLineageJob/jobName",
        "microsoft.graph.subscription/applicationId",
        "microsoft.graph.subscription/creatorId",
    }


def test_the_key_is_described_as_server_assigned_without_annotations_that_block_inserts(
    document: ET.Element,
) -> None:
    keys = {
        f"{declaring}/{ref.attrib['Name']}"
        for declaring, entity in _declaring_types(document)
        for ref in entity.findall(f"{EDM}Key/{EDM}PropertyRef")
    }
    assert keys == {"microsoft.graph.entity/id"}
    entity = _declared(document)["microsoft.graph.entity"]
    key = entity.find(f"{EDM}Property[@Name='id']")
    assert key is not None
    terms = {a.attrib["Term"]: a.attrib for a in key.findall(f"{EDM}Annotation")}
    assert set(terms) == {f"{CORE}.Description"}
    assert "assigned by the server" in terms[f"{CORE}.Description"]["String"]
    # Nor out of line, in an Annotations element aimed at it.
    aimed = document.findall(f".//{EDM}Annotations[@Target='microsoft.graph.entity/id']")
    assert aimed == []


# -- capabilities, checked against what the server answers -------------------------------


def _capabilities(document: ET.Element, target: str) -> dict[str, ET.Element]:
    annotations = document.find(f".//{EDM}Annotations[@Target='{target}']")
    assert annotations is not None, f"no annotations for {target}"
    return {a.attrib["Term"]: a for a in annotations.findall(f"{EDM}Annotation")}


def _record(element: ET.Element) -> dict[str, ET.Element]:
    """The property values of a record, or of the record an annotation or value holds."""
    record = element if element.tag == f"{EDM}Record" else element.find(f"{EDM}Record")
    assert record is not None
    return {v.attrib["Property"]: v for v in record.findall(f"{EDM}PropertyValue")}


def _paths(value: ET.Element | None) -> set[str]:
    return (
        set() if value is None else {p.text or "" for p in value.iter() if p.tag.endswith("Path")}
    )


COLLECTIONS = [
    f"{NS}.industryDataHub/runs",
    f"{NS}.industryDataHub/processes",
    f"{NS}.industryDataHub/runGroups",
    f"{NS}.process/runs",
    f"{NS}.runGroup/runs",
]


@pytest.mark.parametrize("target", COLLECTIONS)
def test_every_collection_announces_the_query_options_of_the_spec(
    document: ET.Element, target: str
) -> None:
    terms = _capabilities(document, target)
    assert terms[f"{CAPABILITIES}.TopSupported"].attrib["Bool"] == "true"
    assert terms[f"{CAPABILITIES}.SkipSupported"].attrib["Bool"] == "true"
    for term, flag in (
        ("CountRestrictions", "Countable"),
        ("FilterRestrictions", "Filterable"),
        ("SortRestrictions", "Sortable"),
        ("SearchRestrictions", "Searchable"),
        ("ExpandRestrictions", "Expandable"),
    ):
        assert _record(terms[f"{CAPABILITIES}.{term}"])[flag].attrib["Bool"] == "true", term
    expand = _record(terms[f"{CAPABILITIES}.ExpandRestrictions"])
    assert expand["MaxLevels"].attrib["Int"] == "2"


def test_collection_valued_properties_are_not_sortable(document: ET.Element) -> None:
    sort = _record(_capabilities(document, COLLECTIONS[1])[f"{CAPABILITIES}.SortRestrictions"])
    assert _paths(sort.get("NonSortableProperties")) == {
        f"{NS}.dataShareOutgoingFlow/inviteeUserIds"
    }


def test_contained_collections_announce_etag_concurrency(document: ET.Element) -> None:
    """Processes name the property that holds their ETag; runs keep it out of the body."""
    concurrency = {
        target: _paths(_capabilities(document, target).get(f"{CORE}.OptimisticConcurrency"))
        for target in COLLECTIONS[:3]
    }
    assert concurrency == {COLLECTIONS[0]: set(), COLLECTIONS[1]: {"eTag"}, COLLECTIONS[2]: set()}


def test_the_container_announces_json_batches_and_key_as_segment(names: _Names) -> None:
    annotations = {a.attrib["Term"]: a for a in names.container.findall(f"{EDM}Annotation")}
    assert annotations[f"{CAPABILITIES}.BatchSupported"].attrib["Bool"] == "true"
    assert annotations[f"{CAPABILITIES}.KeyAsSegmentSupported"].attrib["Bool"] == "true"
    support = annotations[f"{CAPABILITIES}.BatchSupport"].find(f"{EDM}Record")
    assert support is not None
    values = {v.attrib["Property"]: v for v in support.findall(f"{EDM}PropertyValue")}
    assert values["Supported"].attrib["Bool"] == "true"
    formats = values["SupportedFormats"].findall(f"{EDM}Collection/{EDM}String")
    assert [f.text for f in formats] == ["application/json"]


def test_batch_is_served_as_announced(client: TestClient) -> None:
    request = {"id": "1", "method": "GET", "url": "/external/industryData/runs/$count"}
    response = client.post("/beta/$batch", json={"requests": [request]})
    assert response.status_code == 200
    assert response.json()["responses"] == [
        {
            "id": "1",
            "status": 200,
            "headers": response.json()["responses"][0]["headers"],
            "body": "MA==",  # "0", in base64 as Graph writes a non-JSON body
        }
    ]


def _collection_urls(client: TestClient) -> dict[str, str]:
    """A URL of every annotated collection, with a process, a group and a member run."""
    process = create_process(client)
    run = create_run(client, collection=f"{HUB}/processes/{process['id']}/runs")
    group = create_group(client)
    assert add_member(client, group["id"], run["id"]).status_code == 204
    return {
        COLLECTIONS[0]: f"{HUB}/runs",
        COLLECTIONS[1]: f"{HUB}/processes",
        COLLECTIONS[2]: f"{HUB}/runGroups",
        COLLECTIONS[3]: f"{HUB}/processes/{process['id']}/runs",
        COLLECTIONS[4]: f"{HUB}/runGroups/{group['id']}/runs",
    }


_NEW_ENTITY: dict[str, Callable[[], dict[str, str]]] = {
    COLLECTIONS[1]: lambda: {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "n"},
    COLLECTIONS[2]: lambda: {"displayName": "n"},
}


@pytest.mark.parametrize("target", COLLECTIONS)
def test_insert_update_delete_restrictions_match_the_server(
    client: TestClient, document: ET.Element, target: str
) -> None:
    url = _collection_urls(client)[target]
    terms = _capabilities(document, target)
    body = _NEW_ENTITY.get(
        target, lambda: {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "n"}
    )()
    insertable = _record(terms[f"{CAPABILITIES}.InsertRestrictions"])["Insertable"]
    created = client.post(url, json=body)
    assert (created.status_code == 201) == (insertable.attrib["Bool"] == "true"), created.text
    existing = client.get(url).json()["value"][0]["id"]
    update = _record(terms[f"{CAPABILITIES}.UpdateRestrictions"])
    assert update["Updatable"].attrib["Bool"] == "true"
    assert update["UpdateMethod"].attrib["EnumMember"] == f"{CAPABILITIES}.HttpMethod/PATCH"
    assert client.patch(f"{url}/{existing}", json={"displayName": "m"}).status_code == 200
    assert client.put(f"{url}/{existing}", json={"displayName": "m"}).status_code == 405
    delete = _record(terms[f"{CAPABILITIES}.DeleteRestrictions"])
    assert delete["Deletable"].attrib["Bool"] == "true"
    assert client.delete(f"{url}/{existing}").status_code == 204


def test_process_runs_links_cannot_be_changed_from_the_process(
    client: TestClient, document: ET.Element
) -> None:
    terms = _capabilities(document, COLLECTIONS[1])
    for term, value in (
        ("UpdateRestrictions", "NonUpdatableNavigationProperties"),
        ("DeleteRestrictions", "NonDeletableNavigationProperties"),
    ):
        # The runs are linked from the run; health and incidents are the evaluation's.
        not_here = {"runs", "health", "incidents"}
        assert _paths(_record(terms[f"{CAPABILITIES}.{term}"]).get(value)) == not_here, term
    urls = _collection_urls(client)
    run = client.get(urls[COLLECTIONS[3]]).json()["value"][0]
    reference = {"@odata.id": f"http://testserver{HUB}/runs/{run['id']}"}
    assert client.post(f"{urls[COLLECTIONS[3]]}/$ref", json=reference).status_code == 405
    assert client.delete(f"{urls[COLLECTIONS[3]]}/{run['id']}/$ref").status_code == 405


def test_nested_entities_are_never_inserted(client: TestClient, document: ET.Element) -> None:
    """Links are made by reference; a body that nests a related entity is refused."""
    for target in COLLECTIONS:
        insert = _record(_capabilities(document, target)[f"{CAPABILITIES}.InsertRestrictions"])
        non_insertable = _paths(insert.get("NonInsertableNavigationProperties"))
        # A run's inputs and outputs are recorded with POST runs/{id}/inputs or outputs.
        every_link = {"process", f"{NS}.runGroup/runs", "inputs", "outputs"}
        if target == COLLECTIONS[1]:
            every_link = {"runs", "expectation", "health", "incidents"}
        if target == COLLECTIONS[2]:
            every_link = {"process", "runs", "inputs", "outputs"}
        assert non_insertable == every_link, target
    nested = {
        "@odata.type": f"#{NS}.outgoingFlowRun",
        "displayName": "n",
        "process": {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "p"},
    }
    assert client.post(f"{HUB}/runs", json=nested).status_code == 400


# -- the same restrictions by path from the singleton, for tools that read only those -----


def _canonical(element: ET.Element) -> str:
    """An element's XML, so that two annotations can be compared for equality."""
    return ET.tostring(element, encoding="unicode").replace(" ", "")


def _path_restrictions(names: _Names) -> dict[str, ET.Element]:
    singleton = names.container.find(f"{EDM}Singleton")
    assert singleton is not None
    annotation = singleton.find(f"{EDM}Annotation[@Term='{CAPABILITIES}.NavigationRestrictions']")
    assert annotation is not None
    records = annotation.findall(f"{EDM}Record/{EDM}PropertyValue/{EDM}Collection/{EDM}Record")
    by_path = {}
    for record in records:
        values = _record(record)
        by_path[values["NavigationProperty"].attrib["NavigationPropertyPath"]] = record
    return by_path


def test_restrictions_by_path_say_the_same_as_on_the_navigations(
    document: ET.Element, names: _Names
) -> None:
    by_path = _path_restrictions(names)
    start = names.singleton_type("external")
    on_navigation = {
        "industryData/runs": COLLECTIONS[0],
        "industryData/processes": COLLECTIONS[1],
        "industryData/runGroups": COLLECTIONS[2],
        "industryData/processes/runs": COLLECTIONS[3],
        "industryData/runGroups/runs": COLLECTIONS[4],
    }
    health = {
        "industryData/incidents",
        "industryData/processes/health",
        "industryData/processes/incidents",
        "industryData/datasets/incidents",
    }
    lineage = {
        "industryData/datasets",
        "industryData/datasets/reads",
        "industryData/datasets/writes",
        *(
            f"industryData/{r}/{side}"
            for r in ("runs", "runGroups")
            for side in ("inputs", "outputs")
        ),
    }
    assert set(by_path) == {"industryData", *on_navigation, *health, *lineage}
    for path, target in on_navigation.items():
        nav = names.walk(start, path)[-1]
        assert target.endswith(f"/{nav.attrib['Name']}")
        terms = _capabilities(document, target)
        record = _record(by_path[path])
        assert len(record) > 5
        for name, value in record.items():
            if name == "NavigationProperty":
                continue
            annotation = terms[f"{CAPABILITIES}.{name}"]
            expected = annotation.find(f"{EDM}Record")
            got = value.find(f"{EDM}Record")
            if expected is None:
                assert value.attrib.get("Bool") == annotation.attrib["Bool"], (path, name)
            else:
                assert got is not None
                assert _canonical(got) == _canonical(expected), (path, name)


def test_the_hub_cannot_be_changed_as_announced(client: TestClient, names: _Names) -> None:
    hub = _record(_path_restrictions(names)["industryData"])
    assert _record(hub["UpdateRestrictions"])["Updatable"].attrib["Bool"] == "false"
    assert _record(hub["DeleteRestrictions"])["Deletable"].attrib["Bool"] == "false"
    assert client.patch(HUB, json={}).status_code == 405
    assert client.delete(HUB).status_code == 405
