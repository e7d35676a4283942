"""Credentials never reach a failed run's blocking error."""

from __future__ import annotations

import pytest

from flowruns.client.recorder import MESSAGE_LIMIT, blocking_error
from flowruns.client.redaction import redact


def test_credential_shapes_are_masked_and_the_rest_kept() -> None:
    error = PermissionError(
        "login to https://svc:pa55@sis.example.org/api failed: password=hunter2, "
        '{"api_key": "k-123"} Authorization: Bearer abcdefghijkl '
        "jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl my-own-token"
    )
    reported = blocking_error(error, ["my-own-token"])
    assert reported == {
        "code": "PermissionError",
        "message": "login to https://svc:***@sis.example.org/api failed: password=***, "
        '{"api_key": "***"} Authorization: Bearer *** jwt *** ***',
    }


def test_long_messages_are_cut_and_empty_ones_named() -> None:
    long = blocking_error(ValueError("x" * 5000), [])
    assert len(long["message"]) == MESSAGE_LIMIT
    assert long["message"].endswith("…")
    assert blocking_error(KeyboardInterrupt(), []) == {
        "code": "KeyboardInterrupt",
        "message": "KeyboardInterrupt",
    }


@pytest.mark.parametrize(
    "text",
    [
        "/etc/passwd: Permission denied",
        "sh: 1: /etc/passwd: Permission denied",
        "cat: /run/secrets/db_password: No such file or directory",
        "open('/home/ana/.config/token.json'): Permission denied",
        "C:\\Users\\ana\\api_key: access denied",
        "secret.key: permission denied",
        "passwd: Authentication token manipulation error",
        'FATAL: password authentication failed for user "sis"',
        "Permission denied (publickey,password).",
        "KeyError: 'password'",
        "the token expired at 12:00",
    ],
)
def test_paths_and_words_that_name_secrets_are_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("password=hunter2", "password=***"),
        ("PGPASSWORD=hunter2 psql -h db", "PGPASSWORD=*** psql -h db"),
        ("--db-password=hunter2 --verbose", "--db-password=*** --verbose"),
        ('password="correct horse" user=ana', 'password="***" user=ana'),
        ("Server=db;Uid=sis;Pwd=hunter2;", "Server=db;Uid=sis;Pwd=***;"),
        ("GET /export?access_token=abc123&page=2", "GET /export?access_token=***&page=2"),
        ("postgresql://sis:hunter2@db.internal/sis", "postgresql://sis:***@db.internal/sis"),
        ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer ***"),
        ("Authorization: Basic c2lzOmh1bnRlcjI=", "Authorization: Basic ***"),
        ("jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "jwt ***"),
        (
            '{"client_secret": "s3cr3t value", "user": "ana"}',
            '{"client_secret": "***", "user": "ana"}',
        ),
        ("{'api_key': 'k-123', 'page': 2}", "{'api_key': '***', 'page': 2}"),
        ('{"refreshToken":"r-1"}', '{"refreshToken":"***"}'),
        ("{'password': hunter2}", "{'password': ***}"),
    ],
)
def test_secrets_are_masked_by_their_shape(text: str, masked: str) -> None:
    assert redact(text) == masked
