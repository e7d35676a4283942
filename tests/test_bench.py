"""The benchmark's own logic: reading wrk's report, ratios taken within one round, and the
baseline commit measured beside this checkout."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bench.__main__ import _flowruns_server, arguments
from bench.baseline import dependencies, interpreter, tree
from bench.builds import CURRENT, Build, seeder
from bench.datasets import Dataset
from bench.report import Results, scaling_table, server_cpu, time_per_request, versus
from bench.scenarios import lineage_requests
from bench.wrk import Request, Sample, parse, script

from flowruns.service.openlineage_events import read_event


def _sample(rps: float, cpu_ms: float = 1) -> Sample:
    return Sample(
        requests_per_s=rps,
        p50_ms=1,
        p99_ms=2,
        requests=int(rps),
        failures=0,
        server_cpu_ms=cpu_ms,
    )


def test_wrk_report_is_read_as_rates_and_milliseconds() -> None:
    output = (
        "Running 5s test @ http://127.0.0.1:1/\n"
        'BENCH-RESULT {"requests": 5000, "duration_us": 2500000, "socket_errors": 1, '
        '"non_2xx": 2, "p50_us": 1500, "p99_us": 12000}\n'
    )
    sample = parse(output)
    assert sample.requests_per_s == 2000
    assert (sample.p50_ms, sample.p99_ms) == (1.5, 12)
    assert sample.failures == 3


def test_a_wrk_run_without_a_report_is_an_error() -> None:
    with pytest.raises(ValueError, match="no result line"):
        parse("script error: attempt to index a nil value")


def test_request_bodies_cannot_end_the_lua_string_early() -> None:
    lua = script(Request("POST", "http://127.0.0.1:1/", body='{"a": "]=]"}'))
    assert 'wrk.body = [==[{"a": "]=]"}]==]' in lua


def test_ratios_are_taken_within_a_round_then_the_median() -> None:
    # The machine slowed down in the second round: both contenders lost half their speed.
    rounds = [
        {(10, "get"): _sample(400), (10, "ceiling"): _sample(1000)},
        {(10, "get"): _sample(200), (10, "ceiling"): _sample(500)},
        {(10, "get"): _sample(450), (10, "ceiling"): _sample(900)},
    ]
    results = Results(rounds, {}, None)
    assert results.ceiling_ratio((10, "get")) == 0.4


def test_a_second_workers_gain_is_compared_with_the_fair_ceilings_within_a_round() -> None:
    # Round 2 ran on a slower machine; flowruns gained +20% and +30% where the ceiling gained
    # +40% and +60%: half its gain in each round, whatever the machine's speed.
    rounds = []
    for speed, ours, theirs in ((1.0, 1.2, 1.4), (0.5, 1.3, 1.6)):
        rounds.append(
            {
                (who, workers, scenario): _sample(base * speed * (gain if workers == 2 else 1))
                for who, base, gain in (("flowruns", 100, ours), ("fair", 400, theirs))
                for workers in (1, 2)
                for scenario in ("get", "list")
            }
        )
    rss = {key: 100.0 + key[1] for key in rounds[0]}
    report = scaling_table(rounds, rss)
    rows = [line for line in report.splitlines() if line.startswith(("| 1.", "| 2."))]
    assert len(rows) == 2
    for row in rows:
        assert " | +25% | 300 | " in row
        assert row.endswith(" | +50% | 0.50 |")
    assert "flowruns 2 w 102 MB" in report


def test_no_share_of_the_gain_is_given_when_the_ceiling_gains_nothing() -> None:
    # A busy machine: the second worker of either app only competes for the same cores.
    rounds = [
        {
            (who, workers, scenario): _sample(base * (0.9 if workers == 2 else 1))
            for who, base in (("flowruns", 100), ("fair", 400))
            for workers in (1, 2)
            for scenario in ("get", "list")
        }
    ]
    report = scaling_table(rounds, dict.fromkeys(rounds[0], 100.0))
    rows = [line for line in report.splitlines() if line.startswith(("| 1.", "| 2."))]
    assert all(row.endswith(" | -10% | — (the ceiling gains nothing) |") for row in rows)


def test_requests_over_several_paths_take_them_in_turn() -> None:
    lua = script(Request("PATCH", "http://127.0.0.1:1/", paths=("/runs/a", "/runs/b")))
    assert "local paths = {[=[/runs/a]=], [=[/runs/b]=]}" in lua
    assert "return wrk.format(nil, paths[turn])" in lua


def test_baseline_ratios_are_taken_within_a_round_then_the_median() -> None:
    # The machine slowed down in the second round, for both builds alike.
    ours = [
        {(10, "get"): _sample(400, 2.0)},
        {(10, "get"): _sample(100, 4.0)},
        {(10, "get"): _sample(380, 2.2)},
    ]
    theirs = [
        {(10, "get"): _sample(500, 1.6)},
        {(10, "get"): _sample(125, 4.0)},
        {(10, "get"): _sample(400, 2.0)},
    ]
    results = Results(ours, {}, None, "abc1234", theirs)
    assert results.baseline_ratio((10, "get"), time_per_request) == pytest.approx(1.25)
    assert results.baseline_ratio((10, "get"), server_cpu) == pytest.approx(1.1)


def test_the_report_names_each_scenario_head_is_slower_in_by_more_than_5_percent() -> None:
    ours = {
        (10, "get"): _sample(1000, 1.04),  # 4% more CPU: within the margin
        (10, "create"): _sample(100, 3.3),  # 10% more CPU
        (10, "list"): _sample(80, 5.0),  # a quarter slower
        (10, "ceiling"): _sample(5000, 0.05),  # measured on this checkout only
    }
    theirs = {
        (10, "get"): _sample(1000, 1.0),
        (10, "create"): _sample(100, 3.0),
        (10, "list"): _sample(100, 5.0),
    }
    results = Results([ours], {}, None, "abc1234", [theirs], {(10, "chart"): "abc1234 answers 400"})
    report = versus(results, "def5678")
    assert report.startswith("## HEAD vs abc1234")
    assert (
        "- HEAD slower than abc1234 by more than 5%: "
        "10 runs 2. first page, status and type (time/req 1.250x); "
        "10 runs 4. create a run (POST) (CPU/req 1.100x)\n"
    ) in report
    assert "| 10 | 1. GET run by id | 1,000 | 1,000 | 1.000x | 1.04 | 1.00 | 1.040x |" in report
    assert "bare Starlette" not in report
    assert report.endswith(
        "- 10 runs 8a. overview: runs per day, 30 days: not compared (abc1234 answers 400)"
    )


def test_the_report_says_so_when_head_is_nowhere_slower() -> None:
    same = {(10, "patch"): _sample(200, 2.0)}
    report = versus(Results([same], {}, None, "abc1234", [same]), "def5678")
    assert "- HEAD slower than abc1234 by more than 5%: none" in report


def _git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    return subprocess.run(
        ["git", "-C", str(repo), *identity, *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_baseline_is_extracted_from_the_commit_once_and_reused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src" / "flowruns").mkdir(parents=True)
    (repo / "src" / "flowruns" / "__init__.py").write_text("OLD = True\n")
    (repo / "pyproject.toml").write_text('[project]\ndependencies = ["a==1"]\n')
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "old")
    sha = _git(repo, "rev-parse", "HEAD")
    # Uncommitted work in the checkout: the baseline is the commit, and the work stays.
    (repo / "src" / "flowruns" / "__init__.py").write_text("NEW = True\n")

    built = tree(repo, sha, tmp_path / "cache")
    assert built == tmp_path / "cache" / f"baseline-{sha}"
    assert (built / "src" / "flowruns" / "__init__.py").read_text() == "OLD = True\n"
    assert (repo / "src" / "flowruns" / "__init__.py").read_text() == "NEW = True\n"
    assert _git(repo, "status", "--porcelain") == "M src/flowruns/__init__.py"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [built.name]

    shutil.rmtree(repo / ".git")  # a second build that ran git would fail now
    assert tree(repo, sha, tmp_path / "cache") == built


def test_a_baseline_shares_this_interpreter_when_its_dependencies_are_the_same(
    tmp_path: Path,
) -> None:
    ours, theirs = tmp_path / "ours.toml", tmp_path / "theirs"
    theirs.mkdir()
    ours.write_text('[project]\ndependencies = ["b==2", "a==1"]\n')
    (theirs / "pyproject.toml").write_text('[project]\ndependencies = ["a==1", "b==2"]\n')
    assert interpreter(theirs, ours) == sys.executable
    assert not (theirs / ".venv").exists()
    (theirs / "pyproject.toml").write_text('[project]\ndependencies = ["a==1"]\n')
    assert dependencies(theirs / "pyproject.toml") != dependencies(ours)


def test_the_history_is_seeded_at_the_older_schema() -> None:
    other = Build("abc1234", "abc1234" * 5, sys.executable, Path("/nowhere/src"))
    newest = ("0005", "0004", "0003")
    assert seeder(CURRENT, newest, other, ("0004", "0003")) is other
    assert seeder(CURRENT, ("0004", "0003"), other, newest) is CURRENT
    assert seeder(CURRENT, newest, other, newest) is CURRENT
    assert seeder(CURRENT, newest, other, ()) is other  # from before schema revisions
    assert seeder(CURRENT, ("0005b", "0004"), other, ("0005a", "0004")) is None


def test_a_baseline_server_runs_its_own_code_on_its_own_copy(tmp_path: Path) -> None:
    other = Build("abc1234", "abc1234" * 5, "/venvs/old/bin/python", tmp_path / "old" / "src")
    dataset = Dataset(10, tmp_path / "sqlite-10-abc1234abc12", None, None, other)
    server = _flowruns_server(dataset, tmp_path, workers=2)
    assert list(server.command[:4]) == ["/venvs/old/bin/python", "-m", "flowruns", "serve"]
    assert ["--data-dir", str(dataset.data_dir)] == list(server.command[6:8])
    assert server.command[-2:] == ["--workers", "2"]
    assert server.env["PYTHONPATH"] == str(tmp_path / "old" / "src")
    assert server.log == tmp_path / "flowruns-10-abc1234abc12.log"

    ours = _flowruns_server(Dataset(10, tmp_path / "sqlite-10", None, None), tmp_path, 1)
    assert list(ours.command[:2]) == [sys.executable, "-m"]
    assert "PYTHONPATH" not in ours.env


def test_the_openlineage_scenario_sends_valid_events() -> None:
    """Scenario 11a's event, as its Lua fills it in, is one the server accepts."""
    request = lineage_requests("http://127.0.0.1:1", (), "run")["lineage"]
    assert request.lua is not None
    line = next(ln for ln in request.lua.splitlines() if ln.startswith("local template = "))
    template = json.loads(line.removeprefix("local template = "))
    for kind, time in (("START", "2026-11-30T08:00:00Z"), ("COMPLETE", "2026-11-30T08:05:00Z")):
        body = template.replace("@RUN@", "0b9c6a4e-5f0e-4a43-9f43-3a1c1f0b7e21")
        event = read_event(body.replace("@TYPE@", kind).replace("@TIME@", time).encode())
        assert (event.kind, event.event_type) == ("run", kind)


def _bench_commands(markdown: str) -> list[list[str]]:
    """The arguments of each ``python -m bench …`` and ``make bench BENCH_ARGS='…'`` in the shell
    blocks of ``markdown`` (lines continued with a backslash joined, comments left out)."""
    commands, shell, line = [], False, ""
    for text in markdown.splitlines():
        if text.startswith("```"):
            shell = text in ("```sh", "```shell", "```console")
            continue
        if not shell:
            continue
        line += text
        if line.endswith("\\"):
            line = line[:-1]
            continue
        words, line = shlex.split(line, comments=True), ""
        if words[:1] == ["make"] and "bench" in words:
            values = [w.removeprefix("BENCH_ARGS=") for w in words if w.startswith("BENCH_ARGS=")]
            commands.append(shlex.split(values[0]) if values else [])
        elif "-m" in words and words[words.index("-m") + 1 :][:1] == ["bench"]:
            commands.append(words[words.index("-m") + 2 :])
    return commands


def test_every_benchmark_command_the_docs_show_is_one_the_harness_takes() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
    commands = _bench_commands(docs.read_text())
    assert len(commands) >= 10
    parser = arguments()
    for command in commands:
        try:
            parser.parse_args(command)
        except SystemExit:
            pytest.fail(f"docs/performance.md shows `python -m bench {shlex.join(command)}`")
