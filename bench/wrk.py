"""Load from ``wrk``: one bounded run against one URL, read back as numbers.

wrk reports through a Lua ``done`` hook that prints one JSON line, so nothing depends on the
layout of its human-readable summary.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

INSTALL_HINT = "wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk"
_MARK = "BENCH-RESULT "

_DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    "{mark}", summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Request:
    """What every connection sends, over and over."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    # When given, the requests go to these paths (below the URL's host) in turn, not to the URL's.
    paths: tuple[str, ...] = ()
    # When given, Lua defining wrk's ``request`` function: each request made anew (a body
    # that must differ from one request to the next).
    lua: str | None = None


@dataclass(frozen=True)
class Sample:
    """One wrk run: throughput and latency percentiles (milliseconds)."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int
    server_cpu_ms: float = 0.0  # server CPU time per request, all its processes together


class WrkMissing(RuntimeError):
    """wrk is not on PATH; the message says how to install it."""


def wrk_path() -> str:
    """Where wrk is; the harness never installs it by itself."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(INSTALL_HINT)
    return found


def _lua_string(text: str) -> str:
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def script(request: Request) -> str:
    """The Lua script that makes wrk send ``request`` and report through the done hook."""
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    if request.body is not None:
        lines.append(f"wrk.body = {_lua_string(request.body)}")
    lines += [
        f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}"
        for name, value in request.headers
    ]
    if request.paths:
        listed = ", ".join(_lua_string(path) for path in request.paths)
        lines += [
            f"local paths = {{{listed}}}",
            "local turn = 0",
            "request = function()",
            "  turn = turn % #paths + 1",
            "  return wrk.format(nil, paths[turn])",
            "end",
        ]
    if request.lua is not None:
        lines.append(request.lua)
    return "\n".join(lines) + _DONE_HOOK.replace("{mark}", _MARK)


def parse(output: str) -> Sample:
    """The :class:`Sample` in wrk's output (the line the done hook printed)."""
    for line in output.splitlines():
        if line.startswith(_MARK):
            raw = json.loads(line.removeprefix(_MARK))
            return Sample(
                requests_per_s=raw["requests"] / (raw["duration_us"] / 1e6),
                p50_ms=raw["p50_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                requests=raw["requests"],
                failures=raw["socket_errors"] + raw["non_2xx"],
            )
    raise ValueError(f"wrk printed no result line:\n{output}")


def run(request: Request, script_path: str, *, seconds: float, connections: int) -> Sample:
    """Load ``request.url`` for ``seconds`` from one wrk thread over ``connections``."""
    with open(script_path, "w") as handle:
        handle.write(script(request))
    completed = subprocess.run(
        [
            wrk_path(),
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--script",
            script_path,
            request.url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return parse(completed.stdout + completed.stderr)
