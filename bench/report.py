"""Medians over the repeated rounds, ratios taken within each round, the table and targets."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    "peer": "Prefect: POST /api/flow_runs/filter",
    "chart": "8a. overview: runs per day, 30 days",
    "counts": "8b. overview: counts by status",
    "running": "8c. overview: running now",
    "failures": "8d. overview: latest failures",
}
# The dashboard overview's requests, together compared with one filtered first page.
OVERVIEW = ("chart", "counts", "running", "failures")
# The ceiling each scenario is compared with: reads with scenario 6, writes with scenario 7.
_CEILING = {
    "get": "ceiling",
    "list": "ceiling",
    "deep": "ceiling",
    "create": "insert",
    "patch": "insert",
}
READS = ("get", "list", "deep")


@dataclass
class Results:
    """Every sample of a run, by round, plus peak RSS per server."""

    rounds: list[dict[Key, Sample]]
    rss_mb: dict[Key, float]
    peer_size: int | None

    def median(self, key: Key, value: Callable[[Sample], float]) -> float:
        return statistics.median(value(r[key]) for r in self.rounds if key in r)

    def ratio(self, key: Key, other: Key) -> float | None:
        """Median over rounds of requests/s of ``key`` divided by that of ``other``."""
        pairs = [r for r in self.rounds if key in r and other in r]
        if not pairs:
            return None
        return statistics.median(r[key].requests_per_s / r[other].requests_per_s for r in pairs)

    def cpu_ratio(self, key: Key, other: Key) -> float | None:
        """Median over rounds of server CPU per request of ``key`` over that of ``other``."""
        pairs = [r for r in self.rounds if key in r and other in r]
        if not pairs:
            return None
        return statistics.median(r[key].server_cpu_ms / r[other].server_cpu_ms for r in pairs)

    def overview_ratio(self, size: int, cost: Callable[[Sample], float]) -> float | None:
        """Median over rounds of the overview's requests' summed ``cost`` over scenario 2's."""
        keys = [(size, scenario) for scenario in OVERVIEW]
        rounds = [r for r in self.rounds if (size, "list") in r and all(k in r for k in keys)]
        if not rounds:
            return None
        return statistics.median(
            sum(cost(r[k]) for k in keys) / cost(r[size, "list"]) for r in rounds
        )

    def ceiling_ratio(self, key: Key) -> float | None:
        size, scenario = key
        if scenario not in _CEILING:
            return None
        return self.ratio(key, (size, _CEILING[scenario]))

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
        by_key = results.ratio((size, "get"), (size, "select"))
        if by_key is not None:
            lines.append(
                f"- {size:,} runs, scenario 1 / bare SELECT by key: {by_key:.3g} (reference)"
            )
        check(
            f"{size:,} runs, scenario 1 / ceiling ≥ 0.5",
            results.ceiling_ratio((size, "get")),
            lambda v: v >= 0.5,
            "",
        )
        check(
            f"{size:,} runs, scenario 2 / ceiling ≥ 0.25",
            results.ceiling_ratio((size, "list")),
            lambda v: v >= 0.25,
            "",
        )
        deep = results.ratio((size, "list"), (size, "deep"))
        deep_cpu = results.cpu_ratio((size, "deep"), (size, "list"))
        check(
            f"{size:,} runs, scenario 3 cost / scenario 2 cost ≤ 1.2",
            deep,
            lambda v: v <= 1.2,
            "",
            deep_cpu,
        )
        check(
            f"{size:,} runs, overview requests together / scenario 2 ≤ 5",
            results.overview_ratio(size, lambda s: 1 / s.requests_per_s),
            lambda v: v <= 5,
            "",
            results.overview_ratio(size, lambda s: s.server_cpu_ms),
        )
        for scenario in ("create", "patch"):
            check(
                f"{size:,} runs, scenario {LABELS[scenario][0]} / scenario 7 ≥ 0.5",
                results.ceiling_ratio((size, scenario)),
                lambda v: v >= 0.5,
                "",
            )
    small, large = min(sizes), max(sizes)
    if small != large:
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
    worst = max((v for k, v in results.rss_mb.items() if k[1] != "peer"), default=None)
    check("flowruns peak RSS per worker < 200 MB", worst, lambda v: v < 200, " MB")
    return lines
