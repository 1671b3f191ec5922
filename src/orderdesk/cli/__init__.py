"""The `orderdesk` command. Machine-readable output goes to stdout, everything else to stderr."""

from __future__ import annotations

import typer

from orderdesk.cli import admin, demo, listen, mailbox, serve, worker
from orderdesk.cli.sandbox import sandbox_app
from orderdesk.cli.simulate import simulate_app
from orderdesk.cli.webhooks import webhooks_app

app = typer.Typer(
    name="orderdesk",
    help="orderdesk: the Webflow Orders API, persistent, with refunds and test tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("seed")(serve.seed)
app.command("demo")(demo.demo)
app.command("worker")(worker.worker)
app.command("listen")(listen.listen)
app.command("mailbox")(mailbox.mailbox)
app.add_typer(admin.sites_app, name="sites")
app.add_typer(admin.tokens_app, name="tokens")
app.add_typer(admin.db_app, name="db")
app.add_typer(simulate_app, name="simulate")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(sandbox_app, name="sandbox")


def main() -> None:
    app(prog_name="orderdesk")
