"""The request log of a real ``flowruns serve`` read back as an operator's tools read it: whatever
a client puts in its path or headers, one request is one line whose fields parse back to exactly
what was sent, and a request is logged under a tenant only when its token proved one."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowruns.logs import JsonFormatter, TextFormatter
from flowruns.settings import DEFAULT_TENANT
from tests.conftest import HUB
from tests.servers import AUTH, running

# Percent-encoded line breaks, quotes, backslashes, spaces and an escape character, each followed
# by text shaped like a log line or a field of one (the `forged` marker finds any that escape).
FORGED_LINE = (
    "%0A2026-01-01T00:00:00.000+00:00 INFO    POST /beta/forged 201 request_id=forged "
    "tenant=forged status=201"
)
PATHS = [
    f"{HUB}/runs{FORGED_LINE}",
    f"/nowhere%0D{FORGED_LINE}%0D%0A",
    f"{HUB}/runs/%22forged%22%20status=201%5C%1B[31m%E2%80%A8forged%C2%85forged",
]
CLIENT_REQUEST_IDS = [
    "plain-id",
    'x tenant=11111111-1111-1111-1111-111111111111 status=200 forged="x"',
    "tab\tforged=1 back\\slash",
]
_KEY = re.compile(r"([A-Za-z_]+)=")


def _parse_text(line: str) -> tuple[list[str], list[tuple[str, object]]]:
    """A text log line as (its words before the fields, its ``key=value`` fields in order).

    A value is either bare (no space, ``=``, quote or backslash) or a JSON string literal.
    """
    decoder = json.JSONDecoder()
    words: list[str] = []
    fields: list[tuple[str, object]] = []
    at = 0
    while at < len(line):
        if line[at] == " ":
            at += 1
            continue
        key = _KEY.match(line, at)
        if key is not None:
            at = key.end()
        value: object
        if line.startswith('"', at):
            value, at = decoder.raw_decode(line, at)
        else:
            end = line.find(" ", at)
            end = len(line) if end < 0 else end
            value, at = line[at:end], end
        if key is None:
            assert not fields, f"a word after the fields: {line!r}"
            words.append(str(value))
        else:
            fields.append((key[1], value))
    return words, fields


def _request_fields(line: str, log_format: str) -> tuple[str, dict[str, object]]:
    """(message, fields) of one request line; fails on a field written twice."""
    if log_format == "json":
        pairs: list[tuple[str, object]] = json.loads(line, object_pairs_hook=lambda p: p)
        entry = dict(pairs)
        assert len(entry) == len(pairs), f"a field written twice: {line!r}"
        message = entry.pop("message")
        assert isinstance(message, str)
        return message, entry
    words, fields = _parse_text(line)
    entry = dict(fields)
    assert len(entry) == len(fields), f"a field written twice: {line!r}"
    return " ".join(words[2:]), entry  # after the time and the level


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_one_request_is_one_line_whose_fields_are_what_the_client_sent(
    tmp_path: Path, log_format: str
) -> None:
    log = tmp_path / "server.log"
    args = ("--log-format", log_format, "--data-dir", str(tmp_path / "data"))
    sent: list[tuple[httpx.Response, str, str, bool]] = []
    with running(log, *args) as server, httpx.Client(base_url=server.base) as http:
        for path in PATHS:
            for client_request_id in CLIENT_REQUEST_IDS:
                for signed_in in (True, False):
                    headers = {"client-request-id": client_request_id}
                    if signed_in:
                        headers |= AUTH
                    response = http.get(path, headers=headers)
                    assert response.status_code < 500
                    sent.append((response, path, client_request_id, signed_in))
    lines = log.read_text().splitlines()
    logged: set[int] = set()
    for response, path, client_request_id, signed_in in sent:
        request_id = response.headers["request-id"]
        found = [n for n, line in enumerate(lines) if request_id in line]
        assert len(found) == 1, f"request {request_id} on lines {found}"
        logged.update(found)
        message, fields = _request_fields(lines[found[0]], log_format)
        decoded = httpx.URL(path).path  # as the server decodes it, %0A a line break
        assert message == f"GET {decoded} {response.status_code}"
        assert fields["path"] == decoded
        # Echoed (and logged) as sent when printable ASCII; otherwise a fresh id replaces it.
        echoed = response.headers["client-request-id"]
        assert fields["client_request_id"] == echoed
        if client_request_id.isascii() and client_request_id.isprintable():
            assert echoed == client_request_id
        assert fields["request_id"] == request_id
        assert str(fields["status"]) == str(response.status_code)
        if response.status_code == 401:
            assert "tenant" not in fields  # a tenant it never proved
        elif path.startswith(HUB) and signed_in:
            assert fields["tenant"] == DEFAULT_TENANT
    forged = [line for n, line in enumerate(lines) if "forged" in line and n not in logged]
    assert forged == []


def test_a_traceback_cannot_pass_for_a_record_of_its_own() -> None:
    forged = "2026-01-01T00:00:00.000+00:00 INFO    GET /beta 200 tenant=forged"
    try:
        raise ValueError(f"bad value\n{forged}\r\u2028{forged}")
    except ValueError as error:
        record = logging.LogRecord(
            "flowruns.api",
            logging.ERROR,
            __file__,
            1,
            "unhandled error",
            (),
            (ValueError, error, None),
        )
    first, *rest = TextFormatter().format(record).split("\n")
    assert first.endswith("unhandled error")
    assert rest
    assert all(line.startswith("    ") for line in rest)
    assert forged in "\n".join(rest)  # still there to read, indented
    entry = JsonFormatter().format(record)
    assert len(entry.splitlines()) == 1
    assert json.loads(entry)["exception"].endswith(f"bad value\n{forged}\r\u2028{forged}")


@given(
    st.floats(min_value=-1e9, max_value=1e10, allow_nan=False)
    | st.integers(min_value=0, max_value=10**10).map(lambda s: s + 0.9999996)
)
def test_every_line_starts_with_its_time_in_utc_to_the_millisecond(created: float) -> None:
    record = logging.LogRecord("flowruns.api", logging.INFO, __file__, 1, "m", (), None)
    record.created = created
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert TextFormatter().format(record).split(" ")[0] == expected
    assert json.loads(JsonFormatter().format(record))["time"] == expected
