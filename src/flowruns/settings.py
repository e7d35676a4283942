"""One typed settings object, read from ``FLOWRUNS_*`` environment variables and CLI flags."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TENANT = "00000000-0000-0000-0000-000000000001"
SECRET_FILE = "secret.key"


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

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment; non-None ``overrides`` (CLI flags) win."""
        env = os.environ
        settings = cls()
        if "FLOWRUNS_DATA_DIR" in env:
            settings.data_dir = Path(env["FLOWRUNS_DATA_DIR"])
        settings.database_url = env.get("FLOWRUNS_DATABASE_URL") or None
        settings.secret_key = env.get("FLOWRUNS_SECRET_KEY") or None
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, value)
        return settings

    def environment(self) -> dict[str, str]:
        """The ``FLOWRUNS_*`` variables that give another process these settings."""
        env = {"FLOWRUNS_DATA_DIR": str(self.data_dir.resolve())}
        if self.database_url:
            env["FLOWRUNS_DATABASE_URL"] = self.database_url
        if self.secret_key:
            env["FLOWRUNS_SECRET_KEY"] = self.secret_key
        return env

    def secret(self) -> bytes:
        """The server secret: ``FLOWRUNS_SECRET_KEY``, else one kept in the data directory."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(32))
        return path.read_text().strip().encode()
