"""``/openapi.json`` and ``/docs``: the OpenAPI document, and the same as one HTML page.

The page shows each operation with a curl line to copy (``$TOKEN`` and the service root filled
in), its parameters, and its request body and responses inline: every ``$ref`` resolved into a
table of members, each with an example. It loads only this server's own files (a stylesheet and
one script module, served with the dashboard's files and its Content-Security-Policy) and works
offline. The script adds what needs one: Copy buttons, and a form to try each operation with the
token the dashboard is signed in with (the same browser storage, as the page is on the same
origin). Without the script the page is complete, only not interactive.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from flowruns import __version__
from flowruns.api.routes import ROUTES
from flowruns.api.schema_view import Schema, SchemaView, anchor, short_name
from flowruns.api.urls import SERVICE_ROOT_PATH, service_root
from flowruns.dashboard.routes import SECURITY_HEADERS
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.openapi import openapi_document

# Stands for the service root in the rendered page; each answer puts the root it serves there.
_ROOT = "\ue000service-root\ue000"
_EXAMPLE_IDS = {
    "process-id": "eb4850c2-ec72-40cb-a6ea-b0251014b973",
    "run-id": "50411dba-20aa-42cb-9238-3e02f9233fd5",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PLAIN_ROOT = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?")
_DEFAULT_ROOT = f"http://127.0.0.1:8000{SERVICE_ROOT_PATH}"


def _escape(value: object) -> str:
    return html.escape(str(value))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def shell_variable(parameter: str) -> str:
    """The shell variable a path parameter is written as: ``runGroup-id`` → ``RUN_GROUP_ID``."""
    return _CAMEL.sub("_", parameter).replace("-", "_").upper()


def _shell_path(path: str) -> str:
    """``path`` inside double quotes: ``$count`` kept literal, ``{run-id}`` as ``$RUN_ID``."""
    quoted = path.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    quoted = quoted.replace("$", "\\$")
    return re.sub(r"\{([^}]+)\}", lambda m: "$" + shell_variable(m[1]), quoted)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _shown_root(request: Request) -> str:
    """The service root the page's curl lines name: the one responses link to, when it is
    plain enough to paste into a shell as it is (a client chooses the Host header freely)."""
    root = service_root(request)
    return html.escape(root) if _PLAIN_ROOT.fullmatch(root) else _DEFAULT_ROOT


class Reference:
    """The page for one OpenAPI document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.view = SchemaView(document["components"]["schemas"])

    def body_schema(self, operation: dict[str, Any]) -> Schema | None:
        body = operation.get("requestBody")
        if body is None:
            return None
        schema: Schema = next(iter(body["content"].values()))["schema"]
        return schema

    def body_example(self, path: str, schema: Schema) -> Any:
        """The example body; a link to an entity points at one of the kind the path links."""
        _, resolved = self.view.resolve(schema)
        if "@odata.id" in resolved.get("required", []):
            kind, key = ("processes", "process-id") if "/process/" in path else ("runs", "run-id")
            return {"@odata.id": f"{_ROOT}/{HUB_PATH}/{kind}/{_EXAMPLE_IDS[key]}"}
        return self.view.example(schema)

    def curl(self, method: str, path: str, operation: dict[str, Any]) -> str:
        """A curl line that sends the operation with ``$TOKEN`` (and the example body)."""
        words = ["curl -s"]
        if method != "get":
            words.append(f"-X {method.upper()}")
        words.append('-H "Authorization: Bearer $TOKEN"')
        url = f'"{_ROOT}{_shell_path(path)}"'
        schema = self.body_schema(operation)
        if schema is None:
            return " ".join([*words, url])
        body = _single_quoted(json.dumps(self.body_example(path, schema), ensure_ascii=False))
        # A link in the body names the entity by its shell variable too, as the URL does.
        for parameter, example_id in _EXAMPLE_IDS.items():
            body = body.replace(example_id, f"'\"${shell_variable(parameter)}\"'")
        words.append("-H 'Content-Type: application/json'")
        return " \\\n  ".join([" ".join([*words, url]), f"-d {body}"])

    def parameters(self, operation: dict[str, Any]) -> str:
        parameters = operation.get("parameters", [])
        if not parameters:
            return ""
        rows = []
        for p in parameters:
            mark = ' <span class="required">required</span>' if p.get("required") else ""
            notes = f"{_escape(p.get('description', ''))} {self.view.constraints(p['schema'])}"
            rows.append(
                f"<tr><td><code>{_escape(p['name'])}</code>{mark}</td><td>{_escape(p['in'])}</td>"
                f"<td>{self.view.type_text(p['schema'])}</td><td>{notes}</td></tr>"
            )
        return (
            '<h3>Parameters</h3><table class="members"><thead><tr><th scope="col">Name</th>'
            '<th scope="col">In</th><th scope="col">Type</th><th scope="col">Notes</th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def schema_block(self, schema: Schema, example: Any) -> str:
        """A schema's name, its members and an example."""
        name, _ = self.view.resolve(schema)
        title = (
            f'<p>Schema <a href="#{_escape(anchor(name))}"><code>{_escape(short_name(name))}'
            "</code></a></p>"
            if name
            else ""
        )
        shown = json.dumps(example, indent=2, ensure_ascii=False)
        return (
            f"{title}{self.view.members(schema)}<p>Example:</p>"
            f'<pre class="example" tabindex="0"><code>{_escape(shown)}</code></pre>'
        )

    def responses(self, operation: dict[str, Any]) -> str:
        parts = ["<h3>Responses</h3>"]
        for code, response in operation["responses"].items():
            status = "Any other status" if code == "default" else _escape(code)
            parts.append(f"<h4>{status}: {_escape(response.get('description', ''))}</h4>")
            for media_type, content in response.get("content", {}).items():
                parts.append(f"<p>Content type <code>{_escape(media_type)}</code></p>")
                if "schema" in content and media_type == "application/json":
                    schema = content["schema"]
                    parts.append(self.schema_block(schema, self.view.example(schema)))
        return "".join(parts)

    def try_form(self, op_id: str, method: str, path: str, operation: dict[str, Any]) -> str:
        """A form to send the operation from the page; hidden until the page's script runs."""
        fields = []
        for i, parameter in enumerate(operation.get("parameters", [])):
            field_id = f"{op_id}-p{i}"
            where = {"path": "in the path", "query": "query option", "header": "header"}
            note = where.get(parameter["in"], parameter["in"])
            if parameter.get("required"):
                note += ", required"
            fields.append(
                f'<div class="field"><label for="{field_id}"><code>{_escape(parameter["name"])}'
                f"</code> ({_escape(note)})</label><input id={field_id} "
                f'name="{_escape(parameter["in"])}:{_escape(parameter["name"])}" '
                f'autocomplete="off" spellcheck="false"'
                f"{' required' if parameter.get('required') else ''}></div>"
            )
        schema = self.body_schema(operation)
        if schema is not None:
            body = json.dumps(self.body_example(path, schema), indent=2, ensure_ascii=False)
            fields.append(
                f'<div class="field"><label for="{op_id}-body">Request body (JSON)</label>'
                f'<textarea id="{op_id}-body" name="body" rows="8" spellcheck="false">'
                f"{_escape(body)}</textarea></div>"
            )
        return (
            f'<form class="try" hidden data-method="{method}" data-path="{_escape(path)}" '
            f'aria-labelledby="{op_id}-try"><h3 id="{op_id}-try">Try it</h3>'
            '<p class="try-signed-in"></p>'
            f"{''.join(fields)}"
            f'<button type="submit">Send {method.upper()}</button>'
            '<div class="try-result" role="status"></div></form>'
        )

    def operation(self, path: str, method: str, operation: dict[str, Any]) -> str:
        op_id = f"op-{method}-{_slug(path) or 'root'}"
        schema = self.body_schema(operation)
        body = ""
        if schema is not None:
            example = self.body_example(path, schema)
            body = f"<h3>Request body</h3>{self.schema_block(schema, example)}"
        return (
            f'<details class="op" id="{op_id}"><summary><span class="m {method}">'
            f"{method.upper()}</span> <code>{SERVICE_ROOT_PATH}{_escape(path)}</code> — "
            f"{_escape(operation.get('summary', ''))}</summary>"
            f'<pre class="curl" tabindex="0"><code>'
            f"{_escape(self.curl(method, path, operation))}</code></pre>"
            f"{self.parameters(operation)}{body}{self.responses(operation)}"
            f"{self.try_form(op_id, method, path, operation)}</details>"
        )

    def page(self) -> str:
        """The page, with the placeholder :data:`_ROOT` where the service root goes."""
        info = self.document["info"]
        title = f"{_escape(info['title'])} API {_escape(info['version'])}"
        parts = [
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>{title}</title>"
            '<link rel="stylesheet" href="/dashboard/docs.css">'
            '<script type="module" src="/dashboard/docs.js"></script></head><body><main>'
            f"<h1>{title}</h1><p>{_escape(info['description'])} The machine-readable "
            'description is <a href="/openapi.json">/openapi.json</a>.</p>'
            "<p>Each curl line uses the shell variable <code>$TOKEN</code> (<code>export "
            "TOKEN=…</code>, as <code>flowruns serve</code> prints it or <code>flowruns token"
            "</code> mints it) and, where a path names an entity, <code>$RUN_ID</code>, "
            "<code>$PROCESS_ID</code> or <code>$RUN_GROUP_ID</code>. <b>Try it</b> sends a "
            'request from this page with the token the <a href="/">dashboard</a> is signed in '
            "with.</p>"
        ]
        by_tag: dict[str, list[str]] = {}
        for path, methods in self.document["paths"].items():
            for method, operation in methods.items():
                by_tag.setdefault(operation["tags"][0], []).append(
                    self.operation(path, method, operation)
                )
        for tag, operations in by_tag.items():
            parts.append(f"<h2>{_escape(tag)}</h2>{''.join(operations)}")
        parts.append("<h2>Schemas</h2>")
        for name, schema in self.view.components.items():
            parts.append(
                f'<details class="op" id="{_escape(anchor(name))}"><summary><code>'
                f"{_escape(name)}</code></summary>"
                f"{self.schema_block(schema, self.view.example(schema))}</details>"
            )
        parts.append("</main></body></html>")
        return "".join(parts)


def routes() -> list[Route]:
    """The two host-level routes, outside the auth wall (they describe, they hold no data)."""
    document = openapi_document("flowruns", __version__, ROUTES.described())
    page = Reference(document).page()

    async def openapi_json(_: Request) -> Response:
        return JSONResponse(document)

    async def docs(request: Request) -> Response:
        return HTMLResponse(page.replace(_ROOT, _shown_root(request)), headers=SECURITY_HEADERS)

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
