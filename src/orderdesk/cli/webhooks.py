"""`orderdesk webhooks ...`: register, list and remove webhooks; look at their deliveries, replay one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from orderdesk.cli.admin import _when
from orderdesk.cli.common import DatabaseOption, err, fail, lazy_module, open_database, settings
from orderdesk.config import Settings
from orderdesk.domain import clock
from orderdesk.domain.webhooks import TRIGGERS, WebhookRow
from orderdesk.errors import AppError, WebhookNotFound

if TYPE_CHECKING:
    from orderdesk.store.database import Database

access = lazy_module("orderdesk.services.access")
webhooks = lazy_module("orderdesk.services.webhooks")

webhooks_app = typer.Typer(
    help="Register webhooks, list and remove them, look at their deliveries and send one again.",
    no_args_is_help=True,
)

SiteOption = Annotated[str, typer.Option(help="The site the webhook belongs to.")]
WebhookArgument = Annotated[str, typer.Argument(help="The webhook's id (from `webhooks list`).")]


def _moment(millis: int) -> str:
    return clock.to_wire(clock.from_millis(millis))[:19].replace("T", " ")


def _site_database(config: Settings, site: str) -> Database:
    db = open_database(config)
    if access.get_site(db, site) is None:
        fail(f"no site {escape(site)}")
    return db


def _webhook(db: Database, site: str, webhook_id: str) -> WebhookRow:
    try:
        return webhooks.get_webhook(db, site, webhook_id)
    except WebhookNotFound:
        _no_webhook(site, webhook_id)


def _no_webhook(site: str, webhook_id: str) -> None:
    fail(f"no webhook {escape(webhook_id)} on site {escape(site)}")


@webhooks_app.command("create")
def create_webhook(
    site: SiteOption,
    trigger: Annotated[str, typer.Option(help=f"What the webhook hears of: {', '.join(TRIGGERS)}.")],
    url: Annotated[str, typer.Option(help="Where deliveries are POSTed: an absolute http(s) URL.")],
    allow_private: Annotated[bool, typer.Option(
        "--allow-private", help="Accept a loopback or private address, such as a receiver on this machine.",
    )] = False,
    database: DatabaseOption = None,
) -> None:
    """Register a webhook; prints its id alone on stdout, and its signing secret once, on stderr."""
    config = settings(database)
    db = _site_database(config, site)
    try:
        webhook = webhooks.create_webhook(db, site, trigger, url, None, allow_private or config.webhook_allow_private)
    except AppError as error:
        refused_private = any("private" in problem.message for problem in error.details)
        fail(escape(error.message) + (" (--allow-private lets it through)" if refused_private else ""))
    print(webhook.id)
    err.print(escape(f"created webhook {webhook.id}: {webhook.trigger_type} to {webhook.url}"), highlight=False)
    err.print(f"signing secret: {webhook.secret_key}", highlight=False)
    err.print("store it now: it signs every delivery (x-webflow-signature) and is not shown again")
    if not config.webhook_allow_private and _is_private(webhook.url):
        # The worker checks the address again before every delivery (DNS may change).
        err.print("note: the server delivers to private addresses only with ORDERDESK_WEBHOOK_ALLOW_PRIVATE=true "
                  "(`orderdesk demo` sets it)")


def _is_private(url: str) -> bool:
    from orderdesk.webhooks.addresses import TargetRefused, check_url

    try:
        check_url(url, allow_private=False)
    except TargetRefused:
        return True
    return False


@webhooks_app.command("list")
def list_webhooks(site: SiteOption, database: DatabaseOption = None) -> None:
    """List the site's webhooks (never their secrets)."""
    db = _site_database(settings(database), site)
    # Only the ids never wrap (they are copied into other commands); on a narrow terminal the rest folds.
    table = Table(Column("id", no_wrap=True, min_width=24), Column("trigger", overflow="fold"), Column("url", overflow="fold"), "active",
                  "created", "last triggered")
    offset = 0
    while True:
        page = webhooks.list_webhooks(db, site, offset, webhooks.MAX_PAGE)
        for webhook in page.webhooks:
            table.add_row(webhook.id, webhook.trigger_type, escape(webhook.url),
                          "yes" if webhook.deactivated_on is None else "no",
                          _when(webhook.created_on), _when(webhook.last_triggered_on))
        offset += len(page.webhooks)
        if not page.webhooks or offset >= page.total:
            break
    err.print(table)


@webhooks_app.command("delete")
def delete_webhook(webhook_id: WebhookArgument, site: SiteOption, database: DatabaseOption = None) -> None:
    """Remove a webhook, with its pending deliveries and its delivery history."""
    db = _site_database(settings(database), site)
    try:
        webhooks.delete_webhook(db, site, webhook_id)
    except WebhookNotFound:
        _no_webhook(site, webhook_id)
    err.print(f"deleted webhook {webhook_id}", highlight=False)


@webhooks_app.command("deliveries")
def list_deliveries(
    webhook_id: WebhookArgument,
    site: SiteOption,
    limit: Annotated[int, typer.Option(help="How many attempts to show, newest first.", min=1, max=100)] = 20,
    database: DatabaseOption = None,
) -> None:
    """Show a webhook's delivery attempts, newest first: when, what, and how the receiver answered."""
    db = _site_database(settings(database), site)
    _webhook(db, site, webhook_id)
    attempts = webhooks.delivery_attempts(db, site, webhook_id, limit)
    if not attempts:
        err.print(f"webhook {webhook_id} has no delivery attempts yet", highlight=False)
        return
    table = Table("time", Column("delivery", no_wrap=True), Column("event id", no_wrap=True, min_width=32),
                  Column("trigger", overflow="fold"), "attempt", "status code", "duration",
                  Column("error", overflow="fold"))
    for attempt in attempts:
        table.add_row(_moment(attempt.at), str(attempt.delivery_id), attempt.event_id, attempt.trigger_type,
                      str(attempt.attempt), "-" if attempt.status_code is None else str(attempt.status_code),
                      f"{attempt.duration_ms} ms", escape(attempt.error or ""))
    err.print(table)


@webhooks_app.command("redeliver")
def redeliver(
    webhook_id: WebhookArgument,
    delivery_id: Annotated[str, typer.Argument(help="The delivery to send again (from `webhooks deliveries`).")],
    site: SiteOption,
    database: DatabaseOption = None,
) -> None:
    """Queue a delivery's event again (same body, same X-Orderdesk-Event-Id); prints the new delivery's id."""
    db = _site_database(settings(database), site)
    _webhook(db, site, webhook_id)  # so that "no webhook" and "no delivery" are told apart
    try:
        queued = webhooks.redeliver(db, site, webhook_id, delivery_id)
    except WebhookNotFound:
        fail(f"no delivery {escape(delivery_id)} of webhook {escape(webhook_id)}")
    print(queued)
    err.print(f"queued delivery {delivery_id} of webhook {webhook_id} again as delivery {queued}", highlight=False)


@webhooks_app.command("reactivate")
def reactivate_webhook(webhook_id: WebhookArgument, site: SiteOption, database: DatabaseOption = None) -> None:
    """Turn a webhook whose deliveries kept failing back on; delivery resumes with its oldest pending event."""
    db = _site_database(settings(database), site)
    try:
        webhooks.reactivate_webhook(db, site, webhook_id)
    except WebhookNotFound:
        _no_webhook(site, webhook_id)
    err.print(f"webhook {webhook_id} is active again", highlight=False)
