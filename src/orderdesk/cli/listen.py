"""`orderdesk listen`: a webhook receiver for your laptop that checks each delivery's signature."""

from __future__ import annotations

import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated

import typer

from orderdesk.cli.common import err
from orderdesk.webhooks.signing import signature

FRESH_MS = 5 * 60 * 1000  # Webflow's advice: reject deliveries signed more than five minutes ago


def listen(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 9000,
    secret: Annotated[str | None, typer.Option(help="The webhook's secretKey, to check signatures.")] = None,
    answer: Annotated[int, typer.Option(help="Status to answer (e.g. 500, to watch retries).")] = 200,
) -> None:
    """Print every webhook delivery that arrives, with its signature checked as Webflow documents it."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()
            err.print(describe(self.path, self.headers, body, secret), soft_wrap=True, highlight=False)

        def log_message(self, *_) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    err.print(f"listening on http://127.0.0.1:{port}/ (answering {answer}; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def describe(path: str, headers, body: bytes, secret: str | None) -> str:
    """One delivery, readably: when, what, which event, whether the signature holds, and the body."""
    timestamp = headers.get("x-webflow-timestamp", "")
    verdict = "signature not checked (no --secret)"
    if secret is not None:
        valid = timestamp.isdigit() and hmac.compare_digest(
            signature(secret, int(timestamp), body), headers.get("x-webflow-signature", ""))
        fresh = timestamp.isdigit() and abs(time.time() * 1000 - int(timestamp)) < FRESH_MS
        verdict = "[green]signature valid[/green]" if valid and fresh else "[red]signature INVALID[/red]"
    try:
        trigger = json.loads(body).get("triggerType", "?")
        shown = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        trigger, shown = "?", body.decode(errors="replace")
    return (f"\n[bold]{trigger}[/bold] POST {path}  event {headers.get('x-orderdesk-event-id', '-')}  {verdict}\n"
            f"{shown}")
