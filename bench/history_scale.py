"""How flowruns behaves as the history grows: seed time, then read latencies at each size.

For each N it seeds a fresh SQLite data directory with ``flowruns demo seed``, starts
``flowruns serve`` on loopback, and times sequential requests (one client, so the numbers are
latencies, not throughput): GET one run by id, the first page of runs in the default order, the
first page of one run type, and the page at 90% depth reached by following nextLinks.

    .venv/bin/python bench/history_scale.py --sizes 10000 100000 1000000

Bounded: a fixed number of requests per scenario; everything stops by itself.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HUB = "/beta/external/industryData"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _timed(client: httpx.Client, url: str, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def _deep_url(client: httpx.Client, base: str, size: int) -> str:
    """A 100-run page starting at about 90% of the history, reached by following nextLinks.

    The walk uses 999-run pages; a skiptoken marks a position, not a page size, so the last
    nextLink is then asked for with the same page size as the first-page scenario.
    """
    url = f"{base}{HUB}/runs?$top=999"
    for _ in range(int(size * 0.9) // 999):
        url = client.get(url).json()["@odata.nextLink"]
    return url.replace("$top=999", "$top=100")


def measure(size: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        flowruns = [sys.executable, "-m", "flowruns"]
        started = time.perf_counter()
        subprocess.run(
            [*flowruns, "demo", "seed", "--runs", str(size), "--data-dir", str(data_dir)],
            check=True,
            capture_output=True,
        )
        results = {"seed_s": time.perf_counter() - started}
        port = _free_port()
        env = {**os.environ, "FLOWRUNS_SECRET_KEY": "bench"}
        server = subprocess.Popen(
            [*flowruns, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=60) as client:
                for _ in range(300):
                    try:
                        client.get(f"{base}/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                first = client.get(f"{base}{HUB}/runs?$top=1").json()["value"][0]["id"]
                scenarios = {
                    "get_by_id": f"{base}{HUB}/runs/{first}",
                    "first_page": f"{base}{HUB}/runs?$top=100",
                    "type_page": f"{base}{HUB}/runs/microsoft.graph.industryData."
                    "incomingFlowRun?$top=100",
                    "deep_page": _deep_url(client, base, size),
                }
                for name, url in scenarios.items():
                    p50, p99 = _timed(client, url, repeat)
                    results[f"{name}_p50_ms"] = p50
                    results[f"{name}_p99_ms"] = p99
        finally:
            server.terminate()
            server.wait(timeout=10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    rows = {size: measure(size, args.repeat) for size in args.sizes}
    columns = list(next(iter(rows.values())))
    print("| runs | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for size, result in rows.items():
        print(f"| {size:,} | " + " | ".join(f"{result[c]:.1f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
