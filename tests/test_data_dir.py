"""The data directory as servers start over it: its keys made once, whole, whoever races for
them, and everything in it private to the server's user whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.api.steps import OUTGOING
from tests.servers import AUTH, START_SECONDS, running

HUB_PATH = "/beta/external/industryData"

# A starting server process: what `serve` and each worker's app do to a data directory before
# they serve (the paging secret, the token signing key), one directory per line read, in either
# order, printing what they got: `secret thumbprint`, or the error.
STARTING_PROCESS = """
import sys
from pathlib import Path
from flowruns.auth.keys import local_signing_key
from flowruns.settings import Settings

key_first = sys.argv[1] == "key-first"
for line in sys.stdin:
    data_dir = Path(line.strip())
    try:
        if key_first:
            kid = local_signing_key(data_dir).kid
            secret = Settings(data_dir=data_dir).secret()
        else:
            secret = Settings(data_dir=data_dir).secret()
            kid = local_signing_key(data_dir).kid
        print(secret.decode() or "<empty secret>", kid, flush=True)
    except Exception as error:
        print("failed:", type(error).__name__, error, flush=True)
"""
PROCESSES = 6
ROUNDS = 40


def test_processes_starting_together_on_a_new_data_directory_agree_on_one_key(
    tmp_path: Path,
) -> None:
    env = {key: value for key, value in os.environ.items() if key != "FLOWRUNS_SECRET_KEY"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTING_PROCESS, "key-first" if i % 2 else "secret-first"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    disagreements = []
    try:
        for round_ in range(ROUNDS):
            data_dir = tmp_path / f"round-{round_}"
            # Every process is waiting on its stdin: one line releases them all at once.
            for process in processes:
                assert process.stdin is not None
                process.stdin.write(f"{data_dir}\n")
                process.stdin.flush()
            answers = []
            for process in processes:
                assert process.stdout is not None
                answers.append(process.stdout.readline().strip())
            if len(set(answers)) != 1 or answers[0].startswith(("failed", "<empty")):
                disagreements.append((round_, answers))
    finally:
        for process in processes:
            assert process.stdin is not None
            assert process.stdout is not None
            process.stdin.close()
            process.wait(timeout=START_SECONDS)
            process.stdout.close()
    assert disagreements == []


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Processes started in the block inherit ``mask``."""
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_a_first_start_keeps_the_data_directory_private_whatever_the_umask(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    secret_kept_there = {"FLOWRUNS_SECRET_KEY": ""}
    with (
        umask(0o022),
        running(tmp_path / "log", "--data-dir", str(data_dir), env=secret_kept_there) as server,
    ):
        created = httpx.post(
            f"{server.base}{HUB_PATH}/runs",
            headers=AUTH,
            json={"@odata.type": OUTGOING, "displayName": "written, so the WAL is in use"},
        )
        assert created.status_code == 201, created.text
        files = sorted(path.name for path in data_dir.iterdir())
        modes = {name: _mode(data_dir / name) for name in files}
    assert files == [
        "flowruns.db",
        "flowruns.db-shm",
        "flowruns.db-wal",
        "flowruns.db-writer",
        "notification-key.pem",
        "secret.key",
        "signing-key.pem",
    ]
    assert _mode(data_dir) == "0o700"
    assert modes == dict.fromkeys(files, "0o600")
    assert "open to other users" not in (tmp_path / "log").read_text()


def test_a_start_over_a_data_directory_others_can_read_warns(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    with running(tmp_path / "log", "--data-dir", str(data_dir)):
        pass
    log = (tmp_path / "log").read_text()
    warnings = [line for line in log.splitlines() if "open to other users" in line]
    assert len(warnings) == 1, log
    assert str(data_dir) in warnings[0]
    assert f"chmod 700 {data_dir}" in warnings[0]
    assert _mode(data_dir) == "0o755"  # told, not changed behind the operator's back
