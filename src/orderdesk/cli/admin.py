"""`orderdesk sites ...`, `orderdesk tokens ...`, `orderdesk db ...`."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from orderdesk.cli.common import DatabaseOption, err, fail, lazy_module, open_database, settings
from orderdesk.domain import clock
from orderdesk.errors import AppError

access = lazy_module("orderdesk.services.access")
processors = lazy_module("orderdesk.services.processors")

sites_app = typer.Typer(help="Create and list sites.", no_args_is_help=True)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


_ID = Column("id", no_wrap=True, min_width=24)


def _when(millis: int | None) -> str:
    return clock.to_wire(clock.from_millis(millis))[:16].replace("T", " ") if millis else "-"


@sites_app.command("create")
def create_site(
    name: Annotated[str, typer.Option(help="The site's display name.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code for the site's orders.")] = "USD",
    ecommerce: Annotated[bool, typer.Option("--ecommerce/--no-ecommerce", help="Whether ecommerce is on.")] = True,
    application_fee_bps: Annotated[int, typer.Option(help="Webflow's fee in basis points (200 = 2%).")] = 200,
    database: DatabaseOption = None,
) -> None:
    """Create a site; prints its id alone on stdout."""
    db = open_database(settings(database))
    try:
        site = access.create_site(db, name, currency, ecommerce, application_fee_bps)
    except AppError as error:
        fail(error.message)
    print(site.id)
    err.print(f"created site [bold]{site.name}[/bold] ({site.currency})")


@sites_app.command("list")
def list_sites(database: DatabaseOption = None) -> None:
    """List every site."""
    db = open_database(settings(database))
    table = Table(_ID, "name", "currency", "ecommerce", "created")
    for site in access.list_sites(db):
        table.add_row(site.id, site.name, site.currency, "on" if site.ecommerce_enabled else "off", _when(site.created_on))
    err.print(table)


StripeKeyOption = Annotated[
    str | None, typer.Option(help="Refund through Stripe with this secret key (sk_... or rk_...).")
]
StripeApiBaseOption = Annotated[str | None, typer.Option(help="Stripe's API address (default: Stripe's own).")]
StripeWebhookSecretOption = Annotated[
    str | None,
    typer.Option(help="Check Stripe's events with this signing secret (whsec_...); without it they are refused."),
]


@sites_app.command("set-processor")
def set_processor(
    site: Annotated[str, typer.Option(help="The site whose refunds and events the processor handles.")],
    stripe_key: StripeKeyOption = None,
    stripe_api_base: StripeApiBaseOption = None,
    stripe_webhook_secret: StripeWebhookSecretOption = None,
    simulated: Annotated[bool, typer.Option("--simulated", help="Go back to the simulated processor.")] = False,
    database: DatabaseOption = None,
) -> None:
    """Choose the site's payment processor: Stripe (--stripe-key) or the simulated one (--simulated)."""
    if simulated == (stripe_key is not None):
        fail("give either --stripe-key or --simulated")
    if simulated and (stripe_api_base or stripe_webhook_secret):
        fail("--stripe-api-base and --stripe-webhook-secret go with --stripe-key")
    db = open_database(settings(database))
    try:
        if simulated:
            processors.use_simulated_processor(db, site)
        else:
            processors.set_stripe_processor(db, site, stripe_key, stripe_api_base, stripe_webhook_secret)
    except AppError as error:
        fail(escape(error.message))
    if simulated:
        err.print(f"site {site} now refunds through the simulated processor", highlight=False)
        return
    where = f" at {stripe_api_base}" if stripe_api_base else ""
    if stripe_webhook_secret:
        events = (f"Stripe's events go to /v2/processors/stripe/{site}/events, "
                  f"signed with {masked(stripe_webhook_secret)}")
    else:
        events = "no webhook secret, so Stripe's events are refused"
    err.print(escape(f"site {site} now refunds through Stripe with {masked(stripe_key)}{where}; {events}"),
              highlight=False)


def masked(secret: str) -> str:
    """`sk_test_…abcd`: enough to tell keys apart, never enough to use one."""
    prefix = re.match(r"[a-z]+_((test|live)_)?", secret)
    head = prefix.group(0) if prefix else ""
    tail = secret[-4:] if len(secret) - len(head) >= 12 else ""  # a short secret keeps all of itself hidden
    return f"{head}…{tail}"


@tokens_app.command("create")
def create_token(
    site: Annotated[str, typer.Option(help="The site the token belongs to.")],
    scope: Annotated[list[str], typer.Option(help="ecommerce:read, ecommerce:write, sites:read, sites:write; repeat.")],
    rate_limit: Annotated[int | None, typer.Option(help="Requests per minute (0 = unlimited; default 120).")] = None,
    database: DatabaseOption = None,
) -> None:
    """Create a token; prints it alone on stdout. It is shown only this once."""
    db = open_database(settings(database))
    try:
        secret, token = access.create_token(db, site, scope, rate_limit)
    except AppError as error:
        fail(error.message)
    print(secret)
    err.print(f"created token {token.id} with {', '.join(sorted(token.scopes))}; store it now, it is not shown again")


@tokens_app.command("list")
def list_tokens(
    site: Annotated[str | None, typer.Option(help="Only this site's tokens.")] = None,
    database: DatabaseOption = None,
) -> None:
    """List tokens (never their secrets)."""
    db = open_database(settings(database))
    table = Table(_ID, Column("site", no_wrap=True, min_width=24), "scopes", "rate limit", "created", "last used", "revoked")
    for token in access.list_tokens(db, site):
        limit = "default" if token.rate_limit is None else ("unlimited" if token.rate_limit == 0 else str(token.rate_limit))
        table.add_row(token.id, token.site_id, " ".join(sorted(token.scopes)), limit, _when(token.created_on),
                      _when(token.last_used_on), _when(token.revoked_on))
    err.print(table)


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `tokens list`).")],
    database: DatabaseOption = None,
) -> None:
    """Revoke a token: it stops working at once."""
    db = open_database(settings(database))
    if not access.revoke_token(db, token_id):
        fail(f"no live token {token_id}")
    err.print(f"revoked {token_id}")


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOption = None) -> None:
    """Apply pending migrations (serve does this itself)."""
    from orderdesk.store.engine import create_engine
    from orderdesk.store.migrate import is_current, upgrade

    engine = create_engine(settings(database).database_url)
    upgrade(engine)
    err.print("database is at the newest migration" if is_current(engine) else "[red]migration incomplete[/red]")
