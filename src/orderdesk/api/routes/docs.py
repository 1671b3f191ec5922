"""The API's documentation, no token needed: `/openapi.json` is the document kept in the repository, byte for
byte; `/docs` is the same document as one HTML page rendered here, with no JavaScript and a stylesheet this
server serves (a CDN would make the docs depend on, and report their readers to, a third party)."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib.resources import files

from litestar import Response, get

_API = files("orderdesk.api")
# The page's one asset is its own stylesheet: nothing may run, or load from elsewhere.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
}
_CONSTRAINTS = ("format", "pattern", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf",
                "minLength", "maxLength", "minItems", "maxItems", "maxProperties", "default", "const")
_REQUIRED = " <strong>required</strong>"


@cache
def document_bytes() -> bytes:
    return _API.joinpath("openapi.json").read_bytes()


@cache
def operation_ids() -> dict[tuple[str, str], str]:
    """(METHOD, path template) of every operation of the document, and its operationId."""
    paths = json.loads(document_bytes())["paths"]
    return {(method.upper(), path): operation["operationId"]
            for path, item in paths.items() for method, operation in item.items()}


@cache
def extensions() -> frozenset[tuple[str, str]]:
    """(METHOD, path template) of every operation of ours under /v2: what strict Webflow mode does not serve."""
    paths = json.loads(document_bytes())["paths"]
    return frozenset((method.upper(), path) for path, item in paths.items() for method, operation in item.items()
                     if path.startswith("/v2/") and operation.get("x-orderdesk-extension"))


@cache
def page_bytes() -> bytes:
    return render_page(json.loads(document_bytes())).encode()


@get("/openapi.json")
async def openapi_document() -> Response:
    return Response(content=document_bytes(), media_type="application/json")


@get("/docs")
async def docs_page() -> Response:
    return Response(content=page_bytes(), media_type="text/html", headers=_PAGE_HEADERS)


@get("/docs/docs.css")
async def docs_stylesheet() -> Response:
    return Response(content=_API.joinpath("static/docs.css").read_bytes(), media_type="text/css",
                    headers={"X-Content-Type-Options": "nosniff"})


ROUTES = [openapi_document, docs_page, docs_stylesheet]


def render_page(document: dict) -> str:
    """The whole document as HTML; every value taken from the document is escaped."""
    return _Page(document).render()


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _json(value: object) -> str:
    return f"<pre>{_e(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


def _text(value: object) -> str:
    return f'<div class="text">{_e(value)}</div>' if value else ""


def _heading(method: str, path: str, summary: str) -> str:
    return f'<span class="method">{_e(method.upper())}</span> <code>{_e(path)}</code> {_e(summary)}'


class _Page:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.components = document.get("components", {})
        # A shape met again (Webflow repeats its error envelope and its Order inline in every operation) links to
        # where it is shown, so the page shows each shape once: our named schemas, then each first sight.
        self.shown: dict[str, tuple[str, str]] = {
            self._key(schema): (f"schema-{name}", name) for name, schema in self.components.get("schemas", {}).items()}

    def render(self) -> str:
        info, by_tag = self.document.get("info", {}), self._by_tag()
        contents = "".join(f"<li>{_e(tag)}<ul>" + "".join(
            f'<li><a href="#op-{_e(op.get("operationId", ""))}">{_heading(method, path, op.get("summary", ""))}'
            "</a></li>" for path, method, op in entries) + "</ul></li>" for tag, entries in by_tag.items())
        sections = "".join(f'<section><h2 id="tag-{_e(tag)}">{_e(tag)}</h2>' + "".join(
            self._operation(path, method, op) for path, method, op in entries) + "</section>"
            for tag, entries in by_tag.items())
        webhooks = "".join(self._operation(name, method, op, webhook=True)
                           for name, item in self.document.get("webhooks", {}).items() for method, op in item.items())
        schemas = "".join(f'<article id="schema-{_e(name)}" class="schema"><h3>{_e(name)}</h3>'
                          f"{self._schema(schema, top=True, anchor=False)}</article>"
                          for name, schema in self.components.get("schemas", {}).items())
        title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
        return (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="stylesheet" href="/docs/docs.css"></head><body>'
            f"<header><h1>{_e(title)}</h1><p>{_e(info.get('summary', ''))}</p>{_text(info.get('description'))}"
            '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI '
            f"{_e(self.document.get('openapi', ''))}).</p></header>"
            f'<nav><h2>Operations</h2><ul>{contents}</ul></nav><main>{sections}'
            f'<section><h2 id="webhooks">Webhooks sent</h2>{webhooks}</section>'
            f'<section><h2 id="schemas">Schemas</h2>{schemas}</section></main></body></html>'
        )

    def _by_tag(self) -> dict[str, list[tuple[str, str, dict]]]:
        """The operations under their first tag, in the order the document lists its tags."""
        operations = [(path, method, operation) for path, item in self.document.get("paths", {}).items()
                      for method, operation in item.items() if isinstance(operation, dict) and "responses" in operation]
        grouped: dict[str, list] = {tag.get("name", ""): [] for tag in self.document.get("tags", [])}
        for path, method, operation in operations:
            grouped.setdefault((operation.get("tags") or ["Other"])[0], []).append((path, method, operation))
        return {tag: entries for tag, entries in grouped.items() if entries}

    def _operation(self, path: str, method: str, op: dict, webhook: bool = False) -> str:
        origin = "orderdesk extension" if op.get("x-orderdesk-extension") else "Webflow Data API v2"
        security = op.get("security", self.document.get("security", []))
        scopes = sorted({scope for requirement in security for names in requirement.values() for scope in names})
        access = ("sent by orderdesk" if webhook else "no token" if not security else
                  "scope " + ", ".join(scopes) if scopes else "a token")
        anchor = ("hook-" if webhook else "op-") + str(op.get("operationId", path))
        parts = [f'<article class="operation" id="{_e(anchor)}"><h3>{_heading(method, path, op.get("summary", ""))}'
                 f'</h3><p class="meta">operationId <code>{_e(op.get("operationId", ""))}</code> · {_e(origin)} · '
                 f"{_e(access)}</p>{_text(op.get('description'))}"]
        parameters = [self._resolve(parameter) for parameter in op.get("parameters", [])]
        if parameters:
            parts.append("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th><th>description</th>"
                         "<th>example</th></tr>" + "".join(map(self._parameter, parameters)) + "</table>")
        if "requestBody" in op:
            request = self._resolve(op["requestBody"])
            needed = "required" if request.get("required") else "optional"
            parts.append(f"<h4>Request body ({needed})</h4>{_text(request.get('description'))}"
                         + self._content(request.get("content", {})))
        parts.append("<h4>Responses</h4>")
        parts += [self._response(status, self._resolve(answer)) for status, answer in op.get("responses", {}).items()]
        return "".join(parts) + "</article>"

    def _parameter(self, parameter: dict) -> str:
        required = _REQUIRED if parameter.get("required") else ""
        example = _e(json.dumps(parameter["example"], ensure_ascii=False)) if "example" in parameter else ""
        return (f"<tr><td><code>{_e(parameter.get('name', ''))}</code>{required}</td>"
                f"<td>{_e(parameter.get('in', ''))}</td><td>{self._summary(parameter.get('schema', {}))}</td>"
                f"<td>{_text(parameter.get('description'))}</td><td><code>{example}</code></td></tr>")

    def _response(self, status: str, answer: dict) -> str:
        parts = [f'<div class="response"><h5>{_e(status)} {_e(answer.get("description", ""))}</h5>']
        headers = {name: self._resolve(header) for name, header in answer.get("headers", {}).items()}
        if headers:
            parts.append("<table><tr><th>header</th><th>schema</th><th>description</th></tr>" + "".join(
                f"<tr><td><code>{_e(name)}</code>{_REQUIRED if header.get('required') else ''}</td>"
                f"<td>{self._summary(header.get('schema', {}))}</td><td>{_text(header.get('description'))}</td></tr>"
                for name, header in headers.items()) + "</table>")
        parts.append(self._content(answer.get("content", {})))
        links = answer.get("links", {})
        if links:
            parts.append("<p>Links: " + ", ".join(
                f'<a href="#op-{_e(link.get("operationId", ""))}">{_e(name)}</a>' for name, link in links.items())
                + "</p>")
        return "".join(parts) + "</div>"

    def _content(self, content: dict) -> str:
        parts = []
        for media_type, media in content.items():
            parts.append(f"<p>Media type <code>{_e(media_type)}</code></p>"
                         + self._schema(media.get("schema", {}), top=True))
            if "example" in media:
                parts.append(f"<p>Example</p>{_json(media['example'])}")
            for name, example in media.get("examples", {}).items():
                example = self._resolve(example)
                parts.append(f"<p>Example <code>{_e(name)}</code>: {_e(example.get('summary', ''))}</p>"
                             + _json(example.get("value")))
        return "".join(parts)

    def _schema(self, schema: dict, top: bool = False, anchor: bool = True) -> str:
        """A schema as nested lists; a shape shown before becomes a link to it."""
        if not isinstance(schema, dict):
            return f"<code>{_e(json.dumps(schema))}</code>"
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return f'<a href="#schema-{_e(name)}">{_e(name)}</a>{_text(schema.get("description"))}'
        identity = ""
        if anchor and schema.get("properties"):
            key = self._key(schema)
            if key in self.shown:
                target, label = self.shown[key]
                return f'<a href="#{_e(target)}">{_e(label)}</a>'
            target = f"shape-{len(self.shown)}"
            self.shown[key] = (target, "the same shape as shown before")
            identity = f' id="{target}"'
        parts = [f'<div class="schema"{identity}>{self._summary(schema)}', _text(schema.get("description"))]
        required = set(schema.get("required", []))
        if schema.get("properties"):
            parts.append('<ul class="properties">' + "".join(
                f"<li><code>{_e(name)}</code>{_REQUIRED if name in required else ''} {self._schema(value)}</li>"
                for name, value in schema["properties"].items()) + "</ul>")
        for word in ("items", "additionalProperties", "propertyNames"):
            if isinstance(schema.get(word), dict):
                parts.append(f"<p>{_e(word)}:</p>{self._schema(schema[word])}")
        for word in ("oneOf", "anyOf", "allOf"):
            if schema.get(word):
                parts.append(f"<p>{_e(word)}:</p><ol>" + "".join(
                    f"<li>{self._schema(option)}</li>" for option in schema[word]) + "</ol>")
        if "example" in schema:
            example = schema["example"]
            parts.append(_json(example) if top or isinstance(example, dict | list) else
                         f"<p>Example: <code>{_e(json.dumps(example, ensure_ascii=False))}</code></p>")
        return "".join(parts) + "</div>"

    def _summary(self, schema: dict) -> str:
        """The type and the constraints of a schema, in one line."""
        kind = schema.get("type", "")
        words = [" | ".join(kind) if isinstance(kind, list) else kind]
        if schema.get("nullable"):
            words.append("nullable")
        if "enum" in schema:
            words.append("one of " + ", ".join(json.dumps(value, ensure_ascii=False) for value in schema["enum"]))
        words += [f"{name} {json.dumps(schema[name], ensure_ascii=False)}" for name in _CONSTRAINTS if name in schema]
        if schema.get("readOnly"):
            words.append("read-only")
        return f'<span class="type">{_e("; ".join(word for word in words if word))}</span>'

    def _resolve(self, value: dict) -> dict:
        """A `#/components/...` reference replaced by what it names (one level: ours never chain)."""
        if isinstance(value, dict) and str(value.get("$ref", "")).startswith("#/components/"):
            _, _, kind, name = value["$ref"].split("/", 3)
            return self.components.get(kind, {}).get(name, {})
        return value

    @staticmethod
    def _key(schema: object) -> str:
        return json.dumps(schema, sort_keys=True)
