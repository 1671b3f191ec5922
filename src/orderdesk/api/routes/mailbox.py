"""The mailbox (our extension): the emails a site's customers were sent, or would have been without SMTP."""

from __future__ import annotations

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.params import FromPath

from orderdesk.api.auth import authorize
from orderdesk.api.bodies import Query
from orderdesk.api.threads import in_thread
from orderdesk.domain import clock
from orderdesk.domain.sites import Scope
from orderdesk.errors import FieldProblem
from orderdesk.services import mail
from orderdesk.store.repositories.emails import EmailRow


class EmailDoc(msgspec.Struct, rename="camel"):
    id: str
    order_id: str
    to: str
    from_: str = msgspec.field(name="from")
    subject: str
    body: str
    state: str
    created_on: str
    sent_on: str | None  # null until sent (or captured, without SMTP)


class MailboxDoc(msgspec.Struct):
    emails: list[EmailDoc]


def _email_doc(email: EmailRow, mail_from: str) -> EmailDoc:
    return EmailDoc(
        str(email.id), email.order_id, email.recipient, mail_from, email.subject, email.body, email.state,
        clock.to_wire(clock.from_millis(email.created_on)),
        clock.to_wire(clock.from_millis(email.sent_on)) if email.sent_on is not None else None,
    )


@get("/v2/sites/{site_id:str}/mailbox")
async def read_mailbox(request: Request, site_id: FromPath[str]) -> Response:
    return await in_thread(_read_mailbox, request, site_id)


def _read_mailbox(request: Request, site_id: str) -> Response:
    authorize(request, Scope.ECOMMERCE_READ, site_id, ecommerce=True)
    query = Query(request.query_params)
    limit = query.integer("limit", 20, minimum=1)
    if limit > mail.MAX_PAGE:
        query.problems.append(FieldProblem("limit", f"must be at most {mail.MAX_PAGE}"))
    query.done()
    state = request.app.state
    emails = mail.list_emails(state.db, site_id, limit)
    document = MailboxDoc([_email_doc(email, state.settings.mail_from) for email in emails])
    return Response(content=msgspec.json.encode(document), media_type=MediaType.JSON)


ROUTES = [read_mailbox]
