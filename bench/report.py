"""Medians over the repeated rounds, ratios taken within each round, the tables and targets."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.wrk import Sample

Key = tuple[int, str]  # (history size, scenario)

LABELS = {
    "get": "1. GET run by id",
    "list": "2. first page, status and type",
    "deep": "3. page at 90% depth",
    "create": "4. create a run (POST)",
    "patch": "5. PATCH statistics",
    "ceiling": "6. bare Starlette, same page bytes",
    "insert": "7. bare Starlette, one INSERT",
    "select": "bare Starlette, one SELECT by key",
    "write-create": "7b. fair write ceiling: INSERT, group commit",
    "write-patch": "7c. fair write ceiling: UPDATE, group commit",
    "peer": "Prefect: POST /api/flow_runs/filter",
    "chart": "8a. overview: runs per day, 30 days",
    "counts": "8b. overview: counts by status",
    "running": "8c. overview: running now",
    "failures": "8d. overview: latest failures",
    "big-page": "9a. 999-run page, identity",
    "big-page-gzip": "9b. 999-run page, gzip",
    "big-page-br": "9c. 999-run page, brotli",
    "delta-empty": "10a. delta poll, nothing changed",
    "delta-changes": "10b. delta poll, 100 changes",
    "lineage": "11a. OpenLineage event (POST)",
    "get-ingesting": "11b. GET run by id, events loading",
    "stats-order": "12a. statistics $filter, by endDateTime",
    "expand-select": "12b. $select, $expand=process($select)",
    "fair-get": "fair ceiling: token, SELECT by key",
    "fair-list": "fair ceiling: token, page SELECT",
}
# The fair ceiling each read is compared with: the same read done by a bare app (bench/fair.py).
_FAIR = {"get": "fair-get", "list": "fair-list"}
# The dashboard overview's requests, together compared with one filtered first page.
OVERVIEW = ("chart", "counts", "running", "failures")
# The ceiling each scenario is compared with: reads with scenario 6, writes with scenario 7.
_CEILING = {
    "get": "ceiling",
    "list": "ceiling",
    "deep": "ceiling",
    "create": "write-create",
    "patch": "write-patch",
}
READS = ("get", "list", "deep")
_WRITES = ("create", "patch")
# HEAD is called slower than the baseline when a scenario costs it more than this many times as
# much, by time or by server CPU per request.
SLOWER = 1.05


@dataclass
class Results:
    """Every sample of a run, by round, plus peak RSS per server.

    With a baseline (another commit of flowruns), ``baseline_rounds[i]`` holds its samples of
    round ``i``, taken in the same round as ``rounds[i]``.
    """

    rounds: list[dict[Key, Sample]]
    rss_mb: dict[Key, float]
    peer_size: int | None
    baseline: str | None = None  # how the report names the baseline
    baseline_rounds: list[dict[Key, Sample]] = field(default_factory=list)
    # Scenarios the baseline ran without, and why (say, it answers 400 to the request).
    not_compared: dict[Key, str] = field(default_factory=dict)

    def median(self, key: Key, value: Callable[[Sample], float]) -> float:
        return statistics.median(value(r[key]) for r in self.rounds if key in r)

    def ratio(self, key: Key, other: Key) -> float | None:
        """Median over rounds of requests/s of ``key`` divided by that of ``other``."""
        pairs = [r for r in self.rounds if key in r and other in r]
        if not pairs:
            return None
        return statistics.median(r[key].requests_per_s / r[other].requests_per_s for r in pairs)

    def p99_ratio(self, key: Key, other: Key) -> float | None:
        """Median over rounds of the p99 latency of ``key`` over that of ``other``."""
        pairs = [r for r in self.rounds if key in r and other in r]
        if not pairs:
            return None
        return statistics.median(r[key].p99_ms / r[other].p99_ms for r in pairs)

    def cpu_ratio(self, key: Key, other: Key) -> float | None:
        """Median over rounds of server CPU per request of ``key`` over that of ``other``."""
        pairs = [r for r in self.rounds if key in r and other in r]
        if not pairs:
            return None
        return statistics.median(r[key].server_cpu_ms / r[other].server_cpu_ms for r in pairs)

    def tail(self, key: Key) -> float | None:
        """Median over rounds of p99 latency over p50."""
        tails = [r[key].p99_ms / r[key].p50_ms for r in self.rounds if key in r and r[key].p50_ms]
        return statistics.median(tails) if tails else None

    def overview_ratio(self, size: int, cost: Callable[[Sample], float]) -> float | None:
        """Median over rounds of the overview's requests' summed ``cost`` over scenario 2's."""
        keys = [(size, scenario) for scenario in OVERVIEW]
        rounds = [r for r in self.rounds if (size, "list") in r and all(k in r for k in keys)]
        if not rounds:
            return None
        return statistics.median(
            sum(cost(r[k]) for k in keys) / cost(r[size, "list"]) for r in rounds
        )

    def baseline_ratio(self, key: Key, cost: Callable[[Sample], float]) -> float | None:
        """Median over rounds of this checkout's ``cost`` over the baseline's in the same round."""
        pairs = [
            (ours[key], theirs[key])
            for ours, theirs in zip(self.rounds, self.baseline_rounds, strict=True)
            if key in ours and key in theirs and ours[key].requests and theirs[key].requests
        ]
        if not pairs:
            return None
        return statistics.median(cost(ours) / cost(theirs) for ours, theirs in pairs)

    def baseline_keys(self) -> list[Key]:
        return [k for k in self.ordered_keys() if any(k in r for r in self.baseline_rounds)]

    def ceiling_ratio(self, key: Key) -> float | None:
        size, scenario = key
        if scenario not in _CEILING:
            return None
        return self.ratio(key, (size, self.ceiling_of(key)))

    def ceiling_of(self, key: Key) -> str:
        """The scenario ``key`` is compared with: a write's fair write ceiling where there is one
        (SQLite), else the bare INSERT (PostgreSQL, whose commits do not queue)."""
        size, scenario = key
        ceiling = _CEILING[scenario]
        if scenario in _WRITES and not any((size, ceiling) in r for r in self.rounds):
            return "insert"
        return ceiling

    def peer_ratio(self, key: Key) -> float | None:
        if self.peer_size is None or key[1] == "peer":
            return None
        return self.ratio(key, (self.peer_size, "peer"))

    def ordered_keys(self) -> list[Key]:
        seen: dict[Key, None] = {}
        for r in self.rounds:
            seen.update(dict.fromkeys(r))
        order = list(LABELS)
        return sorted(seen, key=lambda k: (k[0], order.index(k[1])))


def _number(scenario: str) -> str:
    """A scenario's number as the tables give it: "7b" for "7b. fair write ceiling: …"."""
    return LABELS[scenario].split(".")[0]


def _x(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3g}x" if value < 10 else f"{value:,.0f}x"


def table(results: Results) -> str:
    """The results as a Markdown table (medians over rounds)."""
    lines = [
        "| runs | scenario | req/s | p50 ms | p99 ms | CPU ms/req | x ceiling | x Prefect "
        "| RSS MB | failed |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in results.ordered_keys():
        size, scenario = key
        failed = sum(r[key].failures for r in results.rounds if key in r)
        lines.append(
            f"| {size:,} | {LABELS[scenario]} "
            f"| {results.median(key, lambda s: s.requests_per_s):,.0f} "
            f"| {results.median(key, lambda s: s.p50_ms):.2f} "
            f"| {results.median(key, lambda s: s.p99_ms):.2f} "
            f"| {results.median(key, lambda s: s.server_cpu_ms):.2f} "
            f"| {_x(results.ceiling_ratio(key))} | {_x(results.peer_ratio(key))} "
            f"| {results.rss_mb.get(key, 0):.0f} | {failed} |"
        )
    return "\n".join(lines)


def targets(results: Results, sizes: Sequence[int]) -> list[str]:
    """Each target of the benchmark with the measured value and whether it is met."""
    lines: list[str] = []

    def check(
        name: str,
        value: float | None,
        ok: Callable[[float], bool],
        unit: str,
        cpu: float | None = None,
    ) -> None:
        if value is None:
            lines.append(f"- {name}: not measured")
            return
        verdict = "met" if ok(value) else "MISSED"
        by_cpu = "" if cpu is None else f" (by server CPU per request: {cpu:.3g})"
        lines.append(f"- {name}: {value:.3g}{unit}{by_cpu} — {verdict}")

    for size in sizes:
        for scenario, fair in _FAIR.items():
            check(
                f"{size:,} runs, scenario {LABELS[scenario][0]} / fair ceiling ≥ 0.8",
                results.ratio((size, scenario), (size, fair)),
                lambda v: v >= 0.8,
                "",
                results.cpu_ratio((size, fair), (size, scenario)),
            )
        check(
            f"{size:,} runs, scenario 1 / bytes-from-memory ceiling ≥ 0.25",
            results.ceiling_ratio((size, "get")),
            lambda v: v >= 0.25,
            "",
        )
        by_key = results.ratio((size, "get"), (size, "select"))
        if by_key is not None:
            lines.append(
                f"- {size:,} runs, scenario 1 / bare SELECT by key: {by_key:.3g} (reference)"
            )
        check(
            f"{size:,} runs, scenario 3 server CPU per request / scenario 2's ≤ 1.2",
            results.cpu_ratio((size, "deep"), (size, "list")),
            lambda v: v <= 1.2,
            "",
        )
        check(
            f"{size:,} runs, overview requests together / scenario 2 ≤ 5",
            results.overview_ratio(size, lambda s: 1 / s.requests_per_s),
            lambda v: v <= 5,
            "",
            results.overview_ratio(size, lambda s: s.server_cpu_ms),
        )
        for scenario in _WRITES:
            number = LABELS[scenario][0]
            ceiling = results.ceiling_of((size, scenario))
            check(
                f"{size:,} runs, scenario {number} / scenario 7 ≥ 0.5",
                results.ratio((size, scenario), (size, "insert")),
                lambda v: v >= 0.5,
                "",
            )
            check(
                f"{size:,} runs, scenario {number} / scenario {_number(ceiling)} ≥ 0.8",
                results.ceiling_ratio((size, scenario)),
                lambda v: v >= 0.8,
                "",
                results.cpu_ratio((size, ceiling), (size, scenario)),
            )
            check(
                f"{size:,} runs, scenario {number} p99 / p50 ≤ 5",
                results.tail((size, scenario)),
                lambda v: v <= 5,
                "",
            )
        for coded, coding in (("big-page-gzip", "gzip"), ("big-page-br", "brotli")):
            cpu = results.cpu_ratio((size, coded), (size, "big-page"))
            if cpu is not None:
                lines.append(
                    f"- {size:,} runs, scenario {LABELS[coded][:2]} / 9a server CPU per request: "
                    f"{cpu:.3g} (reference: what {coding} costs on the largest page)"
                )
        check(
            f"{size:,} runs, scenario 10a cost / scenario 1 cost ≤ 1",
            results.ratio((size, "get"), (size, "delta-empty")),
            lambda v: v <= 1,
            "",
            results.cpu_ratio((size, "delta-empty"), (size, "get")),
        )
        check(
            f"{size:,} runs, scenario 10b cost / scenario 2 cost ≤ 1",
            results.ratio((size, "list"), (size, "delta-changes")),
            lambda v: v <= 1,
            "",
            results.cpu_ratio((size, "delta-changes"), (size, "list")),
        )
        check(
            f"{size:,} runs, scenario 11a / scenario 4 ≥ 0.8",
            results.ratio((size, "lineage"), (size, "create")),
            lambda v: v >= 0.8,
            "",
            results.cpu_ratio((size, "lineage"), (size, "create")),
        )
        check(
            f"{size:,} runs, scenario 11b p99 / scenario 1 p99 ≤ 2",
            results.p99_ratio((size, "get-ingesting"), (size, "get")),
            lambda v: v <= 2,
            "",
        )
        if results.baseline is not None:
            for scenario in ("stats-order", "expand-select"):
                check(
                    f"{size:,} runs, scenario {LABELS[scenario][:3]} server CPU per request / "
                    f"{results.baseline}'s ≤ 0.5",
                    results.baseline_ratio((size, scenario), server_cpu),
                    lambda v: v <= 0.5,
                    "",
                )
            for scenario in ("create", "patch"):
                number = LABELS[scenario][0]
                check(
                    f"{size:,} runs, scenario {number} cost / {results.baseline}'s ≤ 1.1",
                    results.baseline_ratio((size, scenario), time_per_request),
                    lambda v: v <= 1.1,
                    "",
                    results.baseline_ratio((size, scenario), server_cpu),
                )
    small, large = min(sizes), max(sizes)
    if small != large:
        for scenario in READS:
            check(
                f"scenario {LABELS[scenario][0]} server CPU per request at {large:,} / "
                f"at {small:,} ≤ 1.2",
                results.cpu_ratio((large, scenario), (small, scenario)),
                lambda v: v <= 1.2,
                "",
            )
        for scenario in READS:
            growth = results.ratio((small, scenario), (large, scenario))
            growth_cpu = results.cpu_ratio((large, scenario), (small, scenario))
            check(
                f"scenario {LABELS[scenario][0]} cost at {large:,} / at {small:,} ≤ 1.5",
                growth,
                lambda v: v <= 1.5,
                "",
                growth_cpu,
            )
    if results.peer_size is not None:
        check(
            f"{results.peer_size:,} runs, scenario 2 / Prefect ≥ 50",
            results.peer_ratio((results.peer_size, "list")),
            lambda v: v >= 50,
            "x",
        )
    contenders = ("peer", "ceiling", "insert", "select", *_FAIR.values())
    worst = max((v for k, v in results.rss_mb.items() if k[1] not in contenders), default=None)
    check("flowruns peak RSS per worker ≤ 150 MB", worst, lambda v: v <= 150, " MB")
    return lines


def _both(results: Results, key: Key, value: Callable[[Sample], float], spec: str) -> list[str]:
    """The medians over rounds of ``value``: this checkout's, then the baseline's."""
    return [
        f"{statistics.median(value(r[key]) for r in rounds if key in r):{spec}}"
        for rounds in (results.rounds, results.baseline_rounds)
    ]


def _versus_x(value: float | None) -> str:
    # Three decimals: the verdict turns on the second.
    return "" if value is None else f"{value:.3f}x"


def time_per_request(sample: Sample) -> float:
    """Seconds per request at the benchmark's concurrency: the inverse of throughput."""
    return 1 / sample.requests_per_s


def server_cpu(sample: Sample) -> float:
    """Server CPU milliseconds per request."""
    return sample.server_cpu_ms


def versus(results: Results, current: str) -> str:
    """This checkout against the baseline, per scenario and size, with the scenarios in which
    this checkout is slower by more than :data:`SLOWER` (``current`` describes this checkout)."""
    them = results.baseline
    assert them is not None
    lines = [
        f"## HEAD vs {them}",
        "",
        f"HEAD is {current}. Each ratio is HEAD's cost over {them}'s, taken within each round,"
        " then the median over rounds: above 1, HEAD costs more. Time per request is the inverse"
        " of requests/s; CPU is the server's CPU time per request.",
        "",
        f"| runs | scenario | req/s HEAD | req/s {them} | time/req HEAD÷{them} "
        f"| CPU ms/req HEAD | CPU ms/req {them} | CPU/req HEAD÷{them} "
        f"| p50 ms HEAD | p50 ms {them} | p99 ms HEAD | p99 ms {them} | failed {them} |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    slower: list[str] = []
    for key in results.baseline_keys():
        size, scenario = key
        by_time = results.baseline_ratio(key, time_per_request)
        by_cpu = results.baseline_ratio(key, server_cpu)
        failed = sum(r[key].failures for r in results.baseline_rounds if key in r)
        cells = [
            *_both(results, key, lambda s: s.requests_per_s, ",.0f"),
            _versus_x(by_time),
            *_both(results, key, server_cpu, ".2f"),
            _versus_x(by_cpu),
            *_both(results, key, lambda s: s.p50_ms, ".2f"),
            *_both(results, key, lambda s: s.p99_ms, ".2f"),
            str(failed),
        ]
        lines.append(f"| {size:,} | {LABELS[scenario]} | {' | '.join(cells)} |")
        over = [
            f"{name} {_versus_x(value)}"
            for name, value in (("time/req", by_time), ("CPU/req", by_cpu))
            if value is not None and value > SLOWER
        ]
        if over:
            slower.append(f"{size:,} runs {LABELS[scenario]} ({', '.join(over)})")
    lines.append("")
    percent = f"{(SLOWER - 1) * 100:.0f}%"
    lines.append(
        f"- HEAD slower than {them} by more than {percent}: "
        + ("; ".join(slower) if slower else "none")
    )
    order = list(LABELS)
    skipped = sorted(results.not_compared.items(), key=lambda i: (i[0][0], order.index(i[0][1])))
    for (size, scenario), reason in skipped:
        lines.append(f"- {size:,} runs {LABELS[scenario]}: not compared ({reason})")
    return "\n".join(lines)


ScalingKey = tuple[str, int, str]  # (contender, workers, scenario)
# The least gain (+10%) the fair ceiling must show from a second worker for flowruns' gain to be
# compared with it.
SCALING_ROOM = 0.1


def scaling_table(rounds: list[dict[ScalingKey, Sample]], rss_mb: dict[ScalingKey, float]) -> str:
    """``--scaling``: requests per second with one and two workers, each contender's gain from the
    second (the increase over one worker, within a round), and flowruns' gain as a share of the
    fair ceiling's (target ≥ 0.8)."""

    def gain(r: dict[ScalingKey, Sample], contender: str, scenario: str) -> float:
        one, two = r[contender, 1, scenario], r[contender, 2, scenario]
        return two.requests_per_s / one.requests_per_s - 1

    lines = [
        "| scenario | flowruns 1 w | flowruns 2 w | gain | fair 1 w | fair 2 w | gain"
        " | flowruns' gain / fair's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in ("get", "list"):
        rates = {
            (who, workers): statistics.median(
                r[who, workers, scenario].requests_per_s for r in rounds
            )
            for who in ("flowruns", "fair")
            for workers in (1, 2)
        }
        ours = statistics.median(gain(r, "flowruns", scenario) for r in rounds)
        theirs = statistics.median(gain(r, "fair", scenario) for r in rounds)
        # A share of nothing says nothing: where the machine leaves the ceiling itself no room
        # for a second worker, the target cannot be measured.
        share = "— (the ceiling gains nothing)"
        if theirs >= SCALING_ROOM:
            shares = [
                gain(r, "flowruns", scenario) / gain(r, "fair", scenario)
                for r in rounds
                if gain(r, "fair", scenario) > 0
            ]
            share = f"{statistics.median(shares):.2f}"
        lines.append(
            f"| {LABELS[scenario]} | {rates['flowruns', 1]:,.0f} | {rates['flowruns', 2]:,.0f}"
            f" | {ours:+.0%} | {rates['fair', 1]:,.0f} | {rates['fair', 2]:,.0f} | {theirs:+.0%}"
            f" | {share} |"
        )
    peaks = ", ".join(
        f"{who} {workers} w {max(v for k, v in rss_mb.items() if k[:2] == (who, workers)):.0f} MB"
        for who in ("flowruns", "fair")
        for workers in (1, 2)
    )
    lines += ["", f"Peak RSS per worker: {peaks}."]
    return "\n".join(lines)
