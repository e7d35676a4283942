"""One typed settings object, read from ``FLOWRUNS_*`` environment variables and CLI flags."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from flowruns.datadir import read_or_create
from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.odata.literals import parse_duration

DEFAULT_TENANT = "00000000-0000-0000-0000-000000000001"
SECRET_FILE = "secret.key"
LOCAL_ISSUER = "flowruns-local"
LOCAL_AUDIENCE = "api://flowruns"
DEFAULT_RUN_TIMEOUT_SECONDS = 3600.0
DEFAULT_CHANGE_RETENTION_SECONDS = 7 * 24 * 3600.0
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
# Change notifications (docs/notifications.md): Graph-like defaults.
DEFAULT_NOTIFICATION_TIMEOUT_SECONDS = 3.0
DEFAULT_NOTIFICATION_RETRY_SECONDS = 30.0
DEFAULT_NOTIFICATION_RETRY_WINDOW_SECONDS = 4 * 3600.0
DEFAULT_NOTIFICATION_POLL_SECONDS = 0.5
DEFAULT_NOTIFICATION_ISSUER = "flowruns-notifications"
# An HMAC key shorter than its hash's output weakens it (RFC 2104 §3; RFC 7518 §3.2 for HS256):
# 256 bits for HMAC-SHA256, which signs both paging tokens and HS256 access tokens.
MIN_SECRET_BYTES = 32
# Words the examples put where a secret goes: a key holding one was copied, not generated.
PLACEHOLDER_MARKS = ("change-me", "changeme", "change_me")
GENERATE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class InvalidSetting(ValueError):
    """A ``FLOWRUNS_*`` variable or flag holds a value flowruns cannot use."""


def parse_run_timeout(text: str) -> float:
    """Seconds of a run timeout given as seconds (``3600``, ``0.5``) or an ISO 8601 duration
    (``PT1H``, ``P1DT12H``); 0 turns the stale-run rule off. Raises :class:`InvalidSetting`."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text.upper()) / TICKS_PER_SECOND
        except ValueError:
            raise InvalidSetting(
                f"'{text}' is not a run timeout; give seconds (3600) or an ISO 8601 duration (PT1H)"
            ) from None
    if not 0 <= seconds < float("inf"):
        raise InvalidSetting(f"'{text}' is not a run timeout; it must be 0 (off) or more")
    return seconds


def parse_change_retention(text: str) -> float:
    """Seconds, more than 0, that the change log keeps a change, as seconds (``604800``) or an
    ISO 8601 duration (``P7D``). Raises :class:`InvalidSetting`."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text.upper()) / TICKS_PER_SECOND
        except ValueError:
            raise InvalidSetting(
                f"'{text}' is not a change retention; give seconds (604800) or an ISO 8601 "
                "duration (P7D)"
            ) from None
    if not 0 < seconds < float("inf"):
        raise InvalidSetting(f"'{text}' is not a change retention; it must be more than 0")
    return seconds


def parse_read_timeout(text: str) -> float:
    """Seconds, more than 0, that a client may take to send a request's headers or body
    (``10``, ``2.5``). Raises :class:`InvalidSetting`."""
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise InvalidSetting(f"'{text}' is not a read timeout; give seconds, more than 0 (10)")
    return seconds


def parse_max_header_bytes(text: str) -> int:
    """The most bytes a request's line and headers may hold, more than 0. Raises
    :class:`InvalidSetting`."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) == 0:
        raise InvalidSetting(f"'{text}' is not a header size; give bytes, more than 0 (65536)")
    return int(text)


def parse_seconds(text: str) -> float:
    """Seconds, more than 0 (``3``, ``0.5``). Raises :class:`InvalidSetting`."""
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise InvalidSetting(f"'{text}' is not a number of seconds more than 0")
    return seconds


_Value = TypeVar("_Value")


def parse_port(text: str) -> int:
    """A TCP port to listen on, 0 to 65535 (as ``--port``: 0 lets the system pick a free one).
    Raises :class:`InvalidSetting`."""
    try:
        port = int(text.strip())
    except ValueError:
        port = -1
    if not 0 <= port < 65536:
        raise InvalidSetting(f"'{text}' is not a port; give a number from 0 to 65535 (8000)")
    return port


def _variable(name: str, parse: Callable[[str], _Value]) -> _Value:
    """The environment variable ``name`` read by ``parse``; its errors name the variable."""
    try:
        return parse(os.environ[name])
    except InvalidSetting as error:
        raise InvalidSetting(f"{name}: {error}") from None


def parse_redis_cooldown(text: str) -> float:
    """Seconds of a Redis cool-down (0 or more). Raises :class:`InvalidSetting`."""
    try:
        seconds = float(text)
        valid = 0 <= seconds < float("inf")
    except ValueError:
        valid = False
    if not valid:
        raise InvalidSetting(f"'{text}' is not a number of seconds (0 or more)")
    return seconds


def check_secret(variable: str, value: str) -> None:
    """Refuse a secret that is too short or a placeholder, naming ``variable`` (never the
    value). Raises :class:`InvalidSetting`."""
    size = len(value.encode())
    if size < MIN_SECRET_BYTES:
        problem = f"is {size} bytes long; it must be at least {MIN_SECRET_BYTES} bytes"
    elif any(mark in value.lower() for mark in PLACEHOLDER_MARKS):
        problem = "still holds the example's placeholder"
    else:
        return
    raise InvalidSetting(f"{variable} {problem}; generate one with: {GENERATE_SECRET}")


def parse_public_url(text: str) -> str:
    """The public base URL clients reach the server at (``https://runs.example.com``), without a
    trailing slash; the service root is it plus ``/beta``. Raises :class:`InvalidSetting`.

    An origin only: links the server reads back (``@odata.id``, ``@odata.bind``) are matched by
    their path, which must therefore be the server's own.
    """
    text = text.strip()
    refused = InvalidSetting(
        f"{text!r} is not a public base URL; give http:// or https://, a host and a port if "
        "needed, and nothing after them (https://runs.example.com)"
    )
    if not text.isascii() or not text.isprintable() or " " in text:
        raise refused
    try:
        parts = urlsplit(text)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # an IPv6 address left open, a port out of range
        raise refused from None
    if not usable or "@" in parts.netloc or "?" in text or "#" in text:
        raise refused
    if parts.path not in ("", "/"):
        raise InvalidSetting(
            f"{text!r}: give the public URL without a path (the server answers at /beta below it)"
        )
    return text.rstrip("/")


def parse_cors_origin(text: str) -> str:
    """An origin browsers may call the API from (``https://app.example.com``), as a browser
    writes it in its ``Origin`` header: lower-case scheme and host, the port only when it is not
    the scheme's default, nothing after it. ``*`` allows every origin. Raises
    :class:`InvalidSetting`."""
    text = text.strip()
    if text == "*":
        return text
    refused = InvalidSetting(
        f"{text!r} is not an origin; give a scheme, a host and a port if needed, and nothing "
        "after them (https://app.example.com), or * for every origin"
    )
    if not text.isascii() or not text.isprintable() or " " in text:
        raise refused
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # an IPv6 address left open, a port out of range
        raise refused from None
    hostname = parts.hostname
    if parts.scheme not in ("http", "https") or not hostname or port == 0:
        raise refused
    if "@" in parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise refused
    if "?" in text or "#" in text:
        raise refused
    host = f"[{hostname}]" if ":" in hostname else hostname
    default_port = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port is not None and port != default_port else ""
    return f"{parts.scheme}://{host}{suffix}"


def parse_cors_origins(text: str) -> list[str]:
    """A comma-separated list of :func:`parse_cors_origin` origins (empty: none)."""
    return [parse_cors_origin(part) for part in _names(text)]


def _names(text: str) -> list[str]:
    """A comma-separated list from an environment variable."""
    return [part.strip() for part in text.split(",") if part.strip()]


# The notification settings in seconds, by environment variable.
_NOTIFICATION_SECONDS = {
    "FLOWRUNS_NOTIFICATION_TIMEOUT": "notification_timeout_seconds",
    "FLOWRUNS_NOTIFICATION_RETRY": "notification_retry_seconds",
    "FLOWRUNS_NOTIFICATION_RETRY_WINDOW": "notification_retry_window_seconds",
    "FLOWRUNS_NOTIFICATION_POLL": "notification_poll_seconds",
}


@dataclass
class Settings:
    """Everything a flowruns server needs to know at start."""

    data_dir: Path = field(default_factory=lambda: Path(".flowruns"))
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    max_body_bytes: int = 1024 * 1024
    max_url_bytes: int = 8 * 1024
    # Authentication (docs/security.md). ``auth`` is off only with ``serve --no-auth``.
    auth: bool = True
    issuers: list[str] = field(default_factory=lambda: [LOCAL_ISSUER])
    audiences: list[str] = field(default_factory=lambda: [LOCAL_AUDIENCE])
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwt_secret: str | None = None
    clock_skew_seconds: int = 60
    # Per tenant-and-client token bucket; a rate of 0 turns the limit off.
    rate_limit_per_second: float = 1000.0
    rate_limit_burst: int = 2000
    redis_url: str | None = None
    redis_prefix: str = "flowruns:ratelimit:"
    # After Redis fails, each process limits on its own for this long before trying it again.
    redis_cooldown_seconds: float = 30.0
    # A running run untouched for longer than this is failed (runTimedOut); 0 turns it off.
    run_timeout_seconds: float = DEFAULT_RUN_TIMEOUT_SECONDS
    # Whether this server process evaluates process health (docs/monitoring.md); off only where
    # another process does it, or a test drives the evaluation with a clock of its own.
    evaluate_health: bool = True
    # How long the change log keeps a change: delta tokens older than this answer 410.
    change_retention_seconds: float = DEFAULT_CHANGE_RETENTION_SECONDS
    # Limits on a connection, before a request reaches the app (api/protocol.py).
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    # Where clients reach the server (behind a reverse proxy): every absolute URL it writes
    # starts with this. None: the address each request was sent to (its Host header).
    public_url: str | None = None
    # Origins whose pages may call the API from a browser (CORS, docs/security.md); none by
    # default. "*" allows every origin.
    cors_origins: list[str] = field(default_factory=list)
    # `serve` starts and finishes runs of the demo's processes while it runs (demo_activity.py).
    demo_activity: bool = False
    # Change notifications (docs/notifications.md). Receivers on loopback or private addresses,
    # and http:// URLs, are refused unless this allows them (tests, local use).
    notification_allow_private: bool = False
    # A receiver must answer a notification within this; a failed delivery is tried again after
    # `notification_retry_seconds`, doubling with jitter, until the retry window has passed.
    notification_timeout_seconds: float = DEFAULT_NOTIFICATION_TIMEOUT_SECONDS
    notification_retry_seconds: float = DEFAULT_NOTIFICATION_RETRY_SECONDS
    notification_retry_window_seconds: float = DEFAULT_NOTIFICATION_RETRY_WINDOW_SECONDS
    # How often each server process looks for changes of other processes and due notifications.
    notification_poll_seconds: float = DEFAULT_NOTIFICATION_POLL_SECONDS
    # Hosts that subscriptions in the slack and teams formats may post to (chat webhooks answer
    # no validation handshake, so only hosts the operator named are accepted); none by default.
    notification_chat_hosts: list[str] = field(default_factory=list)
    # The issuer of the validationTokens of rich notifications (docs/notifications.md).
    notification_issuer: str = DEFAULT_NOTIFICATION_ISSUER

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment; non-None ``overrides`` (CLI flags) win. A name that
        is not a setting raises :class:`TypeError`, so a misspelt flag cannot be ignored."""
        unknown = sorted(overrides.keys() - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(
                f"Settings.from_env() got {', '.join(map(repr, unknown))}, which "
                f"{'is not a setting' if len(unknown) == 1 else 'are not settings'}; the settings "
                f"are {', '.join(f.name for f in fields(cls))}"
            )
        env = os.environ
        settings = cls()
        if "FLOWRUNS_DATA_DIR" in env:
            settings.data_dir = Path(env["FLOWRUNS_DATA_DIR"])
        if env.get("FLOWRUNS_PORT"):
            settings.port = _variable("FLOWRUNS_PORT", parse_port)
        settings.database_url = env.get("FLOWRUNS_DATABASE_URL") or None
        settings.secret_key = env.get("FLOWRUNS_SECRET_KEY") or None
        if env.get("FLOWRUNS_ISSUER"):
            settings.issuers = _names(env["FLOWRUNS_ISSUER"])
        if env.get("FLOWRUNS_AUDIENCE"):
            settings.audiences = _names(env["FLOWRUNS_AUDIENCE"])
        if env.get("FLOWRUNS_JWKS_FILE"):
            settings.jwks_file = Path(env["FLOWRUNS_JWKS_FILE"])
        settings.jwks_url = env.get("FLOWRUNS_JWKS_URL") or None
        settings.jwt_secret = env.get("FLOWRUNS_JWT_SECRET") or None
        if env.get("FLOWRUNS_RATE_LIMIT"):
            settings.rate_limit_per_second = float(env["FLOWRUNS_RATE_LIMIT"])
        if env.get("FLOWRUNS_RATE_BURST"):
            settings.rate_limit_burst = int(env["FLOWRUNS_RATE_BURST"])
        # Set by `serve --no-auth` for its worker processes; `serve` refuses it off loopback.
        settings.auth = env.get("FLOWRUNS_NO_AUTH") != "1"
        settings.redis_url = env.get("FLOWRUNS_REDIS_URL") or None
        if env.get("FLOWRUNS_REDIS_PREFIX"):
            settings.redis_prefix = env["FLOWRUNS_REDIS_PREFIX"]
        if env.get("FLOWRUNS_REDIS_COOLDOWN"):
            settings.redis_cooldown_seconds = _variable(
                "FLOWRUNS_REDIS_COOLDOWN", parse_redis_cooldown
            )
        if env.get("FLOWRUNS_RUN_TIMEOUT"):
            try:
                settings.run_timeout_seconds = parse_run_timeout(env["FLOWRUNS_RUN_TIMEOUT"])
            except InvalidSetting as error:
                raise InvalidSetting(f"FLOWRUNS_RUN_TIMEOUT: {error}") from None
        if env.get("FLOWRUNS_HEALTH_EVALUATION", "on") == "off":
            settings.evaluate_health = False
        if env.get("FLOWRUNS_CHANGE_RETENTION"):
            settings.change_retention_seconds = _variable(
                "FLOWRUNS_CHANGE_RETENTION", parse_change_retention
            )
        if env.get("FLOWRUNS_MAX_HEADER_BYTES"):
            settings.max_header_bytes = _variable(
                "FLOWRUNS_MAX_HEADER_BYTES", parse_max_header_bytes
            )
        if env.get("FLOWRUNS_HEADER_TIMEOUT"):
            settings.header_timeout_seconds = _variable(
                "FLOWRUNS_HEADER_TIMEOUT", parse_read_timeout
            )
        if env.get("FLOWRUNS_BODY_TIMEOUT"):
            settings.body_timeout_seconds = _variable("FLOWRUNS_BODY_TIMEOUT", parse_read_timeout)
        if env.get("FLOWRUNS_PUBLIC_URL"):
            settings.public_url = _variable("FLOWRUNS_PUBLIC_URL", parse_public_url)
        if env.get("FLOWRUNS_CORS_ORIGINS"):
            settings.cors_origins = _variable("FLOWRUNS_CORS_ORIGINS", parse_cors_origins)
        settings.demo_activity = env.get("FLOWRUNS_DEMO_ACTIVITY") == "1"
        settings.notification_allow_private = env.get("FLOWRUNS_NOTIFICATION_ALLOW_PRIVATE") == "1"
        for variable, name in _NOTIFICATION_SECONDS.items():
            if env.get(variable):
                setattr(settings, name, _variable(variable, parse_seconds))
        if env.get("FLOWRUNS_NOTIFICATION_CHAT_HOSTS"):
            settings.notification_chat_hosts = [
                host.lower() for host in _names(env["FLOWRUNS_NOTIFICATION_CHAT_HOSTS"])
            ]
        if env.get("FLOWRUNS_NOTIFICATION_ISSUER"):
            settings.notification_issuer = env["FLOWRUNS_NOTIFICATION_ISSUER"]
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, value)
        if overrides.get("public_url") is not None:
            settings.public_url = parse_public_url(str(overrides["public_url"]))
        return settings

    def environment(self) -> dict[str, str]:
        """The ``FLOWRUNS_*`` variables that give another process these settings."""
        env = {"FLOWRUNS_DATA_DIR": str(self.data_dir.resolve())}
        # The port links in notifications name when no public URL is set.
        env["FLOWRUNS_PORT"] = str(self.port)
        if self.database_url:
            env["FLOWRUNS_DATABASE_URL"] = self.database_url
        if self.secret_key:
            env["FLOWRUNS_SECRET_KEY"] = self.secret_key
        env["FLOWRUNS_ISSUER"] = ",".join(self.issuers)
        env["FLOWRUNS_AUDIENCE"] = ",".join(self.audiences)
        if self.jwks_file is not None:
            env["FLOWRUNS_JWKS_FILE"] = str(self.jwks_file.resolve())
        if self.jwks_url:
            env["FLOWRUNS_JWKS_URL"] = self.jwks_url
        if not self.auth:
            env["FLOWRUNS_NO_AUTH"] = "1"
        env["FLOWRUNS_RUN_TIMEOUT"] = repr(self.run_timeout_seconds)
        env["FLOWRUNS_CHANGE_RETENTION"] = repr(self.change_retention_seconds)
        env["FLOWRUNS_HEALTH_EVALUATION"] = "on" if self.evaluate_health else "off"
        env["FLOWRUNS_MAX_HEADER_BYTES"] = str(self.max_header_bytes)
        env["FLOWRUNS_HEADER_TIMEOUT"] = repr(self.header_timeout_seconds)
        env["FLOWRUNS_BODY_TIMEOUT"] = repr(self.body_timeout_seconds)
        if self.public_url:
            env["FLOWRUNS_PUBLIC_URL"] = self.public_url
        env["FLOWRUNS_CORS_ORIGINS"] = ",".join(self.cors_origins)
        if self.notification_allow_private:
            env["FLOWRUNS_NOTIFICATION_ALLOW_PRIVATE"] = "1"
        for variable, name in _NOTIFICATION_SECONDS.items():
            env[variable] = repr(getattr(self, name))
        env["FLOWRUNS_NOTIFICATION_CHAT_HOSTS"] = ",".join(self.notification_chat_hosts)
        env["FLOWRUNS_NOTIFICATION_ISSUER"] = self.notification_issuer
        return env

    def secret(self) -> bytes:
        """The server secret: ``FLOWRUNS_SECRET_KEY``, else one kept in the data directory.
        Raises :class:`InvalidSetting` for a short or placeholder one."""
        if self.secret_key:
            check_secret("FLOWRUNS_SECRET_KEY", self.secret_key)
            return self.secret_key.encode()
        path = self.data_dir / SECRET_FILE
        kept = read_or_create(path, lambda: secrets.token_urlsafe(32).encode()).strip()
        check_secret(str(path), kept.decode())  # say, an empty file a crash left behind
        return kept

    @property
    def trusts_local_key(self) -> bool:
        """Whether tokens signed by the data directory's own key are accepted.

        Only while no external key source is configured: a deployment that trusts an
        identity provider's JWKS must not also accept locally minted tokens.
        """
        return self.jwks_file is None and self.jwks_url is None
