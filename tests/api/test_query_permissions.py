"""What a read needs is decided from the bound query, however it is spelled (SPEC §6).

A token holding only ``IndustryData-OutboundFlow.Read.All`` reads processes, never runs. Hypothesis
writes the ways a query over processes can reach runs — any case, ``$it/`` and ``$this/``, casts to
process types, lambdas inside lambdas, runs reached back through a run's ``process``, inside
``$expand`` options and ``$apply`` steps, ``$orderby`` by ``runs/$count``, option names in any case,
every character percent-encoded — and each one must be a 403 for that token and a 200 once the run
permission is added. The other way round, queries that touch no run (whatever their text says) are
answered to it. A run's link to its process is part of the run: reading a process through it is
governed by the run permission alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.auth.scopes import FLOW_READ, RUN_READ
from flowruns.edm.industrydata import MODEL
from flowruns.settings import Settings
from tests.api.steps import add_member, assert_error, create_group, create_process, create_run
from tests.conftest import HUB, NS, SECRET_KEY, bearer
from tests.engines import ENGINES, created_database

PROCESS_ONLY = (FLOW_READ,)
RUNS_ONLY = (RUN_READ,)
BOTH = (FLOW_READ, RUN_READ)
SECRET = "A-ONLY"
PROCESS_NAME = "nightly export"
# The types a process collection may be cast to; the process the world holds is an insights flow.
PROCESS_TYPES: tuple[str, ...] = (
    "process",
    "outgoingFlow",
    "insightsOutgoingFlow",
    "dataShareOutgoingFlow",
)
ENTITY_PROCESS_TYPES: tuple[str, ...] = ("process", "outgoingFlow", "insightsOutgoingFlow")


@dataclass(frozen=True)
class Read:
    """One read: a method, a path below the hub (``{process}`` stands for the process's id) and
    its query string, written to the byte."""

    method: str
    path: str
    query: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.path}?{self.query}"


@dataclass
class World:
    """A process with a run holding a secret statistic, a group holding that run, and a server."""

    client: TestClient
    settings: Settings
    ids: dict[str, str]

    def send(self, read: Read, scopes: tuple[str, ...]) -> httpx2.Response:
        url = f"{HUB}/{read.path.format(**self.ids)}"
        if read.query:
            url += f"?{read.query}"
        return self.client.request(read.method, url, headers=bearer(self.settings, scopes=scopes))


@pytest.fixture(scope="module", params=ENGINES)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    database: AbstractContextManager[str | None] = (
        nullcontext(None) if request.param == "sqlite" else created_database("flowruns_perms")
    )
    with database as url:
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("permissions") / "data",
            database_url=url,
            secret_key=SECRET_KEY,
            rate_limit_per_second=0,  # thousands of reads under make fuzz
        )
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            client.headers.update(bearer(settings))
            process = create_process(client, PROCESS_NAME)
            run = create_run(
                client,
                "secret run",
                collection=f"{HUB}/processes/{process['id']}/runs",
                statistics={"secret": SECRET},
            )
            group = create_group(client, "group")
            assert add_member(client, group["id"], run["id"]).status_code == 204
            del client.headers["Authorization"]
            ids = {"process": process["id"], "run": run["id"], "group": group["id"]}
            yield World(client, settings, ids)


# -- spellings that reach runs from a process --------------------------------------------


def cased(word: str) -> st.SearchStrategy[str]:
    """``word`` with any of its letters in upper case (names resolve ignoring case)."""
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    return flips.map(
        lambda up: "".join(c.upper() if u else c for c, u in zip(word, up, strict=True))
    )


def type_name(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(names).flatmap(lambda name: cased(f"{NS}.{name}"))


RUNS_SEGMENT = cased("runs")
OPTION_PREFIX = st.sampled_from(["$", ""])


def related_types(name: str) -> tuple[str, ...]:
    """The process types an expression over processes of type ``name`` may cast to."""
    addressed = MODEL.entity_type(f"{NS}.{name}")
    assert addressed is not None
    return tuple(
        other
        for other in PROCESS_TYPES
        if (cast := MODEL.entity_type(f"{NS}.{other}")) is not None
        and (cast.is_a(addressed) or addressed.is_a(cast))
    )


@st.composite
def process_prefix(draw: st.DrawFn, types: tuple[str, ...]) -> str:
    """What may stand before ``runs`` in an expression over a process (casts to ``types``)."""
    kind = draw(st.sampled_from(["none", "it", "cast", "it-cast"] if types else ["none", "it"]))
    it = draw(st.sampled_from(["$it/", "$this/"]))
    cast = draw(type_name(types)) + "/" if types else ""
    return {"none": "", "it": it, "cast": cast, "it-cast": it + cast}[kind]


@st.composite
def run_predicate(draw: st.DrawFn, variable: str, depth: int) -> str:
    """A Boolean over the run ``variable`` (``""``: the run being filtered itself)."""
    at = f"{variable}/" if variable else ""
    simple = [
        f"{at}statistics/secret eq '{SECRET}'",
        f"startswith({at}{draw(cased('displayName'))}, 's')",
        f"{at}process/displayName eq '{PROCESS_NAME}'",
        f"{at}process ne null",
        f"{at}{NS}.outgoingFlowRun/status ne 'failed'",
        f"contains({at}statistics/secret, 'ONLY')",
    ]
    if depth <= 0 or draw(st.booleans()):
        return draw(st.sampled_from(simple))
    inner = f"v{depth}"
    body = draw(run_predicate(inner, depth - 1))
    kind = draw(st.sampled_from(["any", "all"]))
    runs = draw(RUNS_SEGMENT)
    through = draw(st.sampled_from([f"{at}process/", f"{at}{NS}.runGroup/"]))
    return f"{through}{runs}/{kind}({inner}: {body})"


@st.composite
def reaching_runs(draw: st.DrawFn, types: tuple[str, ...]) -> str:
    """A Boolean over a process that reads its runs."""
    prefix = draw(process_prefix(types))
    runs = draw(RUNS_SEGMENT)
    variable = draw(st.sampled_from(["r", "runs", "Runs", "x"]))
    body = draw(run_predicate(variable, depth=2))
    core = draw(
        st.sampled_from(
            [
                f"{prefix}{runs}/any()",
                f"{prefix}{runs}/any({variable}: {body})",
                f"{prefix}{runs}/all({variable}: {body})",
                f"{prefix}{runs}/$count ge 0",
            ]
        )
    )
    wrapper = draw(
        st.sampled_from(["{}", "not ({})", "({}) or displayName eq 'x'", "true and ({})"])
    )
    return wrapper.format(core)


@st.composite
def counting_runs(draw: st.DrawFn, types: tuple[str, ...]) -> str:
    """A value over a process computed from its runs."""
    prefix = draw(process_prefix(types))
    runs = draw(RUNS_SEGMENT)
    return draw(st.sampled_from(["{}", "{} add 1", "{} mul 2"])).format(f"{prefix}{runs}/$count")


@st.composite
def applying(draw: st.DrawFn) -> str:
    """A ``$apply`` over processes with a step that reads runs."""
    filter_ = draw(reaching_runs(PROCESS_TYPES))
    value = draw(counting_runs(PROCESS_TYPES))
    prefix = draw(process_prefix(()))  # a groupby key: no cast
    key = f"{prefix}{draw(RUNS_SEGMENT)}/$count"
    return draw(
        st.sampled_from(
            [
                f"filter({filter_})/aggregate($count as n)",
                f"filter(displayName ne 'x')/filter({filter_})/groupby((displayName))",
                f"groupby(({key}))",
                f"aggregate({value} with sum as n)",
                f"groupby((displayName),aggregate({value} with max as n))",
                f"compute({value} as n)/groupby((n))",
            ]
        )
    )


@st.composite
def expanding_runs(draw: st.DrawFn, types: tuple[str, ...]) -> str:
    """A ``$expand`` over processes of the given ``types`` (an item may be cast to one):
    expanding runs, with nested options that read more."""
    cast = draw(st.sampled_from(["", "cast"]))
    path = f"{draw(type_name(types))}/" if cast else ""
    item = draw(st.sampled_from([path + draw(RUNS_SEGMENT), "*"]))
    if item == "*":
        return item
    nested = draw(
        st.sampled_from(
            [
                "",
                f"$filter={draw(run_predicate('', depth=2))}",
                "$orderby=statistics/secret desc",
                "$select=statistics",
                "$expand=process",
                f"$expand=process($select=displayName);$top=1;$filter={draw(run_predicate('', 1))}",
            ]
        )
    )
    return f"{item}({nested})" if nested else item


def encoded(value: str, every: bool) -> str:
    """A query value as a client may send it: minimally or wholly percent-encoded."""
    if every:
        return "".join(f"%{byte:02X}" for byte in value.encode())
    return quote(value, safe="$/(),:'*=;")


@st.composite
def option(draw: st.DrawFn, name: str, value: str) -> str:
    written = draw(OPTION_PREFIX) + draw(cased(name))
    every = draw(st.booleans())
    return f"{encoded(written, every)}={encoded(value, every)}"


@st.composite
def reads_reaching_runs(draw: st.DrawFn) -> Read:
    """A read of processes (collection, cast, count or one entity) whose options read runs."""
    method = draw(st.sampled_from(["GET", "HEAD"]))
    target = draw(st.sampled_from(["collection", "cast", "count", "entity", "entity-cast"]))
    # Casts in the options: to a type related to the addressed one, derived from it in $expand.
    types, expanded_types = PROCESS_TYPES, PROCESS_TYPES
    if target in ("entity", "entity-cast"):
        path = "processes/{process}"
        if target == "entity-cast":
            expanded_types = (draw(st.sampled_from(ENTITY_PROCESS_TYPES)),)
            path += "/" + draw(type_name(expanded_types))
        return Read(method, path, draw(option("expand", draw(expanding_runs(expanded_types)))))
    if target == "cast":
        addressed = draw(st.sampled_from(PROCESS_TYPES))
        path = "processes/" + draw(type_name((addressed,)))
        types, expanded_types = related_types(addressed), (addressed,)
    else:
        path = {"collection": "processes", "count": "processes/$count"}[target]
    kinds = ["filter", "orderby"] if target == "count" else ["filter", "orderby", "expand"]
    if target == "collection":
        kinds.append("apply")
    kind = draw(st.sampled_from(kinds))
    value = {
        "filter": lambda: draw(reaching_runs(types)),
        "orderby": lambda: (
            draw(counting_runs(types)) + draw(st.sampled_from(["", " desc", " asc"]))
        ),
        "expand": lambda: draw(expanding_runs(expanded_types)),
        "apply": lambda: draw(applying()),
    }[kind]()
    query = draw(option(kind, value))
    if draw(st.booleans()):  # alongside options that are harmless on their own
        query = f"{draw(option('top', '5'))}&{query}"
    return Read(method, path, query)


def _denied(response: httpx2.Response, read: Read) -> None:
    assert response.status_code == 403, f"{read}: {response.text}"
    if read.method != "HEAD":
        assert_error(response, 403, "accessDenied")


@given(reads_reaching_runs())
def test_every_spelling_that_reads_runs_needs_the_run_permission(world: World, read: Read) -> None:
    _denied(world.send(read, PROCESS_ONLY), read)
    response = world.send(read, BOTH)
    assert response.status_code == 200, f"{read}: {response.text}"


# -- queries over processes that touch no run --------------------------------------------

LITERAL_TEXT = st.lists(
    st.sampled_from(["runs/", "Runs/any(", " runs /", "$it/runs", "r:r/statistics", "x", " "]),
    min_size=1,
    max_size=4,
).map("".join)


@st.composite
def reads_touching_no_run(draw: st.DrawFn) -> Read:
    """A read of processes whose options only mention runs in text or in variable names."""
    text = draw(LITERAL_TEXT)
    literal = "'" + text.replace("'", "''") + "'"
    variable = draw(st.sampled_from(["runs", "Runs", "r"]))
    invitees = f"{NS}.dataShareOutgoingFlow/inviteeUserIds"
    filter_ = draw(
        st.sampled_from(
            [
                f"displayName eq {literal}",
                f"contains($it/displayName, {literal})",
                f"{invitees}/any({variable}: {variable} eq {literal})",
            ]
        )
    )
    kind = draw(st.sampled_from(["filter", "orderby", "apply", "search"]))
    value = {
        "filter": filter_,
        "orderby": f"concat(displayName, {literal}) desc",
        "apply": f"filter({filter_})/groupby((readinessStatus))",
        "search": '"' + text.replace('"', "") + '"',
    }[kind]
    path = draw(st.sampled_from(["processes", "processes/$count"]))
    if path.endswith("$count") and kind == "apply":
        kind, value = "filter", filter_
    return Read("GET", path, draw(option(kind, value)))


@given(reads_touching_no_run())
def test_a_process_token_reads_processes_whatever_the_query_text_says(
    world: World, read: Read
) -> None:
    response = world.send(read, PROCESS_ONLY)
    assert response.status_code == 200, f"{read}: {response.text}"


TOUCHING_NO_RUN = [
    Read("GET", "processes", "$filter=displayName eq 'runs/x'"),
    Read("GET", "processes", "$filter=displayName eq 'daily runs/export'"),
    Read("GET", "processes", "$filter=contains(displayName, ' runs / ')"),
    Read("GET", "processes", "$orderby=displayName"),
    Read("GET", "processes", "$orderby=concat(displayName, ' runs/') desc"),
    Read("GET", "processes", '$search="runs/any"'),
    Read(
        "GET",
        "processes/$count",
        f"$filter={NS}.dataShareOutgoingFlow/inviteeUserIds/any(runs: runs eq 'a runs/b')",
    ),
    Read(
        "GET", "processes", "$apply=filter(displayName ne 'old runs/x')/groupby((readinessStatus))"
    ),
    Read("GET", "processes/{process}", "$select=displayName"),
    Read("GET", "", "$select=id"),
]


@pytest.mark.parametrize("read", TOUCHING_NO_RUN, ids=str)
def test_queries_that_touch_no_run_need_only_the_process_permission(
    world: World, read: Read
) -> None:
    response = world.send(read, PROCESS_ONLY)
    assert response.status_code == 200, response.text


# -- through runs: a run's process is read with the run permission -----------------------

THROUGH_RUNS: list[tuple[Read, Callable[[httpx2.Response], object]]] = [
    (
        Read("GET", "runs", f"$filter=process/displayName eq '{PROCESS_NAME}'&$select=displayName"),
        lambda r: [v["displayName"] for v in r.json()["value"]] == ["secret run"],
    ),
    (Read("GET", "runs", "$orderby=process/displayName"), lambda r: len(r.json()["value"]) == 2),
    (
        Read("GET", "runs", "$expand=process($select=displayName)"),
        lambda r: PROCESS_NAME in r.text,
    ),
    (
        Read("GET", "runs/{run}/process", "$expand=runs($select=displayName)"),
        lambda r: r.json()["runs"][0]["displayName"] == "secret run",
    ),
    (
        Read("GET", "runGroups", "$filter=runs/any(m: m/process/readinessStatus eq null)"),
        lambda r: len(r.json()["value"]) == 1,
    ),
    (
        Read("GET", "runGroups/{group}/runs/$ref", "$filter=process/displayName ne 'x'"),
        lambda r: len(r.json()["value"]) == 1,
    ),
    (
        Read("GET", "runs", "$apply=groupby((process/displayName))"),
        lambda r: PROCESS_NAME in r.text,
    ),
    # Runs reached back through a run's process: the runs of the same process.
    (
        Read("GET", "runs", "$filter=process/runs/any(r: r/statistics/secret eq 'A-ONLY')"),
        lambda r: [v["displayName"] for v in r.json()["value"]] == ["secret run"],
    ),
    (
        Read("GET", "runs/$count", "$filter=process/runs/$count eq 1"),
        lambda r: r.text == "1",
    ),
    (
        Read("GET", "processes/{process}/runs", "$orderby=process/runs/$count desc"),
        lambda r: len(r.json()["value"]) == 1,
    ),
]


@pytest.mark.parametrize(("read", "expected"), THROUGH_RUNS, ids=[str(r) for r, _ in THROUGH_RUNS])
def test_a_runs_process_is_read_with_the_run_permission(
    world: World, read: Read, expected: Callable[[httpx2.Response], object]
) -> None:
    response = world.send(read, RUNS_ONLY)
    assert response.status_code == 200, response.text
    assert expected(response), response.text
    _denied(world.send(read, PROCESS_ONLY), read)


# -- casts stay within the type they cast ------------------------------------------------

OUTSIDE_CASTS = [
    Read("GET", "runs/microsoft.graph.entity"),
    Read("GET", f"processes/{NS}.mutableEntity"),
    Read("GET", f"runGroups/{NS}.run"),
    Read("GET", "processes/microsoft.graph.entity/$count", f"$filter={NS}.run/statistics/x eq 1"),
    Read("GET", "processes", f"$filter=$it/microsoft.graph.entity/{NS}.run/statistics/x eq 1"),
    Read("GET", "runs", f"$filter=$it/microsoft.graph.entity/{NS}.process/displayName eq 'x'"),
]


@pytest.mark.parametrize("read", OUTSIDE_CASTS, ids=str)
def test_a_cast_outside_the_addressed_type_is_400(world: World, read: Read) -> None:
    response = world.send(read, BOTH)
    assert response.status_code == 400, response.text
