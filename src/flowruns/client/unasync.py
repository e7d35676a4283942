"""Writes :mod:`flowruns.client.sync` from :mod:`flowruns.client.asynchronous`.

The two clients have the same methods, send the same requests (built by
:mod:`flowruns.client.calls`) with the same retries, and differ only in waiting: one awaits, the
other blocks. So, as httpcore does, the asynchronous client is written by hand and the
synchronous one derived from it: ``async`` and ``await`` are dropped, ``Awaitable[X]`` becomes
``X`` and the names in :data:`RENAMES` become their synchronous counterparts, in code and in
docstrings alike. The edits are decided from the module's tokens, so a word in a string never
changes code; ruff then sorts the imports and formats the result.

``python -m flowruns.client.unasync`` rewrites the module; a test fails when the checked-in module
differs from what this produces.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

SOURCE = Path(__file__).with_name("asynchronous.py")
TARGET = Path(__file__).with_name("sync.py")

#: The synchronous counterpart of each name the asynchronous client uses.
RENAMES = {
    "AsyncClient": "Client",  # the SDK's and httpx's
    "AsyncRuns": "Runs",
    "AsyncProcesses": "Processes",
    "AsyncIncidents": "Incidents",
    "AsyncDatasets": "Datasets",
    "AsyncBatch": "Batch",
    "AsyncDelta": "Delta",
    "AsyncRunRecorder": "RunRecorder",
    "async_recorder": "recorder",
    "async_recorded": "recorded",
    "AsyncIterator": "Iterator",
    "AsyncBaseTransport": "BaseTransport",
    "__aenter__": "__enter__",
    "__aiter__": "__iter__",
    "__aexit__": "__exit__",
    "aclose": "close",
    "anyio": "time",  # the client needs anyio only to sleep
}

_HEADER = '''"""The synchronous client: :class:`Client`, with ``client.runs``,
``client.processes`` and ``client.datasets``.

Generated from :mod:`flowruns.client.asynchronous` by ``python -m flowruns.client.unasync``;
do not edit by hand: change the asynchronous client and run that command.
"""'''

_PROSE_NAMES = re.compile(r"\b(" + "|".join(map(re.escape, RENAMES)) + r")\b")
_PROSE_KEYWORDS = re.compile(r"\basync (?=with\b|for\b|def\b)|\bawait ")


def _prose(text: str) -> str:
    """A docstring's or comment's words for the synchronous client."""
    text = _PROSE_KEYWORDS.sub("", text)
    return _PROSE_NAMES.sub(lambda match: RENAMES[match[1]], text)


def _edits(source: str) -> list[tuple[int, int, str]]:
    """The replacements (start offset, end offset, text) that make ``source`` synchronous."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits: list[tuple[int, int, str]] = []
    unwrap: list[int] = []  # bracket depths at which an `Awaitable[` was removed
    depth = 0
    seen_code = False
    for index, token in enumerate(tokens):
        start, end = offset(token.start), offset(token.end)
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.type == tokenize.STRING and not seen_code:
            edits.append((start, end, _HEADER))
        elif token.type in (tokenize.STRING, tokenize.COMMENT) or (
            token.type == getattr(tokenize, "FSTRING_MIDDLE", None)
        ):
            edits.append((start, end, _prose(token.string)))
        elif token.type == tokenize.NAME and token.string in ("async", "await"):
            # The keyword and the space after it.
            edits.append((start, end + 1 if source[end : end + 1] == " " else end, ""))
        elif token.type == tokenize.NAME and token.string == "Awaitable" and following is not None:
            if following.string == "[":
                edits.append((start, offset(following.end), ""))
                unwrap.append(depth)
        elif token.type == tokenize.NAME and token.string in RENAMES:
            edits.append((start, end, RENAMES[token.string]))
        elif token.type == tokenize.OP and token.string in ("(", "[", "{"):
            if not (index > 0 and tokens[index - 1].string == "Awaitable"):
                depth += 1
        elif token.type == tokenize.OP and token.string in (")", "]", "}"):
            if unwrap and unwrap[-1] == depth:
                unwrap.pop()
                edits.append((start, end, ""))
            else:
                depth -= 1
        if token.type not in (tokenize.ENCODING, tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            seen_code = True
    return edits


def unasync(source: str) -> str:
    """``source``, an asynchronous module, made synchronous (before formatting)."""
    text = source
    for start, end, replacement in sorted(_edits(source), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _ruff(*args: str, source: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(TARGET), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def render() -> str:
    """The text of :mod:`flowruns.client.sync` for the current asynchronous client."""
    source = unasync(SOURCE.read_text())
    # Renamed imports need sorting again, and one of them goes unused (`Awaitable`).
    fixed = _ruff("check", "--fix", "--quiet", "--select", "I,F401", source=source)
    return _ruff("format", "--quiet", source=fixed)


def main() -> None:
    """Rewrite the synchronous client; with ``--check``, exit 1 if it is out of date instead."""
    text = render()
    if "--check" in sys.argv[1:]:
        if TARGET.read_text() != text:
            sys.exit(f"{TARGET} is out of date; run python -m flowruns.client.unasync")
        return
    TARGET.write_text(text)


if __name__ == "__main__":
    main()
