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

Each round also delivers the same creates to :data:`COMPARED` subscriptions of rich notifications
(``includeResourceData`` with a 2048-bit RSA certificate: the entity read, serialised and
encrypted per notification, a validation token per POST), shuffled among the others, and reports
the server's CPU time per notification delivered (the server process and its children, from
``/proc``, less the CPU of the round without subscriptions, which made the same creates) for it
and for the basic round of as many subscriptions, and the ratio, rich to basic, taken within each
round: what carrying the run costs the server.

    .venv/bin/python -m bench.notifications --rounds 3 --runs 400
    make bench BENCH_ARGS='--notifications --rounds 3 --notification-runs 300'
"""

from __future__ import annotations

import argparse
import base64
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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

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
# Subscriptions of the rich round, compared with the basic round of as many: enough
# notifications per round that the server's CPU time (read in 10 ms ticks) measures them.
COMPARED = 100
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


def _certificate() -> str:
    """A self-signed certificate with a 2048-bit RSA key, base64 DER, as a receiver sends it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of the process ``pid`` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return total


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
    base: str,
    headers: dict[str, str],
    receiver: str,
    log: Path,
    subscriptions: int,
    runs: int,
    *,
    server: int,
    certificate: str | None = None,
) -> dict[str, float]:
    """Create ``runs`` runs with ``subscriptions`` subscriptions (rich ones, encrypted for
    ``certificate``, when given) and wait for every notification owed; the figures, with the
    CPU seconds of the process ``server`` over the round."""
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    created = []
    for _ in range(subscriptions):
        body: dict[str, object] = {
            "changeType": "created",
            "notificationUrl": receiver,
            "resource": "external/industryData/runs",
            "expirationDateTime": later,
        }
        if certificate is not None:
            body |= {
                "includeResourceData": True,
                "encryptionCertificate": certificate,
                "encryptionCertificateId": "bench",
            }
        response = httpx.post(f"{base}/beta/subscriptions", json=body, headers=headers, timeout=30)
        response.raise_for_status()
        created.append(response.json()["id"])
    offset = log.stat().st_size
    first = time.time()
    cpu = _cpu_seconds(server)
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
    cpu = _cpu_seconds(server) - cpu
    for key in created:
        httpx.delete(f"{base}/beta/subscriptions/{key}", headers=headers).raise_for_status()
    result = {
        "subscriptions": subscriptions,
        "creates_per_second": len(acked) / seconds,
        "creates": len(acked),
        "cpu_seconds": cpu,
        "rich": int(certificate is not None),
    }
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
        certificate = _certificate()
        measured: list[list[dict[str, float]]] = []
        compared: list[dict[str, float]] = []
        for number in range(rounds):
            # The rich round (None) among the basic ones, in a shuffled order.
            order: list[int | None] = [*SUBSCRIPTION_COUNTS, None]
            random.shuffle(order)
            results = [
                _round(
                    base,
                    headers,
                    receiver_url,
                    log,
                    COMPARED if n is None else n,
                    runs,
                    server=server.pid,
                    certificate=certificate if n is None else None,
                )
                for n in order
            ]
            print(f"round {number + 1}: " + json.dumps(results), file=sys.stderr)
            compared += [r for r in results if r["rich"]]
            basic = sorted((r for r in results if not r["rich"]), key=lambda r: r["subscriptions"])
            measured.append(basic)
    finally:
        server.terminate()
        receiver.terminate()
        server.wait()
        receiver.wait()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    _report(measured)
    _report_rich(measured, compared)
    if json_path:
        json_path.write_text(json.dumps({"counts": measured, "rich": compared}, indent=2))


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
    # The server's own part of that cost: its CPU per create (the dispatcher's and sender's
    # work included), which leaves out the receiver and the writers sharing the machine.
    cpu_ratios = [
        (results[-1]["cpu_seconds"] / results[-1]["creates"])
        / (results[0]["cpu_seconds"] / results[0]["creates"])
        for results in rounds
    ]
    print(
        f"Server CPU per create with 100 subscriptions, ratio to none: median "
        f"{statistics.median(cpu_ratios):.2f}x (rounds: "
        + ", ".join(f"{r:.2f}" for r in cpu_ratios)
        + ")"
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


def _report_rich(basic: list[list[dict[str, float]]], rich: list[dict[str, float]]) -> None:
    """Basic against rich notifications with :data:`COMPARED` subscriptions: the server's CPU
    per notification delivered, net of the creates' own (the round without subscriptions of
    the same round), its ratio within each round, the rate and the latency."""

    def per_item(result: dict[str, float], none: dict[str, float]) -> float:
        delivered = result["subscriptions"] * result["creates"]
        return 1e6 * (result["cpu_seconds"] - none["cpu_seconds"]) / delivered

    pairs = []
    for results, rich_result in zip(basic, rich, strict=True):
        by_count = {r["subscriptions"]: r for r in results}
        pairs.append((by_count[COMPARED], rich_result, by_count[0]))
    print(
        f"\n| {COMPARED} subscriptions | server CPU per notification | delivered items/s | "
        "write-to-receipt p50 | p99 |"
    )
    print("|---|---:|---:|---:|---:|")
    for index, name in ((0, "basic"), (1, "rich (encrypted, RSA 2048)")):
        cpu = statistics.median(per_item(pair[index], pair[2]) for pair in pairs)
        found = [pair[index] for pair in pairs]
        print(
            f"| {name} | {cpu:.1f} µs | "
            f"{statistics.median(r['items_per_second'] for r in found):.0f} | "
            f"{statistics.median(r['p50_ms'] for r in found):.0f} ms | "
            f"{statistics.median(r['p99_ms'] for r in found):.0f} ms |"
        )
    ratios = [per_item(rich_r, none) / per_item(basic_r, none) for basic_r, rich_r, none in pairs]
    spread = ", ".join(f"{r:.1f}" for r in ratios)
    print(
        f"\nDelivery cost of rich notifications (server CPU per notification beyond the "
        f"creates', ratio to basic): median {statistics.median(ratios):.1f}x (rounds: {spread})"
    )


if __name__ == "__main__":
    main()
