"""Skiptokens signed with the server's own secret but holding a sort key of the wrong shape.

Whoever knows ``FLOWRUNS_SECRET_KEY`` (a leaked key, a former operator) can sign any payload. The
signature then proves nothing about the shape, so the decoder checks the payload against the
sort key the page query expects: a wrong JSON type, a wrong number of values, a number outside
the 64-bit range, a payload that is not the token's envelope — each is a 400, never a 500; a
payload of the right shape pages on from wherever it says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.edm.industrydata import run_status
from flowruns.settings import Settings
from tests.api.steps import assert_error, create_process, create_run, get_json
from tests.conftest import HUB

# What each key of a query's sort key holds: the kinds a page's last row gives.
INT, ENUM, DOUBLE, TEXT, BOOL = "int", "enum", "double", "text", "bool"
QUERIES: dict[str, tuple[str, ...]] = {
    "runs": (INT, TEXT),  # startDateTime (ticks), id
    "runs?$orderby=status": (ENUM, TEXT),  # a member's number: 0, 1, …
    "runs?$orderby=statistics/n": (DOUBLE, TEXT, BOOL, TEXT),  # number, string, bool, id
    "runs?$orderby=endDateTime sub startDateTime desc": (INT, TEXT),  # a duration in ticks
    "runs?$orderby=startDateTime le 2026-01-03T00:00:00Z": (BOOL, TEXT),
    "processes?$orderby=displayName desc": (TEXT, TEXT),
}
INT64 = (-(2**63), 2**63 - 1)

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
ANY_JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
# No stored string holds a NUL (writes refuse it), so no key string does.
KEY_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
FITTING: dict[str, st.SearchStrategy[Any]] = {
    INT: st.integers(*INT64),
    ENUM: st.integers(0, len(run_status.members) - 1),
    DOUBLE: st.floats(allow_nan=False, allow_infinity=False) | st.integers(*INT64),
    TEXT: KEY_TEXT,
    BOOL: st.booleans(),
}
CONTAINERS = st.lists(JSON_LEAVES, max_size=3) | st.dictionaries(st.text(max_size=5), JSON_LEAVES)
# Values that cannot stand for a key of each kind (null can: a key may be null).
MISFITTING: dict[str, st.SearchStrategy[Any]] = {
    INT: (
        st.text(max_size=20)
        | st.booleans()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.integers(min_value=2**63, max_value=2**64 - 1)
        | st.integers(min_value=2**64, max_value=2**70)
        | st.integers(min_value=-(2**70), max_value=-(2**63) - 1)
        | CONTAINERS
    ),
    ENUM: st.text(max_size=20)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(max_value=-1)
    | st.integers(min_value=len(run_status.members), max_value=2**70)
    | CONTAINERS,
    # Past 2**64 the JSON reader makes a double of a number, which a double key may hold.
    DOUBLE: st.text(max_size=20)
    | st.booleans()
    | st.integers(min_value=2**63, max_value=2**64 - 1)
    | CONTAINERS,
    TEXT: st.builds("{}\x00{}".format, st.text(max_size=5), st.text(max_size=5))
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | CONTAINERS,
    BOOL: st.text(max_size=20)
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | CONTAINERS,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, payload: bytes) -> str:
    """A token the server's signature check accepts: base64url payload, '.', truncated MAC."""
    return f"{_b64(payload)}.{_b64(hmac.new(secret, payload, hashlib.sha256).digest()[:16])}"


def envelope(token: str) -> list[Any]:
    """The ``[version, fingerprint, sort key]`` a genuine token carries."""
    decoded: list[Any] = json.loads(_unb64(token.partition(".")[0]))
    return decoded


@pytest.fixture
def genuine(client: TestClient) -> dict[str, list[Any]]:
    """A genuine token's envelope for each query (three runs and processes to page through)."""
    for i in range(3):
        create_process(client, f"p{i}")
        create_run(
            client,
            f"r{i}",
            startDateTime=f"2026-01-0{i + 1}T00:00:00Z",
            endDateTime="2026-01-05T00:00:00Z",
            status="completed",
            statistics={"n": i},
        )
    envelopes = {}
    for query in QUERIES:
        link = get_json(client, _url(query))["@odata.nextLink"]
        envelopes[query] = envelope(parse_qs(urlsplit(link).query)["$skiptoken"][0])
    return envelopes


def _url(query: str, token: str | None = None) -> str:
    url = f"{HUB}/{query}{'&' if '?' in query else '?'}$top=1"
    return url if token is None else f"{url}&$skiptoken={token}"


def _send(client: TestClient, settings: Settings, query: str, payload: Any) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.get(_url(query, sign(settings.secret(), raw)))


@st.composite
def misshapen_keys(draw: st.DrawFn, kinds: tuple[str, ...]) -> Any:
    """A sort key of the wrong shape for ``kinds``: one misfitting value, or a wrong count,
    or no list at all."""
    fitting = [draw(FITTING[kind] | st.none()) for kind in kinds]
    shape = draw(st.sampled_from(["misfit", "count", "not a list"]))
    if shape == "misfit":
        at = draw(st.integers(0, len(kinds) - 1))
        fitting[at] = draw(MISFITTING[kinds[at]])
        return fitting
    if shape == "count":
        size = draw(st.integers(0, len(kinds) + 3).filter(lambda n: n != len(kinds)))
        return [draw(st.one_of(*FITTING.values())) for _ in range(size)]
    return draw(ANY_JSON.filter(lambda value: not isinstance(value, list)))


@given(data=st.data(), query=st.sampled_from(list(QUERIES)))
def test_a_signed_sort_key_of_the_wrong_shape_is_400(
    client: TestClient,
    settings: Settings,
    genuine: dict[str, list[Any]],
    data: st.DataObject,
    query: str,
) -> None:
    version, bound_to, _ = genuine[query]
    key = data.draw(misshapen_keys(QUERIES[query]))
    response = _send(client, settings, query, [version, bound_to, key])
    assert_error(response, 400, "invalidRequest", "$skiptoken")


@st.composite
def misshapen_envelopes(draw: st.DrawFn, version: int, bound_to: str, key: list[Any]) -> Any:
    """Signed bytes that are not ``[version, fingerprint, sort key]``."""
    return draw(
        st.binary(max_size=40).filter(lambda raw: not raw.strip().startswith(b"["))
        | ANY_JSON.filter(lambda value: not (isinstance(value, list) and len(value) == 3))
        | st.builds(list, st.tuples(ANY_JSON, st.just(bound_to), st.just(key))).filter(
            lambda value: value[0] != version
        )
        | st.builds(list, st.tuples(st.just(version), ANY_JSON, st.just(key))).filter(
            lambda value: value[1] != bound_to
        )
        | st.just([version, bound_to])
        | st.just([version, bound_to, key, None])
        # A lone surrogate: valid to Python's JSON writer, refused by the server's reader.
        | st.just(f'[{version}, "{bound_to}", ["\\ud800", "x"]]'.encode())
    )


@given(data=st.data(), query=st.sampled_from(list(QUERIES)))
def test_a_signed_payload_that_is_not_a_skiptoken_is_400(
    client: TestClient,
    settings: Settings,
    genuine: dict[str, list[Any]],
    data: st.DataObject,
    query: str,
) -> None:
    version, bound_to, key = genuine[query]
    payload = data.draw(misshapen_envelopes(version, bound_to, key))
    response = _send(client, settings, query, payload)
    assert_error(response, 400, "invalidRequest", "$skiptoken")


@given(data=st.data(), query=st.sampled_from(list(QUERIES)))
def test_a_signed_sort_key_of_the_right_shape_pages_on(
    client: TestClient,
    settings: Settings,
    genuine: dict[str, list[Any]],
    data: st.DataObject,
    query: str,
) -> None:
    version, bound_to, _ = genuine[query]
    key = [data.draw(FITTING[kind] | st.none()) for kind in QUERIES[query]]
    response = _send(client, settings, query, [version, bound_to, key])
    assert response.status_code == 200, response.text
