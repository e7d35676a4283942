"""``Settings.from_env``: the environment, then the flags given as overrides, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowruns.settings import Settings


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWRUNS_PORT", "8100")
    monkeypatch.setenv("FLOWRUNS_DATA_DIR", "/from/env")
    settings = Settings.from_env(port=8200, data_dir=None)
    assert settings.port == 8200
    assert settings.data_dir == Path("/from/env")  # None: the flag was not given


def test_a_misspelt_override_is_refused_naming_it_and_the_settings() -> None:
    with pytest.raises(TypeError) as raised:
        Settings.from_env(data_dri=Path("elsewhere"))
    message = str(raised.value)
    assert "'data_dri', which is not a setting" in message
    assert "data_dir" in message
    assert "database_url" in message


def test_every_misspelt_override_is_named_even_when_not_given() -> None:
    # A flag left at None is still a name the caller means to set: a typo stays a typo.
    with pytest.raises(TypeError, match=r"'prot', 'pubilc_url', which are not settings"):
        Settings.from_env(port=8000, prot=None, pubilc_url=None)
