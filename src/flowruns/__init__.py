"""flowruns: record and inspect data-flow runs through a Graph industryData-compatible API."""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from flowruns.client import AsyncClient, Client

__all__ = ["AsyncClient", "Client", "__version__"]


def __getattr__(name: str) -> object:
    # `flowruns.Client` without making every server process import the SDK.
    if name in ("AsyncClient", "Client"):
        from flowruns import client  # noqa: PLC0415

        return getattr(client, name)
    raise AttributeError(f"module 'flowruns' has no attribute {name!r}")
