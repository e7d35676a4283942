"""The benchmark's own logic: reading wrk's report, and ratios taken within one round."""

from __future__ import annotations

import pytest
from bench.report import Results
from bench.wrk import Request, Sample, parse, script


def _sample(rps: float) -> Sample:
    return Sample(requests_per_s=rps, p50_ms=1, p99_ms=2, requests=int(rps), failures=0)


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


def test_requests_over_several_paths_take_them_in_turn() -> None:
    lua = script(Request("PATCH", "http://127.0.0.1:1/", paths=("/runs/a", "/runs/b")))
    assert "local paths = {[=[/runs/a]=], [=[/runs/b]=]}" in lua
    assert "return wrk.format(nil, paths[turn])" in lua
