"""The entity record: what the store reads, the service changes and the response writes.

It sits beside the layers rather than in one of them, as :mod:`flowruns.errors` does: the store
returns records, the service applies its rules to them and :mod:`flowruns.odata.payload` formats
them, and none of those needs to import another to share the type. It describes one value of an
entity type of :mod:`flowruns.edm`, which itself only describes types.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from flowruns.edm.model import EntityType


def new_etag() -> str:
    """A new version of an entity: 16 hex digits."""
    return secrets.token_hex(8)


@dataclass
class Record:
    """One stored entity: its concrete type, identity, version and property values.

    Values are by property name: strings, numbers, enum member names, integer ticks for
    date-times (:mod:`flowruns.edm.datetimes`), and JSON values for complex properties (or their
    stored text, where a page is read to be written straight into a response).
    """

    type: EntityType
    id: str
    etag: str
    values: dict[str, Any] = field(default_factory=dict)
    process_id: str | None = None
    touched: int | None = None
    # Expanded navigations: a record (or None) for single-valued ones, a list for collections;
    # "<name>@odata.count" entries carry counts asked for with a nested $count.
    expanded: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessLink:
    """A run's link to a process as a write sets it: to the process ``process_id``, or to no
    process when that is None. Where a write takes ``ProcessLink | None``, None leaves the link
    as it is."""

    process_id: str | None
