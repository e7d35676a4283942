"""Hostile query text: arbitrary and SQL-injection shaped input is a 400 or correct data.

Hypothesis feeds arbitrary text to the ``$orderby`` parser and the ``$skiptoken`` decoder (the
only error either may raise is the 400 ``InvalidRequest``) and to the same options over HTTP
(never a 5xx). Strings shaped like SQL injections go into every place a request carries text;
each answers 400, 404 or exactly the data asked for, and the stored rows stay as they were.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.edm.industrydata import RUNS
from flowruns.errors import InvalidRequest
from flowruns.odata import semantic as s
from flowruns.odata.query import parse_orderby
from flowruns.odata.skiptoken import SkipTokenCodec, fingerprint
from tests.api.steps import create_process, create_run, get_json, run_url
from tests.conftest import HUB

INJECTIONS = [
    "'; DROP TABLE runs; --",
    "' OR '1'='1",
    "1 OR 1=1",
    '" OR ""="',
    "displayName; DELETE FROM runs",
    "displayName desc, (SELECT 1)",
    "id) UNION SELECT tenant_id, id FROM runs --",
    "statistics/x'); DROP TABLE processes; --",
    "1; SELECT pg_sleep(10)",
    "\x00",
    "%00' OR 1=1 --",
    "CAST(id AS INTEGER)",
]

ORDERBY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.lists(
    st.sampled_from(
        [
            *("displayName", "startDateTime", "status", " ", ",", "asc", "desc", "(", ")", "/"),
            *("'", "statistics/x", "add", "sub", "1", "process/displayName", "tolower(", "--"),
        ]
    ),
    max_size=12,
).map("".join)


@given(ORDERBY_TEXT)
def test_the_orderby_parser_raises_only_400(text: str) -> None:
    with contextlib.suppress(InvalidRequest):
        parse_orderby(text, RUNS.type, now=0)


TOKEN_TEXT = st.text(max_size=80) | st.builds(
    lambda a, b: f"{base64.urlsafe_b64encode(a).decode()}.{base64.urlsafe_b64encode(b).decode()}",
    st.binary(max_size=60),
    st.binary(max_size=20),
)


@given(TOKEN_TEXT)
def test_the_skiptoken_decoder_raises_only_400(text: str) -> None:
    codec = SkipTokenCodec(b"secret")
    with pytest.raises(InvalidRequest):
        codec.decode(text, fingerprint("tenant", "runs"), [s.STRING])


@given(ORDERBY_TEXT)
def test_any_orderby_over_http_is_200_or_400(client: TestClient, text: str) -> None:
    response = client.get(f"{HUB}/runs", params={"$orderby": text})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] in ("invalidRequest", "BadRequest")


@given(TOKEN_TEXT)
def test_any_skiptoken_over_http_is_400(client: TestClient, text: str) -> None:
    response = client.get(f"{HUB}/runs", params={"$skiptoken": text})
    assert response.status_code == 400, response.text


@pytest.fixture
def planted(client: TestClient) -> dict[str, Any]:
    """One process and one run whose survival proves nothing was dropped or rewritten."""
    process = create_process(client, "planted process")
    run = create_run(client, "planted run", collection=f"{HUB}/processes/{process['id']}/runs")
    return {"process": process, "run": get_json(client, run_url(run["id"]))}


def _intact(client: TestClient, planted: dict[str, Any]) -> None:
    assert get_json(client, run_url(planted["run"]["id"])) == planted["run"]
    listed = get_json(client, f"{HUB}/runs?$count=true")
    assert listed["@odata.count"] >= 1
    assert get_json(client, f"{HUB}/processes/{planted['process']['id']}")["id"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_shaped_query_options_are_400_or_data(
    client: TestClient, planted: dict[str, Any], text: str
) -> None:
    for option in ("$orderby", "$select", "$skiptoken", "$filter", "$search", "$top", "$skip"):
        response = client.get(f"{HUB}/runs", params={option: text})
        assert response.status_code in (200, 400), (option, response.text)
        if response.status_code == 200:
            # Whatever matched, it is this tenant's data as stored, not something else.
            ids = {row["id"] for row in response.json()["value"]}
            assert ids <= {planted["run"]["id"]}
    _intact(client, planted)


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_shaped_keys_are_404_or_400(
    client: TestClient, planted: dict[str, Any], text: str
) -> None:
    for path in (f"{HUB}/runs/{{}}", f"{HUB}/processes('{{}}')", f"{HUB}/runs/{{}}/process/$ref"):
        quoted = text.replace("'", "''") if "('" in path else text
        response = client.get(path.format(quote(quoted, safe="'")))
        assert response.status_code in (400, 404), (path, response.text)
    _intact(client, planted)


@pytest.mark.parametrize("text", [t for t in INJECTIONS if "\x00" not in t])
def test_injection_shaped_values_are_stored_verbatim(
    client: TestClient, planted: dict[str, Any], text: str
) -> None:
    run = create_run(client, text, statistics={text: text})
    read = get_json(client, run_url(run["id"]))
    assert read["displayName"] == text
    assert read["statistics"] == {text: text}
    _intact(client, planted)
