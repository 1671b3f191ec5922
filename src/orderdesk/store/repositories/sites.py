"""Sites and tokens."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.domain.sites import Scope, Site, Token
from orderdesk.store.tables import sites, tokens


def _site(row) -> Site:
    return Site(
        id=row.id, name=row.name, ecommerce_enabled=bool(row.ecommerce_enabled), currency=row.currency,
        application_fee_bps=row.application_fee_bps, created_on=row.created_on, updated_on=row.updated_on,
    )


def _token(row) -> Token:
    return Token(
        id=row.id, site_id=row.site_id, scopes=frozenset(Scope(s) for s in row.scopes.split()),
        rate_limit=row.rate_limit, created_on=row.created_on, last_used_on=row.last_used_on,
        revoked_on=row.revoked_on,
    )


class SiteRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, site: Site) -> None:
        self.connection.execute(sites.insert().values(
            id=site.id, name=site.name, ecommerce_enabled=site.ecommerce_enabled, currency=site.currency,
            application_fee_bps=site.application_fee_bps, created_on=site.created_on, updated_on=site.updated_on,
        ))

    def get(self, site_id: str) -> Site | None:
        row = self.connection.execute(sa.select(sites).where(sites.c.id == site_id)).first()
        return _site(row) if row else None

    def all(self) -> list[Site]:
        return [_site(row) for row in self.connection.execute(sa.select(sites).order_by(sites.c.created_on))]


class TokenRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, token: Token, token_hash: str) -> None:
        self.connection.execute(tokens.insert().values(
            id=token.id, site_id=token.site_id, token_hash=token_hash,
            scopes=" ".join(sorted(token.scopes)), rate_limit=token.rate_limit,
            created_on=token.created_on, last_used_on=None, revoked_on=None,
        ))

    def list(self, site_id: str | None = None) -> list[Token]:
        query = sa.select(tokens).order_by(tokens.c.created_on)
        if site_id:
            query = query.where(tokens.c.site_id == site_id)
        return [_token(row) for row in self.connection.execute(query)]

    def revoke(self, token_id: str, at: int) -> bool:
        result = self.connection.execute(
            tokens.update().where(tokens.c.id == token_id, tokens.c.revoked_on.is_(None)).values(revoked_on=at)
        )
        return result.rowcount == 1

    def touch(self, token_id: str, at: int) -> None:
        self.connection.execute(tokens.update().where(tokens.c.id == token_id).values(last_used_on=at))
