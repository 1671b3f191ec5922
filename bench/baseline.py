"""The baseline: a bare ASGI app on the same server software (uvicorn, uvloop, httptools) answering
with stored bytes: one order document for `/order`, a 100-order page for `/list`. What orderdesk adds
on top (auth, rate limits, the database) is measured as a ratio to this, in the same run."""

from __future__ import annotations

import os
from pathlib import Path

_FOLDER = Path(os.environ["ORDERDESK_BASELINE_DIR"])
_ORDER = (_FOLDER / "order.json").read_bytes()
_PAGE = (_FOLDER / "page.json").read_bytes()
_HEADERS = [(b"content-type", b"application/json")]


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body = _PAGE if scope["path"] == "/list" else _ORDER
    await send({"type": "http.response.start", "status": 200,
                "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
