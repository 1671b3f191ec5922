"""Sites and tokens."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.domain.sites import Scope, Site, Token
from orderdesk.store.prepared import DriverConnection, Prepared
from orderdesk.store.tables import sites, tokens

# Read by position, in the order of the domain's fields. A site's id is read apart: the token read, which
# every request makes, takes it from the token's own row rather than select it twice.
_SITE_FIELDS = (sites.c.name, sites.c.ecommerce_enabled, sites.c.currency, sites.c.application_fee_bps,
                sites.c.created_on, sites.c.updated_on)
_TOKEN_COLUMNS = (tokens.c.id, tokens.c.site_id, tokens.c.scopes, tokens.c.rate_limit, tokens.c.created_on,
                  tokens.c.last_used_on, tokens.c.revoked_on)
_TOKEN_WIDTH = len(_TOKEN_COLUMNS)

# Asked by every request (store/quick.py): compiled once, run on the driver (see store/prepared.py).
_LIVE_TOKEN = Prepared(
    sa.select(*_TOKEN_COLUMNS, *_SITE_FIELDS, tokens.c.token_hash)
    .join(sites, sites.c.id == tokens.c.site_id)
    .where(tokens.c.token_hash == sa.bindparam("token_hash"), tokens.c.revoked_on.is_(None))
)


@functools.lru_cache(maxsize=64)
def _scopes(stored: str) -> frozenset[Scope]:
    """A token's scopes from their stored form; there are only a few distinct ones."""
    return frozenset(Scope(scope) for scope in stored.split())


def _site(site_id: str, row, at: int = 1) -> Site:
    """The site whose _SITE_FIELDS are in `row` from position `at` on."""
    return Site(site_id, row[at], bool(row[at + 1]), row[at + 2], row[at + 3], row[at + 4], row[at + 5])


def _token(row) -> Token:
    return Token(row[0], row[1], _scopes(row[2]), row[3], row[4], row[5], row[6])


class SiteRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, site: Site) -> None:
        self.connection.execute(sites.insert().values(
            id=site.id, name=site.name, ecommerce_enabled=site.ecommerce_enabled, currency=site.currency,
            application_fee_bps=site.application_fee_bps, created_on=site.created_on, updated_on=site.updated_on,
        ))

    def get(self, site_id: str) -> Site | None:
        row = self.connection.execute(sa.select(sites.c.id, *_SITE_FIELDS).where(sites.c.id == site_id)).first()
        return _site(row[0], row) if row else None

    def all(self) -> list[Site]:
        rows = self.connection.execute(sa.select(sites.c.id, *_SITE_FIELDS).order_by(sites.c.created_on))
        return [_site(row[0], row) for row in rows]


class TokenRepository:
    def __init__(self, connection: Connection | DriverConnection) -> None:
        self.connection = connection  # a DriverConnection runs only the Prepared reads (store/quick.py)

    def add(self, token: Token, token_hash: str) -> None:
        self.connection.execute(tokens.insert().values(
            id=token.id, site_id=token.site_id, token_hash=token_hash,
            scopes=" ".join(sorted(token.scopes)), rate_limit=token.rate_limit,
            created_on=token.created_on, last_used_on=None, revoked_on=None,
        ))

    def list(self, site_id: str | None = None) -> list[Token]:
        query = sa.select(*_TOKEN_COLUMNS).order_by(tokens.c.created_on)
        if site_id:
            query = query.where(tokens.c.site_id == site_id)
        return [_token(row) for row in self.connection.execute(query)]

    def live(self, token_hash: str) -> tuple[Token, Site, str] | None:
        """The unrevoked token stored with `token_hash`, its site, and the hash as stored."""
        row = _LIVE_TOKEN.first(self.connection, {"token_hash": token_hash})
        if row is None:
            return None
        return _token(row), _site(row[1], row, _TOKEN_WIDTH), row[-1]

    def revoke(self, token_id: str, at: int) -> bool:
        result = self.connection.execute(
            tokens.update().where(tokens.c.id == token_id, tokens.c.revoked_on.is_(None)).values(revoked_on=at)
        )
        return result.rowcount == 1

    def touch(self, token_id: str, at: int) -> None:
        self.connection.execute(tokens.update().where(tokens.c.id == token_id).values(last_used_on=at))
