"""`orderdesk mailbox`: read the emails a site's customers were sent (or that were kept, without SMTP)."""

from __future__ import annotations

from typing import Annotated

import typer

from orderdesk.cli.common import DatabaseOption, err, fail, lazy_module, open_database, settings
from orderdesk.domain import clock
from orderdesk.domain.pages import MAX_PAGE

access = lazy_module("orderdesk.services.access")
mail = lazy_module("orderdesk.services.mail")


def _when(millis: int | None) -> str:
    return clock.to_wire(clock.from_millis(millis)) if millis is not None else "-"


def mailbox(
    site: Annotated[str, typer.Option(help="The site whose emails to show.")],
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1, max=MAX_PAGE)] = 20,
    database: DatabaseOption = None,
) -> None:
    """Show the site's emails, newest first, on stderr."""
    config = settings(database)
    db = open_database(config)
    if access.get_site(db, site) is None:
        fail(f"no site {site}")
    emails = mail.list_emails(db, site, limit)
    db.dispose()
    if not emails:
        err.print(f"no emails for site {site}", highlight=False)
    for email in emails:
        err.print(
            f"─── email {email.id} · {email.state} · order {email.order_id}\n"
            f"From:    {config.mail_from}\nTo:      {email.recipient}\nSubject: {email.subject}\n"
            f"Created: {_when(email.created_on)}\nSent:    {_when(email.sent_on)}\n"
            + (f"Error:   {email.error}\n" if email.error else "")
            + f"\n{email.body}",
            markup=False, highlight=False,
        )
