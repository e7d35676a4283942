"""The OData conformance tests read data kept outside the checkout: its absence is a skip that
says what is missing and how to point at another copy, a failure under CI, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE, CONFORMANCE_ENV, conformance_file

ROOT = Path(__file__).resolve().parents[1]
CASES = "odata-abnf/odata-abnf-testcases.yaml"


def test_a_clone_without_the_data_collects_and_skips_with_one_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    tests = ["tests/odata/test_abnf_conformance.py", "tests/edm/test_csdl.py", "-k", "oasis"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env={**env, CONFORMANCE_ENV: str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    said = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in said
    assert f"no {tmp_path}/{CASES}" in said
    assert f"no {tmp_path}/odata-csdl-schemas/edmx.xsd" in said
    assert f"set {CONFORMANCE_ENV} to the directory of another copy" in said


def test_missing_conformance_data_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFORMANCE_ENV, str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI runs the conformance tests"):
        conformance_file(CASES)


def test_a_copy_elsewhere_is_read_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "conformance"
    (copy / "odata-abnf").mkdir(parents=True)
    (copy / CASES).write_bytes((CONFORMANCE / CASES).read_bytes())
    monkeypatch.setenv(CONFORMANCE_ENV, str(copy))
    assert conformance_file(CASES) == copy / CASES
