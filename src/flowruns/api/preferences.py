"""The ``Prefer`` request header (RFC 7240) as far as flowruns honours it."""

from __future__ import annotations

from dataclasses import dataclass

from flowruns.odata.literals import ascii_integer


@dataclass(frozen=True)
class Preferences:
    max_page_size: int | None = None
    return_minimal: bool = False
    cascade_running: bool = False

    @classmethod
    def parse(cls, header: str | None) -> Preferences:
        max_page_size, minimal, cascade = None, False, False
        for item in (header or "").split(","):
            name, _, value = item.strip().partition("=")
            name, value = name.strip().lower(), value.strip().strip('"').lower()
            size = ascii_integer(value) if name == "odata.maxpagesize" else None
            if size:  # an unusable size (0, not a number) is ignored, as RFC 7240 asks
                max_page_size = size
            elif name == "return":
                minimal = value == "minimal"
            elif name == "cascade-running":
                cascade = True
        return cls(max_page_size, minimal, cascade)
