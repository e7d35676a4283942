"""``GET /`` (the dashboard page) and ``GET /dashboard/{file}`` (its scripts, styles and icon).

The files are read once, when the app is built: they are few and small, a lookup in a dict cannot
leave the directory, and each gets its content type and a content-hash ETag. Every response
carries a strict Content-Security-Policy (scripts, styles and connections from this origin only,
no inline code), so a value the API returns can never run as code even if a page mishandled it.
These routes hold no data and sit outside the auth wall; the pages send the token themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ASSET_PREFIX = "/dashboard/"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Revalidate every time (a 304 when unchanged), so an upgraded server never mixes old and
    # new modules in one page.
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    """One static file, ready to send."""

    body: bytes
    media_type: str
    etag: str

    def response(self, request: Request) -> Response:
        headers = {**SECURITY_HEADERS, "ETag": self.etag}
        if self.etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _etags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def load_assets() -> dict[str, Asset]:
    """Every file below ``static/`` by its path relative to it (``pages/runs.js``)."""
    assets: dict[str, Asset] = {}
    pending = [("", resources.files(__package__ or "flowruns.dashboard") / "static")]
    while pending:
        prefix, folder = pending.pop()
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                pending.append((name + "/", entry))
                continue
            suffix = name[name.rfind(".") :]
            if suffix not in MEDIA_TYPES:
                continue
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            assets[name] = Asset(body, MEDIA_TYPES[suffix], etag)
    return assets


def routes() -> list[Route]:
    """The page at ``/`` and its files under :data:`ASSET_PREFIX`."""
    assets = load_assets()
    page = assets["index.html"]

    async def index(request: Request) -> Response:
        return page.response(request)

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["path"])
        if found is None:
            raise HTTPException(404)  # answered in the Graph error shape by the app
        return found.response(request)

    return [
        Route("/", index, methods=["GET"]),
        Route(ASSET_PREFIX + "{path:path}", asset, methods=["GET"]),
    ]
