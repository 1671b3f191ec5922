"""Who is calling: the token looked up once per request, its rate limit spent once, and the checks a
handler declares (scope, site, ecommerce) made against that one result.

The pipeline (`api/pipeline.py`) calls `admit` and `spend_rate_limit`; handlers call `authorize`,
which only reads what the pipeline kept in the request's ASGI state.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request

from orderdesk.api.ratelimit import RateLimiter
from orderdesk.domain.sites import Scope, Site, Token
from orderdesk.errors import EcommerceNotEnabled, MissingScopes, NotAuthorized, SiteNotFound, TooManyRequests
from orderdesk.services.access import authenticate
from orderdesk.store.database import Database

CALLER = "caller"  # the ASGI state's key for the request's Caller, once its token has been checked


@dataclass(frozen=True, slots=True)
class Caller:
    token: Token
    site: Site
    rate_limit: int  # requests a minute; 0 is unlimited


def header(headers, name: bytes) -> str | None:
    """The first value of header `name` (lower case) in ASGI headers."""
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def bearer_token(value: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other header."""
    kind, _, presented = value.partition(" ")
    return (presented.strip() or None) if kind.lower() == "bearer" else None


def admit(db: Database, default_limit: int, asgi_scope: dict) -> Caller:
    """The request's caller: its live token and site, kept in the request's state; NotAuthorized otherwise."""
    presented = bearer_token(header(asgi_scope["headers"], b"authorization") or "")
    if presented is None:
        raise NotAuthorized()
    token, site = authenticate(db, presented)
    caller = Caller(token, site, default_limit if token.rate_limit is None else token.rate_limit)
    asgi_scope.setdefault("state", {})[CALLER] = caller
    return caller


def spend_rate_limit(limiter: RateLimiter, caller: Caller, asgi_scope: dict) -> None:
    """Count one request against the caller's budget; its headers go on whatever the response is."""
    if not caller.rate_limit:
        return
    verdict = limiter.hit(caller.token.id, caller.rate_limit)
    headers = asgi_scope.setdefault("state", {}).setdefault("response_headers", [])
    headers.append((b"x-ratelimit-limit", str(verdict.limit).encode()))
    headers.append((b"x-ratelimit-remaining", str(verdict.remaining).encode()))
    if not verdict.allowed:
        raise TooManyRequests(verdict.retry_after)


def authorize(request: Request, scope: Scope | None, site_id: str | None = None, ecommerce: bool = False) -> Caller:
    """The request's caller, if it may do what the handler declares: `scope` (None: any live token), on
    site `site_id`, with ecommerce enabled; raises the first check's error otherwise."""
    return check(caller_of(request.scope), scope, site_id, ecommerce)


def caller_of(asgi_scope: dict) -> Caller:
    found = asgi_scope.get("state", {}).get(CALLER)
    if found is None:
        raise NotAuthorized()  # a route the pipeline did not admit: refused, never served unchecked
    return found


def check(caller: Caller, scope: Scope | None, site_id: str | None = None, ecommerce: bool = False) -> Caller:
    """`authorize` for code that holds the caller already."""
    if scope is not None and caller.token.missing(scope):
        raise MissingScopes([scope.value])
    # A token for site A asking about site B gets the same 404 as a missing site.
    if site_id is not None and site_id != caller.site.id:
        raise SiteNotFound()
    if ecommerce and not caller.site.ecommerce_enabled:
        raise EcommerceNotEnabled()
    return caller
