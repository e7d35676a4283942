"""Log output of a server process: one line per event, as JSON or as readable text.

``serve --log-format json`` writes each record as one JSON object (``time``, ``level``,
``logger``, ``message`` and the record's fields, such as a request's ``request_id``, ``tenant``,
``method``, ``route``, ``status`` and ``latency_ms``); ``text`` writes the same as
``time level message key=value …``. Both go to standard error, where a supervisor (systemd,
a container runtime) collects them.

Much of what is logged comes from clients (paths, header values), so neither format lets a value
end a line or pass for another field. JSON escapes every character that is not printable. In
text, a message argument or field value that is empty or holds a space, ``=``, a quote, a
backslash or any character that is not printable (line breaks, terminal escapes, Unicode
separators) is written as a JSON string literal; anything else stays bare. The lines of an
exception's traceback are indented, so only a record's own first line starts at the left margin.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

FORMATS = ("text", "json")
# The attribute of a LogRecord that holds its structured fields (``extra={FIELDS: {...}}``).
FIELDS = "fields"


class _Clock:
    """A record's time as ``datetime.isoformat(timespec="milliseconds")`` writes it in UTC
    (``2026-12-02T21:42:16.123+00:00``), the date and time of day written once per second:
    every request logs a line, and building and writing a datetime for each took about as
    long as the rest of its formatting."""

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def __call__(self, created: float) -> str:
        second = int(created // 1)
        # Rounded to microseconds first, as datetime.fromtimestamp does, then cut to milliseconds.
        micros = round((created - second) * 1_000_000)
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        if second != self.second:
            self.prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self.second = second
        return f"{self.prefix}.{micros // 1000:03d}+00:00"


_clock = _Clock()


def _time(record: logging.LogRecord) -> str:
    return _clock(record.created)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = getattr(record, FIELDS, {})
    return fields


# Characters a bare text value may not hold: they separate words and fields, or start a quote.
_SEPARATORS = frozenset(' ="\\')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_TRACEBACK_INDENT = "    "


def _escaped(character: str) -> str:
    """``character`` as it appears inside a JSON string literal written with printable text."""
    if character in _ESCAPES:
        return _ESCAPES[character]
    if character.isprintable():
        return character
    code = ord(character)
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters beyond the first plane
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _text_value(value: object) -> str:
    """``value`` as one word of a text line: bare when that is unambiguous, else a JSON string."""
    text = str(value)
    if text and text.isprintable() and _SEPARATORS.isdisjoint(text):
        return text
    return '"' + "".join(_escaped(character) for character in text) + '"'


def _printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (a line stays one line)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # orjson escapes control characters but writes U+0085, U+2028 and U+2029 as they are,
        # and many readers end a line at those too.
        return _printable(orjson.dumps(entry, default=str).decode())


def _argument(value: object) -> object:
    # Numbers keep their type for %d and %f; anything else may carry a client's text.
    return value if isinstance(value, int | float) else _text_value(value)


def _text_message(record: logging.LogRecord) -> str:
    """The record's message with each argument written as :func:`_text_value`."""
    message = str(record.msg)
    if isinstance(record.args, Mapping):
        message %= {key: _argument(value) for key, value in record.args.items()}
    elif record.args:
        message %= tuple(_argument(value) for value in record.args)
    return _printable(message)


class TextFormatter(logging.Formatter):
    """``time level message key=value …``, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{key}={_text_value(value)}" for key, value in _fields(record).items())
        line = f"{_time(record)} {record.levelname:<7} {_text_message(record)}"
        if pairs:
            line = f"{line} {pairs}"
        if record.exc_info:
            traceback = self.formatException(record.exc_info).splitlines()
            line += "".join(f"\n{_TRACEBACK_INDENT}{_printable(text)}" for text in traceback)
        return line


def current_format() -> str:
    """The format this process's flowruns loggers write (as :func:`config` set it up)."""
    handlers = logging.getLogger("flowruns").handlers
    return "json" if any(isinstance(h.formatter, JsonFormatter) for h in handlers) else "text"


def config(log_format: str) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for a server process (uvicorn applies it in each
    worker): flowruns' and uvicorn's loggers, formatted as ``log_format``."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "flowruns": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }
