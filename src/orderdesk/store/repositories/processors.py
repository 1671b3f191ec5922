"""Which payment processor each site uses, with its credentials."""

from __future__ import annotations

from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.store.prepared import Prepared
from orderdesk.store.tables import site_processors


@dataclass(frozen=True, slots=True)
class SiteProcessor:
    site_id: str
    kind: str  # stripe
    secret_key: str
    api_base: str | None
    webhook_secret: str | None
    updated_on: int


# Asked before every refund: compiled once (see store/prepared.py); rows are read by position.
_GET = Prepared(sa.select(site_processors).where(site_processors.c.site_id == sa.bindparam("site_id")))
assert [column.name for column in site_processors.c] == [field.name for field in fields(SiteProcessor)]


class SiteProcessorRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, site_id: str) -> SiteProcessor | None:
        row = _GET.first(self.connection, {"site_id": site_id})
        return SiteProcessor(*row) if row else None

    def put(self, config: SiteProcessor) -> None:
        self.remove(config.site_id)
        self.connection.execute(site_processors.insert().values(
            site_id=config.site_id, kind=config.kind, secret_key=config.secret_key, api_base=config.api_base,
            webhook_secret=config.webhook_secret, updated_on=config.updated_on,
        ))

    def remove(self, site_id: str) -> bool:
        result = self.connection.execute(site_processors.delete().where(site_processors.c.site_id == site_id))
        return result.rowcount == 1
