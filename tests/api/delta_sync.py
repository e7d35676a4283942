"""A delta client as Graph's documentation describes one: follow nextLinks to the deltaLink,
apply each entity and each ``@removed`` to a local copy, keep the deltaLink for next time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient


@dataclass
class Mirror:
    """A local copy of a collection, kept by delta rounds."""

    first: str  # the delta() URL of the first round
    copy: dict[str, dict[str, Any]] = field(default_factory=dict)
    delta_link: str | None = None
    page_size: int = 3

    def sync(self, client: TestClient) -> list[dict[str, Any]]:
        """One round: every page up to the deltaLink; the items the round returned."""
        url = self.delta_link or self.first
        seen: list[dict[str, Any]] = []
        while True:
            response = client.get(url, headers={"Prefer": f"odata.maxpagesize={self.page_size}"})
            assert response.status_code == 200, response.text
            body = response.json()
            # A page carries a nextLink or a deltaLink, never both.
            assert ("@odata.nextLink" in body) != ("@odata.deltaLink" in body), body
            for item in body["value"]:
                seen.append(item)
                if "@removed" in item:
                    assert item["@removed"]["reason"] in ("deleted", "changed"), item
                    self.copy.pop(item["id"], None)
                else:
                    self.copy[item["id"]] = _state(item)
            if "@odata.deltaLink" in body:
                self.delta_link = body["@odata.deltaLink"]
                return seen
            url = body["@odata.nextLink"]


def _state(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("@")}


def full_read(client: TestClient, url: str) -> dict[str, dict[str, Any]]:
    """Every entity of a collection read page by page, as a delta copy holds it."""
    read: dict[str, dict[str, Any]] = {}
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["value"]:
            read[item["id"]] = _state(item)
        url = body.get("@odata.nextLink", "")
    return read
