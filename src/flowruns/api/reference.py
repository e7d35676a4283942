"""``/openapi.json`` and ``/docs``: the OpenAPI document, and the same as one HTML page.

The page has no script and fetches nothing from elsewhere, so it works offline and behind strict
firewalls: each operation with its parameters, body and responses, then every schema.
"""

from __future__ import annotations

import html
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from flowruns import __version__
from flowruns.api.routes import ROUTES
from flowruns.edm.openapi import openapi_document

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;margin:.8rem 0;padding:.4rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}
.get{color:#1565c0}.post{color:#2e7d32}.patch{color:#ef6c00}.put{color:#6a1b9a}
.delete{color:#c62828}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f6f6f6;padding:.6rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
"""


def _escape(value: object) -> str:
    return html.escape(str(value))


def _schema_text(schema: dict[str, Any]) -> str:
    return _escape(json.dumps(schema, indent=2, ensure_ascii=False))


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    parts = [
        f'<details class="op"><summary><span class="m {method}">{method.upper()}</span>'
        f"<code>/beta{_escape(path)}</code> — {_escape(operation.get('summary', ''))}</summary>"
    ]
    parameters = operation.get("parameters", [])
    if parameters:
        rows = "".join(
            f"<tr><td><code>{_escape(p['name'])}</code></td><td>{_escape(p['in'])}</td>"
            f"<td>{_escape(p['schema'].get('type', ''))}</td>"
            f"<td>{_escape(p.get('description', ''))}</td></tr>"
            for p in parameters
        )
        parts.append(f"<table><tr><th>Parameter</th><th>In</th><th>Type</th><th></th></tr>{rows}")
        parts.append("</table>")
    body = operation.get("requestBody")
    if body is not None:
        schema = next(iter(body["content"].values()))["schema"]
        parts.append(f"<p>Body:</p><pre>{_schema_text(schema)}</pre>")
    responses = ", ".join(
        f"<b>{_escape(code)}</b> {_escape(r.get('description', ''))}"
        for code, r in operation["responses"].items()
    )
    parts.append(f"<p>Responses: {responses}</p></details>")
    return "".join(parts)


def render_reference(document: dict[str, Any]) -> str:
    """The HTML page for ``document``."""
    info = document["info"]
    parts = [
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{_escape(info['title'])} API"
        f"</title><style>{_STYLE}</style><h1>{_escape(info['title'])} API "
        f"{_escape(info['version'])}</h1><p>{_escape(info['description'])} The machine-readable "
        'description is <a href="/openapi.json">/openapi.json</a>.</p>'
    ]
    by_tag: dict[str, list[str]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            by_tag.setdefault(operation["tags"][0], []).append(_operation(path, method, operation))
    for tag, operations in by_tag.items():
        parts.append(f"<h2>{_escape(tag)}</h2>{''.join(operations)}")
    parts.append("<h2>Schemas</h2>")
    for name, schema in document["components"]["schemas"].items():
        parts.append(
            f'<details class="op" id="{_escape(name)}"><summary><code>{_escape(name)}</code>'
            f"</summary><pre>{_schema_text(schema)}</pre></details>"
        )
    parts.append("</html>")
    return "".join(parts)


def routes() -> list[Route]:
    """The two host-level routes, outside the auth wall (they describe, they hold no data)."""
    document = openapi_document("flowruns", __version__, ROUTES.described())
    page = render_reference(document)

    async def openapi_json(_: Request) -> Response:
        return JSONResponse(document)

    async def docs(_: Request) -> Response:
        return HTMLResponse(page)

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
