"""A webhook receiver written from Graph's change-notification documentation, for the tests.

``python tests/receiver.py LOG [--port N] [--handshake echo|wrong|slow|error] [--delay S]
[--webhook-origin echo|other|none]`` listens on 127.0.0.1 (a free port unless given; the port is
printed as the first line), answers Graph's validation request (``POST ?validationToken=…``: 200
with the token as ``text/plain``, or as ``--handshake`` says it should fail) and the CloudEvents
webhook handshake (``OPTIONS`` with ``WebHook-Request-Origin``: 200 with ``WebHook-Allowed-Origin``
naming that origin, another one, or none, as ``--webhook-origin`` says), and appends every
notification request's body to LOG as one JSON line ``{"received": <unix time>, "path": …,
"contentType": …, "raw": "<the body as sent>", "body": {...}}``, then answers 202 after
``--delay`` seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SLOW_HANDSHAKE_SECONDS = 12.0  # longer than the 10 s Graph gives a receiver


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--handshake", default="echo")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--webhook-origin", default="echo")
    args = parser.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *values: object) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"", media_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:
            origin = self.headers.get("WebHook-Request-Origin", "")
            self.send_response(200)
            self.send_header("Allow", "POST")
            if args.webhook_origin == "echo":
                self.send_header("WebHook-Allowed-Origin", origin)
            elif args.webhook_origin == "other":
                self.send_header("WebHook-Allowed-Origin", "someone-else.example")
            self.send_header("Content-Length", "0")
            self.end_headers()
            record = {"received": time.time(), "options": origin}
            with lock, args.log.with_suffix(".options").open("a") as out:
                out.write(json.dumps(record) + "\n")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            token = parse_qs(urlsplit(self.path).query).get("validationToken")
            if token is not None:
                if args.handshake == "wrong":
                    self._answer(200, b"not the token")
                elif args.handshake == "error":
                    self._answer(500, b"broken")
                elif args.handshake == "slow":
                    time.sleep(SLOW_HANDSHAKE_SECONDS)
                    self._answer(200, token[0].encode())
                else:
                    self._answer(200, token[0].encode())
                return
            record = {
                "received": time.time(),
                "path": self.path,
                "contentType": self.headers.get("Content-Type"),
                "raw": raw.decode(),
                "body": json.loads(raw),
            }
            with lock, args.log.open("a") as out:
                out.write(json.dumps(record) + "\n")
            if args.delay:
                time.sleep(args.delay)
            self._answer(202)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
