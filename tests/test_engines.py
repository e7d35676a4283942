"""How the suite treats an unreachable PostgreSQL: skipped locally, a loud failure under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_TEST = "tests/api/test_operations.py::test_readyz_reports_ready_with_the_schema_revision"


def _pytest_without_postgres(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["FLOWRUNS_TEST_POSTGRES_URL"] = "postgresql://nobody@127.0.0.1:1/nowhere"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=-ra",
            "-k",
            "postgresql",
            ONE_TEST,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unreachable_server_skips_the_postgresql_half_locally() -> None:
    result = _pytest_without_postgres(ci=False)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "PostgreSQL for the tests is not reachable at" in result.stdout


def test_an_unreachable_server_fails_the_run_under_ci() -> None:
    result = _pytest_without_postgres(ci=True)
    assert result.returncode != 0
    assert "1 error" in result.stdout
    assert "CI runs every test on PostgreSQL too" in result.stdout
