"""Credentials never reach a failed run's blocking error."""

from __future__ import annotations

from flowruns.client.recorder import MESSAGE_LIMIT, blocking_error


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
