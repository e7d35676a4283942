"""The Makefile's own promises, run with stand-ins for the programs it starts: `make serve` takes
PORT, and `make chromium` installs the browser without a desktop's worth of recommended packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _stand_in(directory: Path, name: str, body: str) -> None:
    """An executable ``name`` in ``directory`` that logs its arguments, then runs ``body``."""
    path = directory / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{directory}/calls"\n{body}\n')
    path.chmod(0o755)


def _make(*args: str, path: str, env: dict[str, str] | None = None) -> str:
    assert MAKE is not None
    result = subprocess.run(
        [MAKE, "-s", "-C", str(ROOT), *args],
        env={"PATH": path, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_serve_takes_a_port(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stand_in(bin_dir, "flowruns", "")
    stamp = tmp_path / "installed"
    stamp.touch()  # newer than pyproject.toml: the virtualenv counts as installed
    data = tmp_path / "data"
    common = [f"BIN={bin_dir}", f"STAMP={stamp}", f"DATA_DIR={data}"]
    path = os.environ["PATH"]
    _make("serve", *common, "PORT=8123", path=path)
    # A PORT in the environment is a platform's, not a request to make: FLOWRUNS_PORT is.
    _make("serve", *common, path=path, env={"PORT": "9999"})
    serves = [line for line in (bin_dir / "calls").read_text().splitlines() if " serve " in line]
    assert serves == [
        f"flowruns serve --data-dir {data} --print-token --port 8123",
        f"flowruns serve --data-dir {data} --print-token",
    ]


def test_make_chromium_installs_it_without_recommended_packages(tmp_path: Path) -> None:
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    _stand_in(stand_ins, "id", "echo 0")  # as root
    _stand_in(stand_ins, "apt-get", "")
    # Only the stand-ins on PATH, and no chromium binary: as on a machine without it.
    said = _make("chromium", "CHROMIUM_BINARY=/nonexistent", path=str(stand_ins))
    calls = (stand_ins / "calls").read_text().splitlines()
    assert "apt-get install -y -qq --no-install-recommends chromium" in calls
    assert "browser tests" in said
    assert "apt-get install --no-install-recommends chromium" in said
