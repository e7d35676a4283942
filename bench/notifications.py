"""Change notifications under load: write-to-receipt latency, delivered items per second, and
what subscriptions cost the writes, against one ``flowruns serve`` (SQLite) and one receiver
process on loopback.

Each round writes the same number of runs (creates, by several writer threads) with 0, 1, 10
and 100 subscriptions (all to ``external/industryData/runs``, changeType ``created``, to the one
receiver), in a shuffled order, and waits until the receiver has every notification owed. Per
round it reports the creates per second, the notifications delivered per second (from the first
write to the last receipt), and the p50 and p99 of write-to-receipt (from the moment a create's
201 arrived to the moment the receiver got the notification about it). The write-cost ratio is
creates/s with none over creates/s with 100, taken within a round; the report gives medians over
rounds.

    .venv/bin/python -m bench.notifications --rounds 3 --runs 400
    make bench BENCH_ARGS='--notifications --rounds 3 --notification-runs 300'
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt

from bench.servers import free_port

HUB = "/beta/external/industryData"
RECEIVER = """
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
log = open(sys.argv[1], "a", buffering=1)
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        token = self.path.partition("validationToken=")[2]
        if token:
            from urllib.parse import unquote_plus
            answer = unquote_plus(token).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
        else:
            now = time.time()
            ids = [item["resourceData"]["id"] for item in json.loads(body)["value"]]
            log.write(json.dumps([now, ids]) + "\\n")
            answer = b""
            self.send_response(202)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
server.daemon_threads = True
server.serve_forever()
"""
WRITERS = 4
SECRET = "bench-notifications-token-secret-of-32-bytes"
SUBSCRIPTION_COUNTS = (0, 1, 10, 100)
COST_TARGET = 1.2


def _token() -> str:
    now = int(time.time())
    claims = {
        "iss": "flowruns-local",
        "aud": "api://flowruns",
        "tid": "00000000-0000-0000-0000-000000000001",
        "appid": "bench",
        "scp": "IndustryData-Run.ReadWrite.All IndustryData-OutboundFlow.ReadWrite.All",
        "iat": now,
        "nbf": now,
        "exp": now + 6 * 3600,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return
    raise RuntimeError(f"{url} did not answer")


def _write(base: str, headers: dict[str, str], count: int) -> tuple[dict[str, float], float]:
    """``count`` creates by :data:`WRITERS` threads: each run's 201 time, and the seconds."""
    acked: dict[str, float] = {}
    lock = threading.Lock()
    per_writer = count // WRITERS

    def writer(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for i in range(per_writer):
                body = {
                    "@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",
                    "displayName": f"bench {n}/{i}",
                }
                response = http.post(f"{HUB}/runs", json=body)
                response.raise_for_status()
                with lock:
                    acked[response.json()["id"]] = time.time()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acked, time.perf_counter() - started


def _receipts(log: Path, offset: int) -> tuple[list[tuple[float, str]], int]:
    with log.open() as lines:
        lines.seek(offset)
        text = lines.read()
        end = lines.tell()
    found = []
    for line in text.splitlines():
        when, ids = json.loads(line)
        found += [(when, run_id) for run_id in ids]
    return found, end


def _round(
    base: str, headers: dict[str, str], receiver: str, log: Path, subscriptions: int, runs: int
) -> dict[str, float]:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    created = []
    for _ in range(subscriptions):
        body = {
            "changeType": "created",
            "notificationUrl": receiver,
            "resource": "external/industryData/runs",
            "expirationDateTime": later,
        }
        response = httpx.post(f"{base}/beta/subscriptions", json=body, headers=headers, timeout=30)
        response.raise_for_status()
        created.append(response.json()["id"])
    offset = log.stat().st_size
    first = time.time()
    acked, seconds = _write(base, headers, runs)
    owed = len(acked) * subscriptions
    received: list[tuple[float, str]] = []
    deadline = time.monotonic() + 600
    while len(received) < owed:
        more, offset = _receipts(log, offset)
        received += more
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(received)} of {owed} notifications arrived")
        time.sleep(0.05)
    for key in created:
        httpx.delete(f"{base}/beta/subscriptions/{key}", headers=headers).raise_for_status()
    result = {"subscriptions": subscriptions, "creates_per_second": len(acked) / seconds}
    if owed:
        latencies = sorted(max(when - acked[run_id], 0.0) for when, run_id in received)
        last = max(when for when, _ in received)
        result["items_per_second"] = owed / (last - first)
        result["p50_ms"] = 1000 * latencies[len(latencies) // 2]
        result["p99_ms"] = 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return result


def run(rounds: int, runs: int, json_path: Path | None = None) -> None:
    """Measure ``rounds`` rounds of ``runs`` creates per subscription count; print the table."""
    work = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    log = work / "received.jsonl"
    log.touch()
    receiver_port, server_port = free_port(), free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(log), str(receiver_port)])
    env = {
        **os.environ,
        "FLOWRUNS_JWT_SECRET": SECRET,
        "FLOWRUNS_NOTIFICATION_ALLOW_PRIVATE": "1",
        "FLOWRUNS_RATE_LIMIT": "1000000",
        "FLOWRUNS_RATE_BURST": "1000000",
    }
    command = [sys.executable, "-m", "flowruns", "serve", "--port", str(server_port)]
    command += ["--data-dir", str(work / "data")]
    with (work / "server.log").open("w") as server_log:
        server = subprocess.Popen(command, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{server_port}"
    try:
        _wait(f"{base}/healthz")
        _wait(f"http://127.0.0.1:{receiver_port}/")
        headers = {"Authorization": f"Bearer {_token()}"}
        receiver_url = f"http://127.0.0.1:{receiver_port}/notify"
        _write(base, headers, 100)  # warm up
        measured: list[list[dict[str, float]]] = []
        for number in range(rounds):
            order = list(SUBSCRIPTION_COUNTS)
            random.shuffle(order)
            results = [_round(base, headers, receiver_url, log, n, runs) for n in order]
            results.sort(key=lambda r: r["subscriptions"])
            measured.append(results)
            print(f"round {number + 1}: " + json.dumps(results), file=sys.stderr)
    finally:
        server.terminate()
        receiver.terminate()
        server.wait()
        receiver.wait()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    _report(measured)
    if json_path:
        json_path.write_text(json.dumps(measured, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=400, help="creates per measurement")
    parser.add_argument("--json", type=Path, help="write every round's figures here")
    args = parser.parse_args()
    run(args.rounds, args.runs, args.json)


def _report(rounds: list[list[dict[str, float]]]) -> None:
    def median(count: int, key: str) -> float:
        values = [r[key] for results in rounds for r in results if r["subscriptions"] == count]
        return statistics.median(values)

    ratios = [
        results[0]["creates_per_second"] / results[-1]["creates_per_second"] for results in rounds
    ]
    print("| subscriptions | creates/s | delivered items/s | write-to-receipt p50 | p99 |")
    print("|---:|---:|---:|---:|---:|")
    for count in SUBSCRIPTION_COUNTS:
        row = f"| {count} | {median(count, 'creates_per_second'):.0f} |"
        if count:
            row += f" {median(count, 'items_per_second'):.0f} |"
            row += f" {median(count, 'p50_ms'):.0f} ms | {median(count, 'p99_ms'):.0f} ms |"
        else:
            row += " — | — | — |"
        print(row)
    spread = ", ".join(f"{r:.2f}" for r in ratios)
    ratio = statistics.median(ratios)
    print(
        f"\nWrite cost with 100 subscriptions (time per create, ratio to none): "
        f"median {ratio:.2f}x (rounds: {spread}); target <= {COST_TARGET}: "
        f"{'met' if ratio <= COST_TARGET else 'missed'}"
    )
    keeping_up = [
        r["items_per_second"] / r["creates_per_second"]
        for results in rounds
        for r in results
        if r["subscriptions"] == 1
    ]
    kept = statistics.median(keeping_up)
    print(
        f"Delivery with one subscription, items delivered per create per second: median "
        f"{kept:.2f} (target >= 1 within 5%: {'met' if kept >= 0.95 else 'missed'})"
    )


if __name__ == "__main__":
    main()
