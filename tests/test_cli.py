"""The flowruns command as a user runs it: seed a data directory, serve it, read it over HTTP."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from flowruns.cli import app, sign_in_link
from flowruns.settings import DEFAULT_TENANT
from tests.api.test_auth import example_setting
from tests.conftest import SECRET_KEY

HUB_PATH = "/beta/external/industryData"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_answering(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the server ended"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    result = CliRunner().invoke(app, ["demo", "seed", "--runs", "600", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "600 runs" in result.output
    return data_dir


def _minted(data_dir: Path) -> str:
    """A token minted by `flowruns token` for the data directory of a running server."""
    result = CliRunner().invoke(app, ["token", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture(scope="module")
def server(seeded_dir: Path) -> Iterator[httpx.Client]:
    port = _free_port()
    env = {**os.environ, "FLOWRUNS_SECRET_KEY": SECRET_KEY}
    command = [sys.executable, "-m", "flowruns", "serve", "--port", str(port), "--print-token"]
    log_path = seeded_dir.parent / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [*command, "--data-dir", str(seeded_dir)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(base, process)
        # The server made its signing key on its first start; `flowruns token` signs with it.
        headers = {"Authorization": f"Bearer {_minted(seeded_dir)}"}
        with httpx.Client(base_url=base, headers=headers) as client:
            yield client
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_seeded_history_is_served_with_every_run_type(server: httpx.Client) -> None:
    runs = server.get(f"{HUB_PATH}/runs", params={"$count": "true", "$top": "999"}).json()
    assert runs["@odata.count"] == 600
    types = {r["@odata.type"].rsplit(".", 1)[-1] for r in runs["value"]}
    assert {"outgoingFlowRun", "incomingFlowRun"} <= types
    statuses = {r["status"] for r in runs["value"]}
    assert {"running", "completed", "failed"} <= statuses
    failed = next(r for r in runs["value"] if r["status"] == "failed")
    assert failed["blockingError"]["code"]


def test_seeded_processes_have_their_runs(server: httpx.Client) -> None:
    processes = server.get(f"{HUB_PATH}/processes").json()["value"]
    assert processes
    first = processes[0]["id"]
    runs = server.get(f"{HUB_PATH}/processes/{first}/runs").json()["value"]
    assert runs
    starts = [r["startDateTime"] for r in runs]
    assert starts == sorted(starts, reverse=True)


def test_seed_is_refused_for_a_negative_count(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "seed", "--runs", "-1", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert not (tmp_path / "flowruns.db").exists()


def test_seeding_twice_adds_a_second_history(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'explicit.db'}"
    for _ in range(2):
        result = CliRunner().invoke(app, ["demo", "seed", "--runs", "50", "--database-url", url])
        assert result.exit_code == 0, result.output
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM runs")).scalar_one() == 100
    engine.dispose()


def test_an_unsupported_database_url_is_refused_clearly(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWRUNS_DATABASE_URL": "mysql://admin:hunter2@db/flows"}
    result = subprocess.run(
        [sys.executable, "-m", "flowruns", "demo", "seed", "--runs", "1"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "'mysql' databases are not supported" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_request_without_the_token_is_refused(server: httpx.Client) -> None:
    response = server.get(f"{HUB_PATH}/runs", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_serve_prints_a_token_that_works(seeded_dir: Path, server: httpx.Client) -> None:
    log = (seeded_dir.parent / "server.log").read_text()
    printed = log.split("export TOKEN=", 1)[1].split()[0]
    response = server.get(f"{HUB_PATH}/runs/$count", headers={"Authorization": f"Bearer {printed}"})
    assert response.text == "600"


def test_serve_prints_a_dashboard_link_that_signs_in(
    seeded_dir: Path, server: httpx.Client
) -> None:
    log = (seeded_dir.parent / "server.log").read_text()
    printed = log.split("export TOKEN=", 1)[1].split()[0]
    links = [line.strip() for line in log.splitlines() if "/#token=" in line]
    assert links == [f"{server.base_url}/#token={printed}"]
    # The page at the link's address needs no token; the fragment carries the one it signs in with.
    page = httpx.get(links[0].split("#", 1)[0])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/#token=T"),
        ("0.0.0.0", "http://127.0.0.1:8000/#token=T"),  # listening everywhere: open it locally
        ("::1", "http://[::1]:8000/#token=T"),
        ("flows.example.org", "http://flows.example.org:8000/#token=T"),
    ],
)
def test_the_sign_in_link_names_an_address_a_browser_opens(host: str, expected: str) -> None:
    assert sign_in_link(host, 8000, "T") == expected


def test_a_read_only_token_cannot_write(seeded_dir: Path, server: httpx.Client) -> None:
    minted = CliRunner().invoke(
        app,
        [
            "token",
            "--scope",
            "IndustryData-Run.Read.All",
            "--ttl",
            "5m",
            "--data-dir",
            str(seeded_dir),
        ],
    )
    assert minted.exit_code == 0, minted.output
    headers = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    assert server.get(f"{HUB_PATH}/runs", headers=headers).status_code == 200
    created = server.post(f"{HUB_PATH}/runs", json={"displayName": "x"}, headers=headers)
    assert created.status_code == 403
    assert created.json()["error"]["code"] == "accessDenied"


@pytest.mark.parametrize(
    "arguments",
    [
        ["--tenant", "contoso"],
        ["--tenant", f"{DEFAULT_TENANT}\n"],
        ["--scope", "Directory.ReadWrite.All"],
        ["--ttl", "forever"],
    ],
)
def test_token_refuses_what_no_server_would_accept(tmp_path: Path, arguments: list[str]) -> None:
    result = CliRunner().invoke(app, ["token", "--data-dir", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert "eyJ" not in result.stdout


def _token_in(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``flowruns token ARGS`` run in ``cwd``, with no data directory named in the environment."""
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUNS_DATA_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "flowruns", "token", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_token_elsewhere_makes_no_key_and_says_where_it_looked(tmp_path: Path) -> None:
    result = _token_in(tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    said = " ".join(result.stderr.split())
    assert f"no data directory at {tmp_path.resolve() / '.flowruns'}" in said
    assert "--data-dir" in said
    assert "FLOWRUNS_DATA_DIR" in said
    assert not (tmp_path / ".flowruns").exists()


def test_token_for_a_data_directory_without_a_key_makes_none(tmp_path: Path) -> None:
    unserved = tmp_path / "data"  # seeded, say, but never served
    unserved.mkdir()
    result = _token_in(tmp_path, "--data-dir", str(unserved))
    assert result.returncode == 2
    said = " ".join(result.stderr.split())
    assert f"the data directory {unserved} has no signing key (signing-key.pem)" in said
    assert list(unserved.iterdir()) == []


def test_no_auth_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowruns",
            "serve",
            "--no-auth",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--no-auth refuses to listen on 0.0.0.0" in result.stderr


def test_serve_refuses_the_example_secret_key_in_one_line(tmp_path: Path) -> None:
    placeholder = example_setting("FLOWRUNS_SECRET_KEY")
    serve = [sys.executable, "-m", "flowruns", "serve", "--port", str(_free_port())]
    result = subprocess.run(
        [*serve, "--data-dir", str(tmp_path / "data")],
        env={**os.environ, "FLOWRUNS_SECRET_KEY": placeholder},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flowruns: FLOWRUNS_SECRET_KEY ")
    assert placeholder not in result.stderr
    assert not (tmp_path / "data" / "flowruns.db").exists()


def test_a_taken_port_is_said_before_any_banner_or_token(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = [sys.executable, "-m", "flowruns", "serve", "--print-token", "--port", str(port)]
        result = subprocess.run(
            [*serve, "--data-dir", str(tmp_path / "data")],
            env={**os.environ, "FLOWRUNS_SECRET_KEY": SECRET_KEY},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 3
    said = " ".join(result.stderr.split())
    assert f"flowruns: cannot listen on 127.0.0.1:{port}: Address already in use" in said
    assert "--port" in said
    assert "FLOWRUNS_PORT" in said
    assert "make serve PORT=" in said
    assert "flowruns serving" not in said
    _no_token_in(result.stdout + result.stderr)


def test_flowruns_port_chooses_the_port(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "FLOWRUNS_SECRET_KEY": SECRET_KEY, "FLOWRUNS_PORT": str(port)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flowruns", "serve", "--data-dir", str(tmp_path / "data")],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert f"flowruns serving http://127.0.0.1:{port}/beta" in log.read_text()
    refused = subprocess.run(
        [sys.executable, "-m", "flowruns", "serve", "--data-dir", str(tmp_path / "data")],
        env={**env, "FLOWRUNS_PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "FLOWRUNS_PORT: 'eighty' is not a port" in refused.stderr + refused.stdout


def _stderr_of_a_start(data_dir: Path, *args: str, terminal: bool = False) -> str:
    """What ``flowruns serve ARGS`` writes to standard error (a pipe, or a terminal) by the time
    it answers; the server is stopped then."""
    port = _free_port()
    command = [sys.executable, "-m", "flowruns", "serve", "--port", str(port), *args]
    env = {**os.environ, "FLOWRUNS_SECRET_KEY": SECRET_KEY}
    controller, stderr = pty.openpty() if terminal else os.pipe()
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)], env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )
    os.close(stderr)
    output = bytearray()
    try:
        # Read as it comes, so a full pipe never holds the server back.
        reader = threading.Thread(target=_read_all, args=(controller, output))
        reader.start()
        _wait_until_answering(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=30)
        os.close(controller)
    return output.decode(errors="replace")


def _read_all(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # a terminal whose other end closed
            return
        if not chunk:
            return
        into.extend(chunk)


def _no_token_in(output: str) -> None:
    assert "eyJ" not in output  # the start of every JWT
    assert "#token=" not in output
    assert "export TOKEN" not in output


def test_serve_without_a_terminal_prints_how_to_get_a_token_but_no_token(tmp_path: Path) -> None:
    output = _stderr_of_a_start(tmp_path / "data")
    _no_token_in(output)
    assert f"flowruns token --data-dir {tmp_path / 'data'}" in output
    assert "--print-token" in output


def test_serve_on_a_terminal_prints_a_token_and_the_sign_in_link(tmp_path: Path) -> None:
    output = _stderr_of_a_start(tmp_path / "data", terminal=True)
    assert "export TOKEN=eyJ" in output
    assert "/#token=eyJ" in output


def test_serve_with_json_logs_prints_no_token_even_on_a_terminal(tmp_path: Path) -> None:
    output = _stderr_of_a_start(tmp_path / "data", "--log-format", "json", terminal=True)
    _no_token_in(output)
    assert "flowruns token --data-dir" in output


def test_serve_refuses_to_print_a_token_into_json_logs(tmp_path: Path) -> None:
    serve = [sys.executable, "-m", "flowruns", "serve", "--port", str(_free_port())]
    result = subprocess.run(
        [*serve, "--print-token", "--log-format", "json", "--data-dir", str(tmp_path / "data")],
        env={**os.environ, "FLOWRUNS_SECRET_KEY": SECRET_KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--print-token" in result.stderr
    _no_token_in(result.stdout + result.stderr)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("recipe", ["flowruns.service", "Dockerfile"])
def test_the_shipped_deployments_serve_json_logs_without_a_token(recipe: str) -> None:
    text = (Path(__file__).resolve().parents[1] / "deploy" / recipe).read_text()
    serve = [line for line in text.splitlines() if "serve" in line and "--port" in line]
    assert serve, f"no serve command in deploy/{recipe}"
    for line in serve:
        assert "--print-token" not in line
        assert "json" in line.partition("--log-format")[2][:12]


def test_a_setting_whose_value_looks_like_markup_is_quoted_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWRUNS_RUN_TIMEOUT": "[/x]", "FLOWRUNS_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flowruns", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "FLOWRUNS_RUN_TIMEOUT: '[/x]' is not a run timeout" in result.stdout + result.stderr
