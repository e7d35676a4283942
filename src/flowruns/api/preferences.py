"""The ``Prefer`` request header (RFC 7240) as far as flowruns honours it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowruns.odata.literals import ascii_integer

# Commas between preferences, not those inside a quoted value (a list of annotation patterns).
_BETWEEN_PREFERENCES = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')


@dataclass(frozen=True)
class Preferences:
    max_page_size: int | None = None
    return_minimal: bool = False
    cascade_running: bool = False
    # ``odata.include-annotations`` (OData 4.01 §8.2.8.4): its patterns, as sent.
    include_annotations: tuple[str, ...] = ()

    @classmethod
    def parse(cls, header: str | None) -> Preferences:
        max_page_size, minimal, cascade = None, False, False
        annotations: tuple[str, ...] = ()
        for item in _BETWEEN_PREFERENCES.split(header or ""):
            name, _, raw = item.strip().partition("=")
            name, value = name.strip().lower(), raw.strip().strip('"').lower()
            size = ascii_integer(value) if name == "odata.maxpagesize" else None
            if size:  # an unusable size (0, not a number) is ignored, as RFC 7240 asks
                max_page_size = size
            elif name == "return":
                minimal = value == "minimal"
            elif name == "cascade-running":
                cascade = True
            elif name in ("odata.include-annotations", "include-annotations"):
                patterns = raw.strip().strip('"').split(",")
                annotations = tuple(p.strip() for p in patterns if p.strip())
        return cls(max_page_size, minimal, cascade, annotations)

    def includes(self, term: str) -> bool:
        """Whether the client asked for instance annotations of ``term`` (a qualified name):
        named, or matched by ``*`` or ``namespace.*``, and not excluded with ``-``."""

        def matches(pattern: str) -> bool:
            if pattern == "*":
                return True
            if pattern.endswith(".*"):
                return term.startswith(pattern[:-1])
            return pattern == term

        excluded = any(matches(p[1:]) for p in self.include_annotations if p.startswith("-"))
        wanted = any(matches(p) for p in self.include_annotations if not p.startswith("-"))
        return wanted and not excluded
