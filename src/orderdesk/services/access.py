"""Sites and the tokens that reach them: created, listed, revoked, authenticated."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from orderdesk.domain import clock, ids
from orderdesk.domain.sites import Scope, Site, Token
from orderdesk.domain.currencies import is_known_currency
from orderdesk.errors import NotAuthorized, ValidationFailed
from orderdesk.store.database import Database

DEFAULT_APPLICATION_FEE_BPS = 200  # Webflow's 2% transaction fee on the Standard ecommerce plan
# Touching last_used on every request would make every read a write; once a minute is enough.
LAST_USED_RESOLUTION_MS = 60_000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_site(db: Database, name: str, currency: str = "USD", ecommerce_enabled: bool = True,
                application_fee_bps: int = DEFAULT_APPLICATION_FEE_BPS) -> Site:
    currency = currency.upper()
    if not is_known_currency(currency):
        raise ValidationFailed.of("currency", f"{currency!r} is not an ISO 4217 currency code")
    if not name.strip():
        raise ValidationFailed.of("name", "must not be empty")
    now = clock.to_millis(db.clock.now())
    site = Site(ids.object_id(), name, ecommerce_enabled, currency, application_fee_bps, now, now)
    with db.unit_of_work() as work:
        work.sites.add(site)
        work.commit()
    return site


def list_sites(db: Database) -> list[Site]:
    with db.reader() as read:
        return read.sites.all()


def get_site(db: Database, site_id: str) -> Site | None:
    with db.reader() as read:
        return read.sites.get(site_id)


def create_token(db: Database, site_id: str, scopes: list[str], rate_limit: int | None = None) -> tuple[str, Token]:
    """A new token (shown once; only its hash is kept) and its record."""
    try:
        granted = frozenset(Scope(scope) for scope in scopes)
    except ValueError:
        allowed = ", ".join(scope.value for scope in Scope)
        raise ValidationFailed.of("scope", f"must be among {allowed}") from None
    if not granted:
        raise ValidationFailed.of("scope", "give at least one scope")
    if rate_limit is not None and rate_limit < 0:
        raise ValidationFailed.of("rateLimit", "must be 0 (unlimited) or more")
    secret = secrets.token_hex(32)
    token = Token(ids.object_id(), site_id, granted, rate_limit, clock.to_millis(db.clock.now()), None, None)
    with db.unit_of_work() as work:
        if work.sites.get(site_id) is None:
            raise ValidationFailed.of("site", f"no site {site_id}")
        work.tokens.add(token, hash_token(secret))
        work.commit()
    return secret, token


def list_tokens(db: Database, site_id: str | None = None) -> list[Token]:
    with db.reader() as read:
        return read.tokens.list(site_id)


def revoke_token(db: Database, token_id: str) -> bool:
    with db.unit_of_work() as work:
        revoked = work.tokens.revoke(token_id, work.now_millis())
        work.commit()
    return revoked


def authenticate(db: Database, presented: str) -> tuple[Token, Site]:
    """The live token matching `presented`, and its site; NotAuthorized otherwise."""
    digest = hash_token(presented)
    found = db.lookups.token(digest)
    if found is None or not hmac.compare_digest(found[2], digest):
        raise NotAuthorized()
    token, site, _ = found
    now = clock.to_millis(db.clock.now())
    if token.last_used_on is None or now - token.last_used_on > LAST_USED_RESOLUTION_MS:
        with db.unit_of_work() as work:
            work.tokens.touch(token.id, now)
            work.commit()
    return token, site
