"""The four permissions of the industryData run API, as Microsoft Graph names them.

A token carries them as delegated scopes (``scp``, space-separated) or application roles
(``roles``); a ``.ReadWrite.All`` permission implies its ``.Read.All``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

RUN_READ = "IndustryData-Run.Read.All"
RUN_READ_WRITE = "IndustryData-Run.ReadWrite.All"
FLOW_READ = "IndustryData-OutboundFlow.Read.All"
FLOW_READ_WRITE = "IndustryData-OutboundFlow.ReadWrite.All"
ALL_PERMISSIONS = frozenset({RUN_READ, RUN_READ_WRITE, FLOW_READ, FLOW_READ_WRITE})
READ_WRITE_PERMISSIONS = (RUN_READ_WRITE, FLOW_READ_WRITE)


class Area(Enum):
    """What a permission pair guards: runs and run groups, or processes (outbound flows)."""

    RUNS = (RUN_READ, RUN_READ_WRITE)
    FLOWS = (FLOW_READ, FLOW_READ_WRITE)


@dataclass(frozen=True)
class Need:
    """Reading or writing one area."""

    area: Area
    write: bool

    @property
    def permission(self) -> str:
        """The least permission that grants this need."""
        read, read_write = self.area.value
        return read_write if self.write else read

    def granted_by(self, permissions: frozenset[str]) -> bool:
        read, read_write = self.area.value
        return read_write in permissions or (not self.write and read in permissions)
