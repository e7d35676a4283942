"""The synchronous client is generated from the asynchronous one and offers the same surface."""

from __future__ import annotations

import inspect

import pytest

from flowruns.client import AsyncClient, Client, unasync
from flowruns.client.asynchronous import AsyncDatasets, AsyncIncidents, AsyncProcesses, AsyncRuns
from flowruns.client.sync import Datasets, Incidents, Processes, Runs


def test_the_synchronous_client_is_generated_from_the_asynchronous_one() -> None:
    assert unasync.TARGET.read_text() == unasync.render(), (
        "src/flowruns/client/sync.py is out of date; run python -m flowruns.client.unasync"
    )


def test_unasync_drops_awaiting_and_renames_in_code_and_docstrings() -> None:
    source = (
        '"""The module."""\n'
        "async def wait(client: AsyncClient) -> dict[str, Awaitable[list[int]]]:\n"
        '    """``async with`` it, then ``await client.aclose()``."""\n'
        "    async with client:  # an AsyncIterator\n"
        "        await anyio.sleep(1)\n"
        "    async for item in client.items:\n"
        "        yield item\n"
    )
    generated = unasync.unasync(source)
    assert generated.split("\n", 1)[0].startswith('"""The synchronous client')
    assert generated.endswith(
        "def wait(client: Client) -> dict[str, list[int]]:\n"
        '    """``with`` it, then ``client.close()``."""\n'
        "    with client:  # an Iterator\n"
        "        time.sleep(1)\n"
        "    for item in client.items:\n"
        "        yield item\n"
    )


def _public(cls: type) -> dict[str, list[tuple[object, ...]]]:
    """Each public method's parameters (name, kind, default); ``aclose`` is the asynchronous
    ``close``. Every one of them must be documented: editors show the docstrings."""
    methods = {
        "close" if name == "aclose" else name: member
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and (not name.startswith("_") or name == "__init__")
    }
    undocumented = [n for n, m in methods.items() if not m.__doc__ and n != "__init__"]
    assert not undocumented, f"{cls.__name__}: {undocumented} have no docstring"
    return {
        name: [(p.name, p.kind, p.default) for p in inspect.signature(m).parameters.values()]
        for name, m in methods.items()
    }


@pytest.mark.parametrize(
    ("blocking", "awaiting"),
    [
        (Client, AsyncClient),
        (Runs, AsyncRuns),
        (Processes, AsyncProcesses),
        (Datasets, AsyncDatasets),
        (Incidents, AsyncIncidents),
    ],
)
def test_both_clients_offer_the_same_documented_methods(blocking: type, awaiting: type) -> None:
    assert blocking.__doc__
    assert awaiting.__doc__
    assert _public(blocking) == _public(awaiting)
